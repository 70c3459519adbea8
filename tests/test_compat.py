"""The private names of botocore and keyring that sessman reads, checked on this release.

Each accessor in ``sessman/_botocore.py``, ``sessman/_keyring.py`` and
``sessman/cli/_typer.py`` must work on the locked versions and fail loudly
(not answer wrongly) when a release renames what it reads; ``make check-latest`` runs these on the newest releases.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.credentials import Credentials, RefreshableCredentials

from sessman._botocore import _WINDOW_ATTRIBUTES, deferred_credentials, expiry_of
from sessman._keyring import (
    KeyringChanged,
    chosen_backend,
    forget_chosen_backend,
    secret_service_query,
)


def test_expiry_of_refreshable_credentials_is_their_expiry() -> None:
    when = datetime.now(timezone.utc) + timedelta(hours=1)
    creds = RefreshableCredentials.create_from_metadata(
        {
            "access_key": "ASIAEXAMPLEEXPIRY001",
            "secret_key": "not-a-real-secret",
            "token": "token",
            "expiry_time": when.isoformat(),
        },
        refresh_using=lambda: {},
        method="test",
    )
    assert expiry_of(creds) == when


def test_static_credentials_have_no_expiry() -> None:
    assert expiry_of(Credentials("AKIAEXAMPLESTATIC001", "not-a-real-secret")) is None


def test_a_renamed_expiry_field_fails_loudly() -> None:
    # What a release that renames the field looks like: an instance without it.
    renamed = RefreshableCredentials.__new__(RefreshableCredentials)
    with pytest.raises(RuntimeError, match="_expiry_time"):
        expiry_of(renamed)


def test_the_secret_service_query_follows_the_backends_scheme() -> None:
    from keyring.backends.SecretService import Keyring

    backend = Keyring()
    query, username = secret_service_query(backend, "svc")
    assert username == "username" and query == {"service": "svc"}
    backend.scheme = "KeePassXC"  # keyring's other scheme: other attribute names
    query, username = secret_service_query(backend, "svc")
    assert username == "UserName" and query == {"Title": "svc"}


def test_a_changed_secret_service_backend_fails_loudly() -> None:
    with pytest.raises(KeyringChanged, match="_query"):
        secret_service_query(SimpleNamespace(schemes={}, scheme="default"), "svc")


def test_keyrings_chosen_backend_can_be_read_and_forgotten() -> None:
    import keyring
    from keyring.backends import null

    before = chosen_backend()
    try:
        keyring.set_keyring(null.Keyring())
        assert isinstance(chosen_backend(), null.Keyring)
        forget_chosen_backend()
        assert chosen_backend() is None
    finally:
        if before is not None:
            keyring.set_keyring(before)
        else:
            forget_chosen_backend()


def test_keyrings_chosen_backend_fails_loudly_when_renamed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keyring.core

    monkeypatch.delattr(keyring.core, "_keyring_backend")
    with pytest.raises(KeyringChanged, match="_keyring_backend"):
        chosen_backend()
    with pytest.raises(KeyringChanged, match="_keyring_backend"):
        forget_chosen_backend()


def test_a_changed_scheme_table_fails_loudly() -> None:
    from keyring.backends.SecretService import Keyring

    backend = Keyring()
    backend.scheme = "NoSuchScheme"
    with pytest.raises(KeyringChanged, match="scheme"):
        secret_service_query(backend, "svc")
    backend = Keyring()
    backend.schemes = {"default": {"service": "service"}}  # no username attribute
    with pytest.raises(KeyringChanged, match="username"):
        secret_service_query(backend, "svc")


# -- botocore: the refresh windows of deferred credentials ---------------------


def test_deferred_credentials_carry_our_refresh_windows() -> None:
    creds = deferred_credentials(lambda: {}, "sessman", (120.0, 60.0))
    for name, value in zip(_WINDOW_ATTRIBUTES, (120.0, 60.0), strict=True):
        assert getattr(creds, name) == value
        assert hasattr(RefreshableCredentials, name)  # still botocore's own name


def test_renamed_refresh_windows_fail_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RefreshableCredentials, _WINDOW_ATTRIBUTES[0])
    with pytest.raises(RuntimeError, match=_WINDOW_ATTRIBUTES[0]):
        deferred_credentials(lambda: {}, "sessman", (120.0, 60.0))


# -- typer: its vendored click ---------------------------------------------------


def test_typers_vendored_click_is_what_the_cli_builds_on() -> None:
    import typer._click.exceptions

    from sessman.cli import _typer

    assert _typer.ClickException is typer._click.exceptions.ClickException
    assert _typer.ClickUsageError is typer._click.exceptions.UsageError
    assert _typer.NoArgsIsHelpError is typer._click.exceptions.NoArgsIsHelpError
    assert issubclass(_typer.PlainText, typer._click.types.StringParamType)


def test_a_typer_without_its_vendored_click_fails_loudly() -> None:
    # typer itself loaded, then its vendored click's modules gone (None in
    # sys.modules is what importing a removed module does).
    code = (
        "import sys, typer.core, typer._click as vendored\n"
        "for name in ('exceptions', 'types'):\n"
        "    delattr(vendored, name)\n"
        "    sys.modules['typer._click.' + name] = None\n"
        "import sessman.cli._typer\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode != 0
    assert "sessman needs typer's vendored click (typer._click" in done.stderr


def test_a_renamed_click_exception_fails_loudly() -> None:
    code = (
        "import typer._click.exceptions as exceptions\n"
        "del exceptions.NoArgsIsHelpError\n"
        "import sessman.cli._typer\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode != 0
    assert "NoArgsIsHelpError" in done.stderr
    assert "sessman needs typer's vendored click" in done.stderr


# -- keyring: the Secret Service searched with the backend's own scheme ----------


class _Item:
    def __init__(self, attributes: dict[str, str]) -> None:
        self.attributes = attributes

    def get_attributes(self) -> dict[str, str]:
        return self.attributes


class _Collection:
    """Items as keyring writes them, searched as the Secret Service does (all attributes)."""

    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        self.connection = SimpleNamespace(close=lambda: None)

    def search_items(self, query: dict[str, str]) -> list[_Item]:
        return [i for i in self.items if query.items() <= i.attributes.items()]


@pytest.mark.parametrize("scheme", ["default", "KeePassXC"])
def test_listing_follows_the_backends_scheme(scheme: str) -> None:
    from keyring.backends.SecretService import Keyring

    from sessman.secretstore import KeyringStore

    items: list[_Item] = []

    class Fake(Keyring):
        priority = -1

        def get_preferred_collection(self) -> _Collection:
            return _Collection(items)

    backend = Fake()  # type: ignore[no-untyped-call]
    backend.scheme = scheme
    # What keyring's set_password writes: the attributes of this scheme.
    items.append(_Item(backend._query("svc", "dev", application="x")))
    items.append(_Item(backend._query("other-svc", "prod", application="x")))
    assert KeyringStore("svc", backend).present(["dev", "prod", "ops"]) == {"dev"}


@pytest.mark.secretservice
@pytest.mark.parametrize("scheme", ["default", "KeePassXC"])
def test_listing_a_real_secret_service_follows_the_scheme(
    scheme: str, secret_service: object
) -> None:
    from keyring.backends.SecretService import Keyring

    from sessman.secretstore import KeyringStore

    service = f"sessman-scheme-{scheme}"
    writer = Keyring()
    writer.scheme = scheme
    writer.set_password(service, "dev", "not-a-real-secret-0001")
    reader = Keyring()
    reader.scheme = scheme
    assert KeyringStore(service, reader).present(["dev", "ops"]) == {"dev"}
    assert KeyringStore(service, reader).get("dev") == "not-a-real-secret-0001"


# -- nowhere else -----------------------------------------------------------------

#: The rooms where another library's private names may be used, each guarded above.
ROOMS = ("_botocore.py", "_keyring.py", "cli/_typer.py")
#: Private-looking names that are documented public API.
PUBLIC = {"os._exit"}
LIBRARIES = ("boto3", "botocore", "keyring", "typer", "click", "secretstorage", "jeepney")


def _private_uses(tree: ast.AST) -> Iterator[str]:
    """Private attributes of anything but ``self``/``cls``, by attribute or by name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = node.value
            if node.attr.startswith("__") or (
                isinstance(owner, ast.Name) and owner.id in ("self", "cls")
            ):
                continue
            yield ast.unparse(node)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr", "delattr", "vars")
            and any(isinstance(a, ast.Constant) and str(a.value).startswith("_") for a in node.args)
        ):
            yield ast.unparse(node)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # sessman's own modules
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            names = [module, *(a.name for a in node.names)]
            theirs = any(n.split(".")[0] in LIBRARIES for n in names)
            if theirs and any(part.startswith("_") for n in names for part in n.split(".")):
                yield ast.unparse(node)


