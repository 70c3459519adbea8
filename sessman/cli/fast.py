"""The lean path of ``sessman credential-process``.

SDKs run ``credential_process`` every time they need credentials, so this
command must cost little more than ``import json, keyring``: it is parsed
here without typer or rich, and with an open session it imports neither
boto3 nor botocore. Anything it does not recognise (``--help``, a typo)
returns ``None`` and goes through the full command line instead. The
typer command runs the same :func:`~sessman.cli.credproc.issue` in the same
error boundary (:func:`~sessman.cli.boundary.run`): one implementation, two
front doors.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .boundary import run
from .credproc import issue
from .render import emit_text

__all__ = ["credential_process"]

_Parsed = tuple[str | None, str, float | None, str | None]


def _parse(argv: Sequence[str]) -> _Parsed | None:
    """``(config, name, min_ttl, mfa_code)`` of a plain credential-process call, else ``None``."""
    config: str | None = None
    name: str | None = None
    min_ttl: float | None = None
    mfa_code: str | None = None
    seen_command = False
    args = list(argv)
    while args:
        arg = args.pop(0)
        option, has_value, value = arg.partition("=")
        if option in ("--config", "-c", "--min-ttl", "--mfa-code") and not has_value:
            if not args:
                return None
            value = args.pop(0)
        if option in ("--config", "-c"):
            config = value
        elif option == "--mfa-code" and seen_command:
            mfa_code = value
        elif option == "--min-ttl" and seen_command:
            try:
                min_ttl = float(value)
            except ValueError:
                return None
            if not min_ttl >= 0:
                return None
        elif arg == "credential-process" and not seen_command:
            seen_command = True
        elif seen_command and name is None and not arg.startswith("-"):
            name = arg
        else:
            return None
    if not seen_command or name is None:
        return None
    return config or os.environ.get("SESSMAN_CONFIG") or None, name, min_ttl, mfa_code


def credential_process(argv: Sequence[str]) -> int | None:
    """Run ``credential-process`` if ``argv`` is a plain call of it; its exit code."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    config, name, min_ttl, mfa_code = parsed
    # A file named on the command line (not by SESSMAN_CONFIG) goes into hints.
    given = config if config and config != os.environ.get("SESSMAN_CONFIG") else None
    where = Path(given).expanduser().absolute() if given else None

    def body() -> None:
        emit_text(issue(config, name, min_ttl=min_ttl, mfa_code=mfa_code))

    return run(body, config=where)
