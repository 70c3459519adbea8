"""Nothing crashes on odd names, huge profiles files or any state file content.

- Profile names that look like paths create no file outside the state dir.
- Huge profiles files: 5000 profiles load and list; over 16 MiB is refused
  with one line.
- Property tests (hypothesis): no content of the state file crashes
  ``StateFile.read()`` or ``sessman list``; stale temporary files of killed
  writers are removed; writes go through symlinks.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.cli import assert_error_line, cli, store_secret
from support.fakes import FAKE_SECRET, PASSPHRASE
from support.infra import MotoServer
from support.reliability import (
    keyring_path,
    listed,
    opened_fixture,  # noqa: F401
    profiles_file,
    state_path,
    tree,
)

from sessman.filekeyring import EncryptedFileKeyring
from sessman.state import SessionRecord, StateFile

# -- names that look like paths -----------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "/etc/passwd", "x\\..\\y"])
def test_a_profile_name_that_looks_like_a_path_is_refused_by_the_loader(
    tmp_path: Path, name: str
) -> None:
    config = tmp_path / "p.yaml"
    config.write_text(
        "defaults: {region: eu-west-1}\nprofiles:\n"
        f"  {json.dumps(name)}: {{access_key_id: AKIARELIABLEEXAMPLE1}}\n"
    )
    before = tree(tmp_path)
    for args in (["list"], ["open", name], ["secret", "set", name, "--stdin"]):
        result = cli(*args, "-c", str(config), input=FAKE_SECRET)
        assert result.exit_code == 2
        assert_error_line(result, contains=("invalid profile name", repr(name)))
    assert tree(tmp_path) == before


@pytest.mark.parametrize("name", ["../x", "a/b", "../../outside", "/tmp/abs", "."])
def test_a_path_like_name_on_the_command_line_creates_no_file(
    opened: Path, tmp_path: Path, name: str
) -> None:
    dotenv = tmp_path / "keys.env"
    dotenv.write_text(
        f"AWS_ACCESS_KEY_ID=AKIARELIABLEEXAMPLE9\nAWS_SECRET_ACCESS_KEY={FAKE_SECRET}\n"
    )
    before = tree(tmp_path.parent)
    for args in (
        ["open", name],
        ["close", name],
        ["whoami", name],
        ["show", name],
        ["env", name],
        ["credential-process", name],
        ["secret", "set", name, "--stdin"],
        ["secret", "delete", name],
        ["import", "dotenv", str(dotenv), "--profile", name],
    ):
        result = cli(*args, "-c", str(opened), input=FAKE_SECRET)
        assert result.exit_code == 2, (args, result.stderr)
        assert_error_line(result, contains=repr(name))
    assert tree(tmp_path.parent) == before


def test_a_path_like_keyring_service_stays_in_the_state_dir(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    config = profiles_file(tmp_path / "p.yaml", moto_server.url, service="../../escape/x")
    store_secret(config)
    state_dir = state_path().parent
    before = tree(tmp_path.parent)
    result = cli("open", "dev", "-c", str(config))
    assert result.exit_code == 0, result.stderr
    new = {tmp_path.parent / p for p in tree(tmp_path.parent) - before}
    locks = state_dir / "locks"
    assert new and all(p.parent in (state_dir, locks, keyring_path().parent) for p in new)
    assert any(p.name.startswith("sessions-..%2F..%2Fescape%2Fx") for p in new)
    assert listed(config)["dev"]["session"]["state"] == "open"


# -- huge profiles files -----------------------------------------------------------------------


@pytest.mark.slow
def test_five_thousand_profiles_load_and_list(tmp_path: Path) -> None:
    from sessman.config import load_config

    config = tmp_path / "big.yaml"
    config.write_text(
        "version: 1\ndefaults: {region: eu-west-1}\nprofiles:\n"
        + "".join(
            f"  p{i:04d}:\n    access_key_id: AKIARELIABLE{i:08d}\n    tags: [t{i % 7}]\n"
            for i in range(5000)
        )
    )
    started = time.monotonic()
    loaded = load_config(config)
    assert time.monotonic() - started < 10
    assert len(loaded.profiles) == 5000
    store_secret(config, "p4999")
    started = time.monotonic()
    rows = listed(config)
    assert time.monotonic() - started < 15
    assert len(rows) == 5000 and rows["p4999"]["secret"] == "stored"
    assert rows["p0000"]["secret"] == "missing"


def test_a_profiles_file_over_16_mib_is_refused_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "huge.yaml"
    head = (
        b"defaults: {region: eu-west-1}\nprofiles:\n  dev: {access_key_id: AKIARELIABLEEXAMPLE1}\n"
    )
    config.write_bytes(head + b"#" * (16 * 2**20 + 1 - len(head)))
    for args in (["list"], ["show", "dev"], ["credential-process", "dev"]):
        started = time.monotonic()
        result = cli(*args, "-c", str(config))
        assert time.monotonic() - started < 2
        assert result.exit_code == 2
        assert_error_line(result, contains=("16 MiB", str(config)))
    config.write_bytes(head + b"#" * (16 * 2**20 - 1 - len(head)))  # just under: fine
    assert cli("show", "dev", "-c", str(config)).exit_code == 0


# -- property tests of the state reader --------------------------------------------------------

OFFSETS = st.integers(-23 * 60, 23 * 60).map(lambda m: timezone(timedelta(minutes=m)))
ISO = st.datetimes(timezones=st.none() | st.just(timezone.utc) | OFFSETS).map(
    lambda d: d.isoformat()
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
NAMES = st.sampled_from(["dev", "ops", "p1", "Dev", ""])


@st.composite
def entries(draw: st.DrawFn, name: str) -> tuple[dict[str, Any] | Any, bool]:
    """A session entry for ``name``: well formed (and so kept) or not."""
    if draw(st.booleans()):
        return draw(JSON), False
    fields = ("profile", "access_key_id", "account", "arn", "user_id")
    entry: dict[str, Any] = {f: name if f == "profile" else f"{f}-value" for f in fields}
    entry["expires"] = draw(ISO)
    for key in draw(st.sets(st.sampled_from([*fields, "expires"]), max_size=2)):
        entry[key] = draw(JSON)
    well_formed = all(isinstance(entry[f], str) for f in fields) and entry["profile"] == name
    if well_formed:
        try:
            expires = datetime.fromisoformat(entry["expires"])
            # An expiry is kept only if it has a time zone and a UTC equivalent.
            well_formed = expires.tzinfo is not None
            expires.astimezone(timezone.utc)  # OverflowError at the edges of time
        except (TypeError, ValueError, OverflowError):
            well_formed = False
    return entry, well_formed


@st.composite
def documents(draw: st.DrawFn) -> tuple[bytes, set[str]]:
    """State file content and the profiles it holds a well-formed record of."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200)), set()
    if draw(st.integers(0, 4)) == 0:
        return json.dumps(draw(JSON)).encode(), set()
    sessions: dict[str, Any] = {}
    kept: set[str] = set()
    for name in draw(st.sets(NAMES, max_size=4)):
        entry, ok = draw(entries(name))
        sessions[name] = entry
        if ok:
            kept.add(name)
    fmt = draw(st.sampled_from(["sessman-sessions", "sessman-sessions", "other", None]))
    doc = {"format": fmt, "version": draw(JSON), "sessions": sessions}
    if fmt != "sessman-sessions":
        kept = set()
    return json.dumps(doc).encode(), kept


