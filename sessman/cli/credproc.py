"""``credential-process``: the one implementation behind both front doors.

The typer command (``handover.py``) and the typer-free fast path
(``fast.py``) both call :func:`issue` inside the one error boundary
(:mod:`sessman.cli.boundary`), and print what it returns. The document is
written by :mod:`sessman.exports` only (``process_document``): from the
manager's credentials, or from those an unlocked agent hands back.

SDKs run ``credential_process`` every time they need credentials: through
an unlocked agent this imports neither typer, rich, keyring nor boto3, and
with an open session not boto3 either.
"""

from __future__ import annotations

from .render import show_library_notes

TYPE_CHECKING = False  # typing itself costs the credential-process fast path
if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["issue"]


def issue(
    config: str | Path | None, name: str, *, min_ttl: float | None, mfa_code: str | None
) -> str:
    """``name``'s credential_process JSON, opening or renewing its session first.

    An unlocked agent with the open session answers first. Otherwise the MFA
    code is checked for shape before anything else; without one, a terminal
    (``/dev/tty``: stdout belongs to the SDK) is asked. Concurrent calls for
    one profile share one new session (see :mod:`sessman.locks`).
    """
    from sessman.agent.client import credential_process as via_agent
    from sessman.exports import process_document, process_json, process_min_ttl

    fields = via_agent(None if config is None else str(config), name, min_ttl)
    if fields is not None:
        return process_document(fields)
    # Only now, past the agent: the handler costs the import of logging.
    show_library_notes()
    from sessman.manager import SessionManager
    from sessman.prompts import mfa_source

    prompt = mfa_source(mfa_code)
    manager = SessionManager.load(config, mfa_prompt=prompt)
    if min_ttl is None:
        min_ttl = process_min_ttl(manager.profile(name))
    return process_json(manager.credentials(name, min_ttl=min_ttl))
