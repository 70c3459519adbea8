"""Running one function per profile in worker threads, stoppable with Ctrl-C.

:func:`map_profiles` is the body of :meth:`SessionManager.map`: which
profiles, one outcome each, in the order asked; :func:`fan_out` is its
worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol, TypeVar

from .config import Profile
from .credentials import translating
from .errors import UsageError
from .results import Outcome

if TYPE_CHECKING:
    import boto3

__all__ = ["Profiles", "fan_out", "map_profiles"]

T = TypeVar("T")


class Profiles(Protocol):
    """What :func:`map_profiles` needs of the manager."""

    def names(self, tag: str | None = None) -> list[str]: ...

    def profile(self, name: str) -> Profile: ...

    def session(self, name: str) -> boto3.Session: ...


def map_profiles(
    profiles: Profiles,
    current: Callable[[str], object],
    fn: Callable[[str, boto3.Session], T],
    names: Iterable[str] | None,
    *,
    tag: str | None,
    max_workers: int,
    progress: Callable[[Outcome[T]], None] | None,
) -> dict[str, Outcome[T]]:
    """``fn(name, session)`` for many profiles in threads (see :meth:`SessionManager.map`).

    ``current(name)`` fetches the profile's credentials first, so a profile
    without them fails on its own, as a sessman error, before ``fn`` runs.
    """
    chosen = list(profiles.names(tag) if names is None else names)
    if names is not None and tag is not None:
        chosen = [n for n in chosen if tag in profiles.profile(n).tags]
    for n in chosen:
        profiles.profile(n)
    if max_workers < 1:
        raise UsageError("max_workers must be at least 1")

    def run(name: str) -> Outcome[T]:
        p = profiles.profile(name)
        try:
            # sessman's own failures become SessmanError subclasses here...
            with translating(p):
                current(name)  # a profile without credentials fails on its own
                session = profiles.session(name)
        except Exception as exc:
            return Outcome(name, False, error=exc)
        try:
            # ...while what the user's fn raises is returned as it was raised.
            return Outcome(name, True, fn(name, session))
        except Exception as exc:
            return Outcome(name, False, error=exc)

    if not chosen:
        return {}
    done: dict[str, Outcome[T]] = {}
    for outcome in fan_out(run, chosen, max_workers):
        done[outcome.name] = outcome
        if progress is not None:
            progress(outcome)
    return {n: done[n] for n in chosen}


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
