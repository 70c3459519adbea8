"""Child process: run one sessman command in-process and count keyring round trips.

    python bench/keyring_probe.py COUNTS_JSON_PATH sessman-args...

Wraps the public methods of sessman's encrypted file keyring (``get_password``,
``set_password``, ``delete_password``, ``usernames``), its one file read
(``sessman.filekeyring._read``) and the key derivation (Argon2id) with counters,
runs ``sessman.cli.main(args)`` as the console script would, and writes the
counts to ``COUNTS_JSON_PATH`` (stdout stays the command's own). Counting is
thread-safe, so ``check`` with many workers shows how often each thread went
to the keyring.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

COUNTS: Counter[str] = Counter()
SECONDS: dict[str, float] = {}
_LOCK = threading.Lock()


def counted(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            with _LOCK:
                COUNTS[name] += 1
                SECONDS[name] = SECONDS.get(name, 0.0) + elapsed

    return wrapper


def instrument() -> None:
    import cryptography.hazmat.primitives.kdf.argon2 as argon2_module

    import sessman.filekeyring as fk

    cls = fk.EncryptedFileKeyring
    for method in ("get_password", "set_password", "delete_password", "usernames"):
        setattr(cls, method, counted(f"calls.{method}", getattr(cls, method)))
    fk._read = counted("file_reads", fk._read)

    real = argon2_module.Argon2id

    class CountingKdf:
        """Stands in for cryptography's Argon2id (looked up on each derivation)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._real = real(*args, **kwargs)

        def derive(self, material: bytes) -> bytes:
            key: bytes = counted("kdf", self._real.derive)(material)
            return key

    argon2_module.Argon2id = CountingKdf  # type: ignore[assignment]


def main(argv: list[str]) -> None:
    out, args = argv[0], argv[1:]
    instrument()
    from sessman.cli import main as sessman_main

    code: str | int | None = 0
    try:
        sessman_main(args)
    except SystemExit as exc:
        code = exc.code
    calls = sum(v for k, v in COUNTS.items() if k.startswith("calls."))
    result = {
        "calls": calls,
        "file_reads": COUNTS["file_reads"],
        "kdf": COUNTS["kdf"],
        "kdf_ms": round(SECONDS.get("kdf", 0.0) * 1000, 1),
        **{k: v for k, v in COUNTS.items() if k.startswith("calls.")},
    }
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
