"""Commands that put secrets in the keyring: secret set/delete, import aws/dotenv."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sessman.errors import SessmanError, UsageError
from sessman.imports.append import NewProfile, append_profiles
from sessman.imports.aws import AwsImport, parse_renames, plan_aws_import
from sessman.imports.dotenv import read_dotenv
from sessman.manager import SessionManager
from sessman.shapes import SECRET_ACCESS_KEY_TEXT, fits

from . import render
from ._typer import PlainPath, SessmanCommand
from .complete import NameArgument
from .options import ConfigOption, JsonOption, load_manager
from .render import emit_note

secret_app = typer.Typer(
    help="Store or delete a profile's secret access key.", no_args_is_help=True
)
import_app = typer.Typer(
    help="Copy long-term keys from ~/.aws/credentials or a .env file into sessman.",
    no_args_is_help=True,
)


def _keys_profile(manager: SessionManager, name: str) -> None:
    profile = manager.profile(name)
    if profile.kind != "keys":
        raise UsageError(
            f"profile {name!r} is {_article(profile.kind)} {profile.kind} profile;"
            " only access_key_id profiles have a secret"
        )


def _article(kind: str) -> str:
    """'an' before the kinds said with a vowel sound (an sso, an aws-profile), else 'a'."""
    return "an" if kind[:1] in "aeios" else "a"


def _read_secret(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise UsageError(
                "no secret on standard input",
                hint="pipe one line: ... | sessman secret set NAME --stdin",
            )
        return line.strip()
    from sessman.prompts import hidden_input

    try:
        return hidden_input("Secret access key (hidden): ").strip()
    except EOFError:
        raise UsageError(
            "no secret access key could be read from the terminal",
            hint="pipe one line: ... | sessman secret set NAME --stdin",
        ) from None


def _check_secret(secret: str) -> str:
    if not secret:
        raise UsageError("the secret access key is empty")
    # An access key id pasted by mistake would be stored as the secret and
    # fail only at the first AWS call.
    if fits(secret, "AccessKeyId"):
        raise UsageError(
            "that is an access key id, not the secret access key",
            hint="the secret is the 40-character value AWS showed next to the key id"
            " (the key id itself goes in the profiles file as access_key_id)",
        )
    if not fits(secret, "SecretAccessKey"):
        raise UsageError(f"that does not look like a secret access key ({SECRET_ACCESS_KEY_TEXT})")
    return secret


def secret_set(
    ctx: typer.Context,
    name: NameArgument,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read one line from standard input.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace a stored secret.")] = False,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Store the secret access key of a profile in the keyring."""
    manager = load_manager(ctx, config)
    _keys_profile(manager, name)
    store = manager.store
    if not force and store.present([name]):
        raise SessmanError(
            f"a secret is already stored for profile {name!r}",
            hint=f"replace it with: sessman secret set {name} --force",
        )
    secret = _check_secret(_read_secret(stdin))
    store.put(name, secret)
    render.lines(
        {"name": name, "stored": True, "backend": store.backend_name},
        [f"Stored the secret of {name!r} in {store.backend_name}."],
        json=json_,
    )


def secret_delete(
    ctx: typer.Context,
    name: NameArgument,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation on a terminal.")
    ] = False,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Delete the secret access key of a profile from the keyring (asks first on a terminal)."""
    manager = load_manager(ctx, config)
    _keys_profile(manager, name)
    if not yes and sys.stdin.isatty() and manager.store.present([name]):
        prompt = f"Delete the secret of {name!r} from {manager.store.backend_name}?"
        from sessman.prompts import confirm

        if not confirm(prompt):
            raise SessmanError("nothing was deleted", hint=f"sessman secret delete {name} --yes")
    deleted = manager.store.delete(name)
    said = f"Deleted the secret of {name!r}." if deleted else f"No secret was stored for {name!r}."
    render.lines({"name": name, "deleted": deleted}, [said], json=json_)


def _store_imported(
    manager: SessionManager,
    plan: AwsImport,
    source: str,
    *,
    json_: bool,
) -> None:
    path = manager.config.path
    store = manager.store
    if not plan.keys and not plan.roles:
        for skip in plan.skipped:
            emit_note(f"skipped {skip.name!r}: {skip.reason}")
        taken = [repr(s.name) for s in plan.skipped if s.reason.startswith("a profile ")]
        raise SessmanError(
            f"nothing imported from {source}"
            + (f" (a profile already exists in {path} for {', '.join(taken)})" if taken else ""),
            hint="rename on the way in with --rename OLD=NEW" if taken else None,
        )
    new: list[NewProfile] = [*plan.keys, *plan.roles]
    # Validate the new file first (names, regions, roles), then store, then write.
    append_profiles(path, new, source=source, dry_run=True)
    for key in plan.keys:
        store.put(key.name, _check_secret(key.secret_access_key))
    append_profiles(path, new, source=source)
    imported = [
        {
            "name": key.name,
            "kind": "keys",
            "access_key_id": f"{key.access_key_id[:4]}…{key.access_key_id[-4:]}",
            "region": key.region,
        }
        for key in plan.keys
    ] + [
        {"name": role.name, "kind": "role", "source_profile": role.source_profile}
        for role in plan.roles
    ]
    skipped = [{"name": s.name, "reason": s.reason} for s in plan.skipped]
    render.import_report(
        {"file": str(path), "source": source, "imported": imported, "skipped": skipped},
        json=json_,
    )


def import_aws(
    ctx: typer.Context,
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            metavar="PATH",
            help="Credentials file (default: ~/.aws/credentials).",
        ),
    ] = None,
    profile: Annotated[
        list[str] | None,
        typer.Option(
            "--profile", "-p", metavar="NAME", help="Import only this AWS profile (repeatable)."
        ),
    ] = None,
    rename: Annotated[
        list[str] | None,
        typer.Option(
            "--rename",
            metavar="OLD=NEW",
            help="Import AWS profile OLD as NEW (repeatable), e.g. when OLD is taken.",
        ),
    ] = None,
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Import long-term keys of ~/.aws/credentials and the role profiles of ~/.aws/config.

    Regions come from ~/.aws/config too. Profiles that cannot be imported
    (temporary credentials, names already taken, SSO) are listed with the reason.
    """
    import os

    manager = load_manager(ctx, config)
    path = (
        credentials
        or Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")).expanduser()
    )
    aws_config = Path(os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")).expanduser().absolute()
    plan = plan_aws_import(
        path,
        aws_config,
        only=profile or (),
        renames=parse_renames(rename or ()),
        taken=manager.names(),
        target=manager.config.path,
    )
    _store_imported(manager, plan, str(path.absolute()), json_=json_)


def import_dotenv(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="The .env file.", metavar="FILE", click_type=PlainPath())
    ],
    profile: Annotated[
        str, typer.Option("--profile", "-p", metavar="NAME", help="Name of the new profile.")
    ],
    json_: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Import the key pair of a .env file (AWS_ACCESS_KEY_ID / AWS_ACCESS_KEY, ...)."""
    manager = load_manager(ctx, config)
    plan = AwsImport(keys=[read_dotenv(file, profile)])
    _store_imported(manager, plan, str(file.absolute()), json_=json_)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    secret_app.command("set", cls=SessmanCommand)(secret_set)
    secret_app.command("delete", cls=SessmanCommand)(secret_delete)
    import_app.command("aws", cls=SessmanCommand)(import_aws)
    import_app.command("dotenv", cls=SessmanCommand)(import_dotenv)
    app.add_typer(secret_app, name="secret")
    app.add_typer(import_app, name="import")
