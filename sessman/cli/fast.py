"""The lean path of ``sessman credential-process``.

SDKs run ``credential_process`` every time they need credentials, so this
command must cost little more than ``import json, keyring``: it is parsed
here without typer or rich, and with an open session it imports neither
boto3 nor botocore. Anything it does not recognise (``--help``, a typo)
returns ``None`` and goes through the full command line instead. The
typer command calls :func:`issue` too: one implementation, two front doors.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["credential_process", "issue"]

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


def issue(
    config: str | Path | None, name: str, *, min_ttl: float | None, mfa_code: str | None
) -> None:
    """Print ``name``'s credential_process JSON, opening or renewing its session first.

    The MFA code is checked for shape before anything else; without one, a
    terminal (``/dev/tty``: stdout belongs to the SDK) is asked. Concurrent
    calls for one profile share one new session (see :mod:`sessman.locks`).
    """
    from sessman.exports import process_json, process_min_ttl
    from sessman.manager import SessionManager
    from sessman.prompts import mfa_source

    prompt = mfa_source(mfa_code)
    manager = SessionManager.load(config, mfa_prompt=prompt)
    if min_ttl is None:
        min_ttl = process_min_ttl(manager.profile(name))
    creds = manager.credentials(name, min_ttl=min_ttl)
    sys.stdout.write(process_json(creds) + "\n")


def credential_process(argv: Sequence[str]) -> int | None:
    """Run ``credential-process`` if ``argv`` is a plain call of it; its exit code."""
    parsed = _parse(argv)
    if parsed is None:
        return None
    from sessman.agent.client import credential_process as via_agent

    document = via_agent(parsed[0], parsed[1], parsed[2])  # config, name, min_ttl
    if document is not None:  # an unlocked agent had the open session
        sys.stdout.write(document + "\n")
        return 0
    from sessman.errors import SessmanError

    from .render import emit_error, hint_with_config

    config, name, min_ttl, mfa_code = parsed
    try:
        issue(config, name, min_ttl=min_ttl, mfa_code=mfa_code)
    except SessmanError as exc:
        if os.environ.get("SESSMAN_DEBUG") == "1":
            raise
        # A file named on the command line (not by SESSMAN_CONFIG) goes into the hint.
        given = config if config and config != os.environ.get("SESSMAN_CONFIG") else None
        where = Path(given).expanduser().absolute() if given else None
        emit_error(exc.message, hint_with_config(exc.hint, where))
        return exc.exit_code
    except KeyboardInterrupt:
        emit_error("interrupted")
        return 130
    except Exception as exc:
        if os.environ.get("SESSMAN_DEBUG") == "1":
            raise
        # As the full command line does: the kind, never the text (it might
        # quote a credential), and never a traceback.
        emit_error(
            f"unexpected {type(exc).__module__}.{type(exc).__name__}",
            "run again with SESSMAN_DEBUG=1 for the traceback, and report it",
        )
        return 1
    return 0
