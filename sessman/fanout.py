"""Running one function per profile in worker threads, stoppable with Ctrl-C."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

__all__ = ["fan_out"]

T = TypeVar("T")


def fan_out(run: Callable[[str], T], names: list[str], max_workers: int) -> Iterator[T]:
    """``run(name)`` for each name in worker threads, yielding results as they complete.

    Unlike a ThreadPoolExecutor, which joins its threads at exit, the workers
    are daemon threads: when the caller stops waiting (Ctrl-C), what has not
    started is cancelled and nothing waits on a request that hangs.
    """
    import queue

    todo = iter(names)
    pick = threading.Lock()
    stop = threading.Event()
    results: queue.SimpleQueue[T] = queue.SimpleQueue()

    def work() -> None:
        while not stop.is_set():
            with pick:
                name = next(todo, None)
            if name is None:
                return
            results.put(run(name))

    for i in range(min(max_workers, len(names))):
        threading.Thread(target=work, name=f"sessman-map-{i}", daemon=True).start()
    try:
        for _ in names:
            yield results.get()
    finally:
        stop.set()