def test_private_names_of_other_libraries_live_only_in_their_rooms() -> None:
    package = Path(__file__).resolve().parents[1] / "sessman"
    rooms = {package / room for room in ROOMS}
    found = {
        f"{path.relative_to(package)}: {use}"
        for path in package.rglob("*.py")
        if path not in rooms
        for use in _private_uses(ast.parse(path.read_text(encoding="utf-8")))
        if use not in PUBLIC
    }
    assert found == set()
    for room in rooms:  # and the rooms do use them (else the room is stale)
        assert list(_private_uses(ast.parse(room.read_text(encoding="utf-8"))))


#: Outside the package: the test-side rooms for what tests observe, and this file.
OUTSIDE_ROOMS = ("tests/support/_botocore.py", "tests/support/_keyring.py", "tests/test_compat.py")
OUTSIDE_TREES = ("tests", "bench", "examples", "scripts")


def _own_names(tree: ast.AST) -> set[str]:
    """Names a file imports from sessman, the test support package or bench: their privates are ours."""
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").split(".")[0] in ("sessman", "support", "bench")
        ):
            own.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            own.update(a.asname or a.name for a in node.names if a.name.startswith("sessman"))
    return own


def test_tests_and_tools_use_no_private_name_of_another_library() -> None:
    root = Path(__file__).resolve().parents[1]
    found = set()
    for tree_name in OUTSIDE_TREES:
        for path in sorted((root / tree_name).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative in OUTSIDE_ROOMS or "node_modules" in relative:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            own = _own_names(tree)
            for use in _private_uses(tree):
                if use not in PUBLIC and use.split(".")[0] not in own:
                    found.add(f"{relative}: {use}")
    assert found == set()
    for room in OUTSIDE_ROOMS[:2]:  # the rooms do use them (else the room is stale)
        assert list(_private_uses(ast.parse((root / room).read_text(encoding="utf-8"))))
