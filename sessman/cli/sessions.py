"""Commands that talk to AWS: open, close, whoami, check."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sessman.errors import SessmanError, UsageError
from sessman.fileformat import SESSION_DURATION
from sessman.manager import Outcome, SessionManager

from . import render
from ._typer import PlainText, SessmanCommand
from .boundary import Reported, fail_after
from .complete import NameArgument, complete_names, complete_tags
from .options import ConfigOption, JsonOption, MfaCodeOption, load_manager
from .render import iso
from .selection import tagged

NamesArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Profile names.",
        metavar="[NAME]...",
        autocompletion=complete_names,
        click_type=PlainText(),
        show_default=False,
    ),
]
TagOption = Annotated[
    str | None,
    typer.Option(
        "--tag",
        "-t",
        metavar="TAG",
        help="Every profile with this tag.",
        autocompletion=complete_tags,
    ),
]
MinTtlOption = Annotated[
    float | None,
    typer.Option(
        "--min-ttl",
        min=0,
        metavar="SECONDS",
        help="Renew an open session with fewer seconds left than this.",
    ),
]


def _chosen(manager: SessionManager, names: list[str] | None, tag: str | None) -> list[str]:
    chosen = list(dict.fromkeys(names or []))
    for name in chosen:
        manager.profile(name)
    if tag is not None:
        chosen += [n for n in tagged(manager, tag) if n not in chosen]
    if not chosen:
        raise UsageError("name at least one profile (or --tag TAG)")
    return chosen


def open_(
    ctx: typer.Context,
    names: NamesArgument = None,
    tag: TagOption = None,
    duration: Annotated[
        int | None,
        typer.Option(
            "--duration",
            metavar="SECONDS",
            min=SESSION_DURATION[0],
            max=SESSION_DURATION[1],
            help="Seconds (default: the profile's session_duration).",
        ),
    ] = None,
    mfa_code: MfaCodeOption = None,
    min_ttl: MinTtlOption = None,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Open sessions: temporary credentials from STS, verified and stored in the keyring."""
    manager = load_manager(ctx, config, mfa_code=mfa_code)
    opened: list[dict[str, Any]] = []
    errors: list[SessmanError] = []
    for name in _chosen(manager, names, tag):
        try:
            info = manager.open(name, duration=duration, mfa_code=mfa_code, min_ttl=min_ttl)
        except SessmanError as exc:
            errors.append(exc)
            continue
        opened.append(
            {
                "name": info.name,
                "account": info.account,
                "arn": info.arn,
                "user_id": info.user_id,
                "expires": iso(info.expires),
            }
        )
    render.table(
        opened,
        {"NAME": "name", "ACCOUNT": "account", "ARN": "arn", "EXPIRES": "expires"},
        json=json_,
        keep=("NAME", "ACCOUNT", "ARN", "EXPIRES"),
        below=("ARN",),
        hide_empty=True,
    )
    fail_after(errors)


def close(
    ctx: typer.Context,
    names: NamesArgument = None,
    tag: TagOption = None,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Every open session of this file.")
    ] = False,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Close sessions: forget their temporary credentials. Closing a closed one is fine."""
    manager = load_manager(ctx, config)
    if all_ and (names or tag):
        raise UsageError("name profiles (or --tag TAG) or pass --all, not both")
    chosen = manager.open_names() if all_ else _chosen(manager, names, tag)
    closed = [{"name": n, "was_open": manager.close(n)} for n in chosen]
    said = [f"{c['name']}: {'closed' if c['was_open'] else 'was not open'}" for c in closed]
    render.lines(closed, said or ["No open sessions."], json=json_)


def whoami(
    ctx: typer.Context,
    name: NameArgument,
    mfa_code: MfaCodeOption = None,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Who the profile's current credentials are (STS GetCallerIdentity)."""
    identity = load_manager(ctx, config, mfa_code=mfa_code).whoami(name)
    data = {
        "name": identity.name,
        "account": identity.account,
        "arn": identity.arn,
        "user_id": identity.user_id,
    }
    render.record(data, json=json_)


def check(
    ctx: typer.Context,
    names: NamesArgument = None,
    tag: TagOption = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", "-w", metavar="N", min=1, max=256, help="Profiles checked at once."
        ),
    ] = 16,
    mfa_code: MfaCodeOption = None,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Verify many profiles at once (GetCallerIdentity each); exits 1 if any failed."""
    manager = load_manager(ctx, config, mfa_code=mfa_code)
    chosen = _chosen(manager, names, tag) if names or tag else manager.names()

    def verify(name: str, _session: object) -> Any:
        return manager.whoami(name)

    with render.progress(len(chosen), json=json_) as step:
        outcomes = manager.map(
            verify, chosen, max_workers=workers, progress=lambda o: step(o.name, o.ok)
        )
    rows = [_check_row(o) for o in outcomes.values()]
    render.table(
        rows,
        {
            "NAME": "name",
            "OK": lambda r: "ok" if r["ok"] else "FAILED",
            "ACCOUNT": lambda r: r["account"] or "",
            "ARN / ERROR": lambda r: r["arn"] or _with_hint(r["error"], r["hint"]),
        },
        json=json_,
        keep=("NAME", "OK", "ACCOUNT", "ARN / ERROR"),
        below=("ARN / ERROR",),
    )
    if not all(r["ok"] for r in rows):
        raise Reported()  # each failure is in the table


def _with_hint(error: str | None, hint: str | None) -> str:
    return f"{error} ({hint})" if hint else str(error)


def _check_row(outcome: Outcome[Any]) -> dict[str, Any]:
    """A row of ``check --json``: the error's message, class name and hint apart."""
    if outcome.ok and outcome.value is not None:
        return {
            "name": outcome.name,
            "ok": True,
            "account": outcome.value.account,
            "arn": outcome.value.arn,
            "error": None,
            "code": None,
            "hint": None,
        }
    error = outcome.error
    if isinstance(error, SessmanError):
        message, hint = error.message, error.hint
    else:
        # Never the text of an exception we did not foresee: it might quote a secret.
        message, hint = f"unexpected {type(error).__name__}", "run with SESSMAN_DEBUG=1"
    return {
        "name": outcome.name,
        "ok": False,
        "account": None,
        "arn": None,
        "error": message,
        "code": type(error).__name__,
        "hint": hint,
    }


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("open", cls=SessmanCommand)(open_)
    app.command("close", cls=SessmanCommand)(close)
    app.command("whoami", cls=SessmanCommand)(whoami)
    app.command("check", cls=SessmanCommand)(check)
