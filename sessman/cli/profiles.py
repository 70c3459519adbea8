"""Commands about the profiles file: init, list, show, schema, doctor.

None of them makes an AWS call, and none imports boto3.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sessman._version import __version__
from sessman.config import Profile, load_config
from sessman.errors import ConfigError, KeyringUnavailable, SessmanError, UnsafePath

from . import render
from ._typer import PlainPath, SessmanCommand
from .boundary import Reported
from .complete import NameArgument, complete_tags
from .endpoints import default_endpoint, probe
from .options import CONFIG_KEY, ConfigOption, JsonOption, config_path, load_manager
from .render import hint_with_config, iso
from .selection import tagged

if TYPE_CHECKING:
    from sessman.manager import SessionManager

STARTER = """\
# sessman profiles file (version 1); every key is described by `sessman schema`.
# Validate it in your editor: sessman schema > sessman.schema.json
# Secrets never go in here: store them with `sessman secret set NAME`.
version: 1
keyring_service: sessman          # keyring "service" name; lets two files not collide

defaults:                         # merged under every profile (the profile wins)
  region: us-east-1
  connect_timeout: 10             # seconds (boto3's default is 60)
  read_timeout: 30                # seconds
  retries: {mode: standard, max_attempts: 3}   # total attempts, as in ~/.aws/config

profiles:
  default:                        # long-term keys: then run `sessman secret set default`
    description: My AWS account
    access_key_id: AKIAIOSFODNN7EXAMPLE
    tags: [personal]

  # admin:                        # a role assumed with another profile's credentials
  #   source_profile: default
  #   role_arn: arn:aws:iam::123456789012:role/Admin
  #   mfa_serial: arn:aws:iam::123456789012:mfa/me
  #   session_duration: 3600

  # sso:                          # a profile of ~/.aws/config (SSO, credential_process, ...)
  #   aws_profile: my-sso-profile
"""


def mask(key_id: str | None) -> str | None:
    """``AKIA…MPLE``: enough to recognise an access key id, not to copy it."""
    if key_id is None:
        return None
    return f"{key_id[:4]}…{key_id[-4:]}" if len(key_id) > 8 else "…"


def init(
    ctx: typer.Context,
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Where to write it (default: --config, else the user config dir).",
            metavar="PATH",
            click_type=PlainPath(),
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Write a commented starter profiles file; never overwrites one without --force."""
    from sessman._atomic import write_atomic
    from sessman.locations import config_candidates

    target = path or config_path(ctx, config) or config_candidates()[-1]
    if target.is_dir():
        raise SessmanError(
            f"{target} is a directory", hint=f"name a file: sessman init {target}/profiles.yaml"
        )
    try:
        write_atomic(target, STARTER.encode(), mode=0o600, overwrite=force)
    except FileExistsError:
        raise SessmanError(
            f"{target} already exists; not overwriting it", hint="pass --force to replace it"
        ) from None
    except IsADirectoryError:
        raise SessmanError(f"{target} is a directory") from None
    except OSError as exc:
        raise SessmanError(f"cannot write {target}: {exc.strerror}") from None
    # A file sessman would not find by itself needs --config in every command.
    found = [c.expanduser().absolute() for c in config_candidates()]
    where = (
        "" if target.expanduser().absolute() in found else f" --config {shlex.quote(str(target))}"
    )
    next_step = f"sessman secret set default{where}"
    render.lines(
        {"path": str(target.absolute()), "next": next_step},
        [f"Wrote {target}", f"Next: edit it, then store the secret with: {next_step}"],
        json=json_,
    )


