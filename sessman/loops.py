"""Loop detection for ``aws_profile`` delegation.

A sessman profile with ``aws_profile: X`` lets botocore resolve ``X`` from
``~/.aws/config``; if ``X`` has ``credential_process = sessman
credential-process ...`` for that same sessman profile, every resolution
starts another sessman, without end. While sessman resolves an
``aws_profile``, the variable :data:`CHAIN_VARIABLE` (inherited by the
``credential_process`` children botocore starts) lists the profiles being
resolved; a sessman that is asked to resolve one of them again stops at once
with an error naming the chain.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import ConfigError

__all__ = ["CHAIN_VARIABLE", "check", "relayed", "resolving"]

#: JSON list of [profiles file, sessman profile, AWS profile] being resolved.
CHAIN_VARIABLE = "SESSMAN_RESOLVING"

_LOCK = threading.Lock()
_ACTIVE: dict[tuple[str, str, str], int] = {}
_INHERITED: list[tuple[str, str, str]] | None = None


def _inherited() -> list[tuple[str, str, str]]:
    """The chain this process was started inside (read once, before we change it)."""
    global _INHERITED  # noqa: PLW0603
    if _INHERITED is None:
        chain: list[tuple[str, str, str]] = []
        try:
            data = json.loads(os.environ.get(CHAIN_VARIABLE, "[]"))
            for entry in data if isinstance(data, list) else []:
                if isinstance(entry, list) and len(entry) == 3:
                    chain.append((str(entry[0]), str(entry[1]), str(entry[2])))
        except ValueError:
            pass  # not ours, or damaged: no chain known
        _INHERITED = chain
    return _INHERITED


def _publish() -> None:
    entries = _inherited() + [e for e in _ACTIVE if e not in _inherited()]
    if entries:
        os.environ[CHAIN_VARIABLE] = json.dumps([list(e) for e in entries])
    else:
        os.environ.pop(CHAIN_VARIABLE, None)


def _describe(chain: list[tuple[str, str, str]], again: tuple[str, str, str]) -> str:
    steps = [f"sessman profile {p!r} -> AWS profile {a!r}" for _, p, a in chain]
    return " -> ".join([*steps, f"sessman profile {again[1]!r} again"])


def check(config_file: str, profile: str, aws_profile: str) -> None:
    """Fail if a parent sessman is resolving ``profile`` already (a delegation loop).

    Called before anything that could wait on that parent (its profile lock).
    """
    entry = (config_file, profile, aws_profile)
    chain = _inherited()
    if entry in chain:
        loop = chain[chain.index(entry) :]
        # The loop's last AWS profile is the one whose credential_process
        # started this sessman; the message names the profiles already.
        closing = loop[-1][2]
        raise ConfigError(
            "aws_profile loop: " + _describe(loop, entry),
            hint=f"the credential_process of AWS profile {closing!r} in ~/.aws/config"
            f" runs sessman for profile {profile!r}, which starts the loop again;"
            " point one of them elsewhere",
        )


@contextmanager
def resolving(config_file: str, profile: str, aws_profile: str) -> Iterator[None]:
    """Mark ``profile`` as being resolved (for child processes); fail on a loop."""
    entry = (config_file, profile, aws_profile)
    with _LOCK:
        check(config_file, profile, aws_profile)
        _ACTIVE[entry] = _ACTIVE.get(entry, 0) + 1
        _publish()
    try:
        yield
    finally:
        with _LOCK:
            _ACTIVE[entry] -= 1
            if not _ACTIVE[entry]:
                del _ACTIVE[entry]
            _publish()


def relayed(text: str) -> ConfigError | None:
    """The loop error a child sessman printed (botocore quotes its stderr), as ours.

    Without this the user would read the child's error wrapped in botocore's
    words, once per level of the chain.
    """
    marker = "sessman: error: "
    if "aws_profile loop:" not in text or marker not in text:
        return None
    message, _, hint = text[text.rindex(marker) + len(marker) :].partition("hint:")
    return ConfigError(" ".join(message.split()), hint=" ".join(hint.split()) or None)