def check_records(records: dict[str, SessionRecord]) -> None:
    for name, record in records.items():
        assert isinstance(record, SessionRecord) and record.profile == name
        assert record.expires.tzinfo is not None
        record.remaining()


EDGE = json.dumps(
    {
        "format": "sessman-sessions",
        "sessions": {
            "dev": {
                "profile": "dev",
                "access_key_id": "ASIA",
                "account": "1",
                "arn": "a",
                "user_id": "u",
                "expires": "0001-01-01T00:00:00+05:00",
            }
        },
    }
).encode()


@settings(max_examples=300, deadline=None)
@given(content=documents())
@example(content=(EDGE, set()))
@example(content=(EDGE.replace(b"+05:00", b"+00:00"), {"dev"}))
@example(content=(b"[" * 100_000, set()))
@example(content=(b'{"format": "sessman-sessions", "sessions": {"dev": "x"}}', set()))
def test_no_state_file_content_crashes_the_reader(content: tuple[bytes, set[str]]) -> None:
    import tempfile

    raw, kept = content
    with tempfile.TemporaryDirectory() as directory:
        state = StateFile(Path(directory), "prop")
        state.path.write_bytes(raw)
        records = state.read()
    check_records(records)
    assert set(records) == kept


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=documents())
@example(content=(EDGE, set()))
@example(content=(EDGE.replace(b"0001-01-01T00:00:00+05:00", b"9999-12-31T23:00:00-05:00"), set()))
@pytest.mark.slow  # real processes: left out of make unit
def test_no_state_file_content_crashes_sessman_list(
    content: tuple[bytes, set[str]], tmp_path: Path
) -> None:
    config = tmp_path / "p.yaml"
    if not config.exists():
        config.write_text(
            "keyring_service: prop\ndefaults: {region: eu-west-1}\nprofiles:\n"
            "  dev: {access_key_id: AKIARELIABLEEXAMPLE1}\n"
            "  ops: {source_profile: dev, role_arn: 'arn:aws:iam::123456789012:role/x'}\n"
        )
        # Stored sessions, so that each record's expiry is really shown.
        ring = EncryptedFileKeyring(keyring_path(), passphrase=PASSPHRASE)
        for name in ("dev", "ops", "p1"):
            ring.set_password("prop", f"{name}:session", "{}")
    path = state_path("prop")
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content[0])
    result = cli("list", "--json", "-c", str(config))
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == ["dev", "ops"]
    for row in rows:
        assert row["session"]["state"] in {"open", "expired", "stale", "closed"}
        assert (row["session"]["expires"] is None) == (row["session"]["state"] == "closed")
    notes = result.stderr.splitlines()
    assert len(notes) <= 1 and all(n.startswith("sessman: note: ") for n in notes)


def test_stale_temporary_files_of_killed_writers_are_removed(tmp_path: Path) -> None:
    from sessman._atomic import STALE_SECONDS, write_atomic

    target = tmp_path / "state.json"
    old = tmp_path / ".state.json.abc123.tmp"
    fresh = tmp_path / ".state.json.def456.tmp"
    other = tmp_path / ".other.json.abc123.tmp"
    for leftover in (old, fresh, other):
        leftover.write_bytes(b"partial")
    aged = time.time() - STALE_SECONDS - 5
    os.utime(old, (aged, aged))
    os.utime(other, (aged, aged))
    write_atomic(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert not old.exists()
    assert fresh.exists()  # may belong to a writer still at work
    assert other.exists()  # another file's


def test_writes_go_through_symlinks(tmp_path: Path) -> None:
    from sessman._atomic import write_atomic

    real = tmp_path / "dotfiles" / "profiles.yaml"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "profiles.yaml"
    link.symlink_to(real)
    write_atomic(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"