def list_(
    ctx: typer.Context,
    tag: Annotated[
        str | None,
        typer.Option(
            "--tag",
            "-t",
            metavar="TAG",
            help="Only profiles with this tag.",
            autocompletion=complete_tags,
        ),
    ] = None,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List the profiles, with whether a secret is stored and a session open."""
    manager = load_manager(ctx, config)
    names = manager.names() if tag is None else tagged(manager, tag)
    status = manager.status(names)
    rows: list[dict[str, Any]] = []
    for name in names:
        p, s = manager.profile(name), status[name]
        rows.append(
            {
                "name": name,
                "kind": p.kind,
                "region": p.region,
                "tags": list(p.tags),
                "description": p.description,
                "secret": s.secret,
                "session": {"state": s.session, "expires": iso(s.expires)},
            }
        )
    render.table(
        rows,
        {
            "NAME": "name",
            "REGION": "region",
            "SECRET": lambda r: r["secret"] or "n/a",
            "SESSION": lambda r: r["session"]["state"],
            "EXPIRES": lambda r: (
                _short_time(r["session"]["expires"]) if r["session"]["state"] == "open" else ""
            ),
            "KIND": "kind",
            "TAGS": lambda r: ",".join(r["tags"]),
            "DESCRIPTION": lambda r: r["description"] or "",
        },
        json=json_,
        keep=("NAME", "SESSION", "EXPIRES"),
        wrap=("TAGS", "DESCRIPTION"),
    )


def _short_time(stamp: str | None) -> str:
    """``2026-12-02T07:00:00Z`` as ``2026-12-02 07:00Z``: the minute is enough for people."""
    return "" if stamp is None else stamp[:16].replace("T", " ") + "Z"


def show_data(p: Profile) -> dict[str, Any]:
    """The resolved profile as ``show --json`` prints it.

    Its keys are the name, the kind and every declared profile field, in the
    order :mod:`sessman.fileformat` declares them; a masked field shows only
    enough to recognise it.
    """
    from sessman.fileformat import PROFILE_FIELDS

    data: dict[str, Any] = {"name": p.name, "kind": p.kind}
    for spec in PROFILE_FIELDS:
        value = getattr(p, spec.name)
        if spec.exposure == "masked":
            value = mask(value)
        elif spec.kind == "retries":
            value = {"mode": value.mode, "max_attempts": value.max_attempts}
        elif spec.kind == "tags":
            value = list(value)
        data[spec.name] = value
    return data


def show(
    ctx: typer.Context,
    name: NameArgument,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Show a profile with defaults merged; the access key id masked, never a secret."""
    profile = load_config(config_path(ctx, config)).profile(name)
    data = show_data(profile)
    shown = {key: value for key, value in data.items() if value is not None and value != []}
    if "retries" in shown:
        retries = shown["retries"]
        shown["retries"] = f"{retries['mode']}, {retries['max_attempts']} attempts"
    render.record(data, json=json_, shown=shown)


def schema(
    ctx: typer.Context,
    config: ConfigOption = None,
) -> None:
    """Print the JSON Schema of the profiles file (for yaml-language-server and editors)."""
    from sessman.fileformat import json_schema

    render.emit_json(json_schema())


def doctor(
    ctx: typer.Context,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Check the set-up: versions, profiles file, state dir, keyring, each profile."""
    report = _diagnose(ctx, config)
    render.doctor_report(report, json=json_)
    if report.get("state_dir_error"):
        raise Reported(UnsafePath)  # not private: nothing else is checked
    if not report["config"]["ok"]:
        raise Reported(ConfigError)  # the profiles file is wrong, as for every command
    if not report["keyring"]["ok"]:
        raise Reported(KeyringUnavailable)
    if any(p["problems"] for p in report["profiles"]):
        raise Reported()


def _version_of(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _diagnose(ctx: typer.Context, config: Path | None) -> dict[str, Any]:
    from sessman.locations import state_dir

    report: dict[str, Any] = {
        "version": __version__,
        "python": platform.python_version(),
        "boto3": _version_of("boto3"),
        "botocore": _version_of("botocore"),
        "keyring_version": _version_of("keyring"),
        "config": {"path": None, "ok": False, "error": None},
        "state_dir": str(state_dir()),
        "keyring": {"backend": None, "ok": False, "error": None},
        "endpoints": [],
        "profiles": [],
    }
    from sessman.config import Config, find_config
    from sessman.manager import SessionManager
    from sessman.trust import check_dir

    try:
        check_dir(state_dir())
    except UnsafePath as exc:  # reported as what it is, not as a profiles file problem
        report["state_dir_error"] = f"{exc.message} (fix: {exc.hint})"
        return report
    except OSError:
        pass  # unusable in another way: the commands below say how
    try:
        report["config"]["path"] = str(find_config(config_path(ctx, config)))
        manager = load_manager(ctx, config)
        report["config"]["ok"] = True
    except SessmanError as exc:
        report["config"]["error"] = exc.message
        # Still check the keyring sessman would use by default.
        manager = SessionManager(Config(path=Path(report["config"]["path"] or "-")))
    report["keyring"] = _keyring_round_trip(manager)
    if not report["config"]["ok"]:
        return report
    secret_status: dict[str, str | None] = {}
    with contextlib.suppress(SessmanError):  # listing needs no passphrase, even when it is wrong
        secret_status = {n: s.secret for n, s in manager.status().items()}
    aws_profiles = _aws_config_profiles()
    sessions: dict[str, str] = {}
    with contextlib.suppress(SessmanError):
        sessions = {n: str(s.session) for n, s in manager.status().items()}
    endpoints = _endpoints(manager)
    unreachable = probe(endpoints.values())
    report["endpoints"] = [
        {
            "url": url,
            "ok": unreachable[url] is None,
            "error": unreachable[url],
            "profiles": [n for n, u in endpoints.items() if u == url],
        }
        for url in unreachable
    ]
    for name in manager.names():
        p = manager.profile(name)
        problems: list[str] = []
        if name in endpoints and unreachable[endpoints[name]]:
            problems.append(f"endpoint {endpoints[name]}: {unreachable[endpoints[name]]}")
        if sessions.get(name) == "stale":
            again = hint_with_config(f"sessman open {name}", ctx.meta.get(CONFIG_KEY))
            problems.append(f"its open session is stale (the profile changed): {again}")
        if p.source_profile and sessions.get(p.source_profile) == "stale":
            problems.append(f"source profile {p.source_profile!r} has a stale session")
        if secret_status.get(name) == "missing":
            store = hint_with_config(f"sessman secret set {name}", ctx.meta.get(CONFIG_KEY))
            problems.append(f"no secret stored ({store})")
        if p.kind == "role" and secret_status.get(p.source_profile or "") == "missing":
            problems.append(f"source profile {p.source_profile!r} has no secret stored")
        if p.kind == "aws-profile" and p.aws_profile not in aws_profiles:
            problems.append(f"AWS profile {p.aws_profile!r} is not in ~/.aws/config")
        report["profiles"].append({"name": name, "problems": problems})
    return report


def _endpoints(manager: SessionManager) -> dict[str, str]:
    """The STS endpoint of each profile (``aws_profile`` ones use ~/.aws/config's own)."""
    found: dict[str, str] = {}
    for name in manager.names():
        p = manager.profile(name)
        if p.kind != "aws-profile":
            found[name] = p.endpoint_url or default_endpoint(p.region)
    return found


def _keyring_round_trip(manager: SessionManager) -> dict[str, Any]:
    """Store, read back and delete a test value: does the keyring work?"""
    result: dict[str, Any] = {
        "backend": manager.config.keyring_backend,
        "ok": False,
        "error": None,
    }
    try:
        store = manager.store
        result["backend"] = store.backend_name
        probe = "sessman-doctor:probe"
        store.put(probe, "probe")
        result["ok"] = _read_back(store, probe) == "probe" and store.delete(probe)
        if not result["ok"]:
            result["error"] = "a test value did not read back"
    except SessmanError as exc:
        result["error"] = exc.message
    return result


def _read_back(store: Any, user: str) -> str | None:
    """``user``'s secret as the backend itself returns it, not sessman's memory of it."""
    from sessman.secretstore import KeyringStore

    if isinstance(store, KeyringStore):
        return KeyringStore(store.service, store.backend).get(user)
    return store.get(user)  # type: ignore[no-any-return]


def _aws_config_profiles() -> set[str]:
    import configparser

    names: set[str] = set()
    files = (
        os.environ.get("AWS_CONFIG_FILE", "~/.aws/config"),
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
    )
    for i, raw in enumerate(files):
        parser = configparser.RawConfigParser()
        try:
            parser.read(os.path.expanduser(raw), encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        for section in parser.sections():
            names.add(section.removeprefix("profile ").strip() if i == 0 else section.strip())
    return names


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("init", cls=SessmanCommand)(init)
    app.command("list", cls=SessmanCommand)(list_)
    app.command("show", cls=SessmanCommand)(show)
    app.command("schema", cls=SessmanCommand)(schema)
    app.command("doctor", cls=SessmanCommand)(doctor)
