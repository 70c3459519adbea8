"""No secret in botocore's DEBUG records, debug tracebacks or any public object's repr().

botocore's DEBUG logging, with evidence (the ``..._botocore_debug_...`` test): at
DEBUG, ``botocore.parsers`` logs every response body and ``botocore.auth`` /
``botocore.endpoint`` log the canonical request and the request headers, so
the temporary credentials of STS responses (GetSessionToken, AssumeRole) and
the ``X-Amz-Security-Token`` of every request signed with a session do appear
in botocore's own DEBUG records, when a program turns that logging on
(``logging.basicConfig(level=logging.DEBUG)``, ``boto3.set_stream_logger``).
The long-term secret never does: it is only ever used to compute a
signature. sessman itself logs only its notes for people (a damaged state
file, a failed renewal; searched like every other record), and
``SESSMAN_DEBUG=1`` only turns on tracebacks; it does not enable botocore's
logging. The search itself (``support.leaks.hits``) is tested here too.
"""

from __future__ import annotations

import base64
import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from support.cli import cli, sessman
from support.fakes import FAKE_SECRET, PASSPHRASE
from support.infra import MotoServer
from support.leaks import hits


def test_forms_find_a_secret_however_it_is_written() -> None:
    """The scanner itself: each form of the secret, inside other text, is found."""
    for pad in ("", "x", "xy"):
        embedded = base64.b64encode(f"{pad}key={FAKE_SECRET};".encode()).decode()
        assert hits(f"noise {embedded} noise", {FAKE_SECRET}) == [FAKE_SECRET[:12] + "…"]
    assert hits(quote(FAKE_SECRET, safe=""), {FAKE_SECRET})
    assert hits(repr(FAKE_SECRET.encode()), {FAKE_SECRET})
    assert not hits(FAKE_SECRET[:-1], {FAKE_SECRET})


def test_temporary_credentials_reach_botocore_debug_records_but_never_the_long_term_key(
    tmp_path: Path, moto_server: MotoServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Evidence for the module docstring: botocore's DEBUG logging shows sessions' credentials."""
    from sessman import SessionManager

    config = tmp_path / "p.yaml"
    config.write_text(
        f"defaults: {{region: eu-west-1, endpoint_url: {moto_server.url}}}\nprofiles:\n"
        "  dev: {access_key_id: AKIALEAKSEXAMPLE0001}\n"
        "  ops: {source_profile: dev, role_arn: 'arn:aws:iam::123456789012:role/Ev'}\n"
    )
    caplog.set_level(logging.DEBUG)
    with SessionManager.load(config) as manager:
        manager.store.put("dev", FAKE_SECRET)
        manager.open("dev")
        manager.open("ops")
        role = manager.credentials("ops")
        assert manager.whoami("ops").arn.endswith(":assumed-role/Ev/sessman-ops")
    by_logger: dict[str, str] = {}
    for record in caplog.records:
        by_logger[record.name] = by_logger.get(record.name, "") + record.getMessage() + "\n"
    everything = "".join(by_logger.values())
    assert hits(everything, {FAKE_SECRET}) == []
    assert role.secret_access_key in by_logger["botocore.parsers"]  # the AssumeRole response
    assert role.session_token in by_logger["botocore.auth"]  # X-Amz-Security-Token
    leaking = {name for name, text in by_logger.items() if role.session_token in text}
    assert leaking <= {"botocore.parsers", "botocore.auth", "botocore.endpoint"}
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name in leaking)


def test_debug_tracebacks_in_a_real_process_hold_no_secret(tmp_path: Path) -> None:
    """SESSMAN_DEBUG=1 prints the traceback (with the causes) and still no secret."""
    config = tmp_path / "p.yaml"
    config.write_text(
        "defaults: {region: eu-west-1}\nprofiles:\n  dev: {access_key_id: AKIALEAKSEXAMPLE0001}\n"
    )
    assert (
        cli("secret", "set", "dev", "--stdin", "-c", str(config), input=FAKE_SECRET).exit_code == 0
    )
    wrong = "a wrong passphrase, long enough to search for"
    env = {**os.environ, "SESSMAN_DEBUG": "1", "SESSMAN_KEYRING_PASSPHRASE": wrong}
    done = sessman("credential-process", "dev", "-c", str(config), env=env)
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "WrongPassphrase" in done.stderr
    assert hits(done.stdout + done.stderr, {FAKE_SECRET, PASSPHRASE, wrong}) == []


# -- repr() of every public object ------------------------------------------------------


def test_no_public_object_shows_a_secret_in_its_repr(
    tmp_path: Path, moto_server: MotoServer
) -> None:
    from sessman import SessionManager
    from sessman.credentials import Keys, TemporaryCredentials
    from sessman.errors import SecretNotFound
    from sessman.filekeyring import EncryptedFileKeyring
    from sessman.manager import Outcome
    from sessman.secretstore import KeyringStore
    from sessman.state import SessionRecord, StateFile
    from sessman.testing import MemoryKeyring

    config = tmp_path / "p.yaml"
    config.write_text(
        f"defaults: {{region: eu-west-1, endpoint_url: {moto_server.url}}}\nprofiles:\n"
        "  dev: {access_key_id: AKIALEAKSEXAMPLE0001}\n"
        "  ops: {source_profile: dev, role_arn: 'arn:aws:iam::123456789012:role/Repr',"
        " external_id: not-secret}\n"
        "  nosecret: {access_key_id: AKIALEAKSEXAMPLE0002}\n"
    )
    manager = SessionManager.load(config)
    manager.store.put("dev", FAKE_SECRET)
    info = manager.open("ops")
    role = manager.credentials("ops")
    identity = manager.whoami("dev")  # signs with the long-term key, held in memory now
    outcomes = manager.map(lambda name, _s: manager.credentials(name), ["ops", "nosecret"])
    assert outcomes["ops"].ok and not outcomes["nosecret"].ok
    memory = MemoryKeyring()
    memory.set_password("svc", "dev", FAKE_SECRET)
    file_ring = EncryptedFileKeyring(tmp_path / "other.enc", passphrase=PASSPHRASE)
    file_ring.set_password("svc", "dev", FAKE_SECRET)
    assert file_ring.get_password("svc", "dev") == FAKE_SECRET
    expires = datetime.now(timezone.utc) + timedelta(hours=1)
    objects: list[Any] = [
        manager,
        manager.config,
        manager.profile("dev"),
        manager.profile("ops"),
        info,
        identity,
        *outcomes.values(),
        Outcome("x", True, value=role),
        Outcome("x", False, error=SecretNotFound("no secret for 'x'")),
        manager.store,
        KeyringStore("svc", memory),
        file_ring,
        memory,
        role,
        TemporaryCredentials("ASIAEXAMPLE", FAKE_SECRET, FAKE_SECRET + "token", expires),
        Keys("AKIAEXAMPLE", FAKE_SECRET),
        Keys("AKIAEXAMPLE", FAKE_SECRET, FAKE_SECRET + "token"),
        manager.state,
        StateFile(tmp_path, "svc"),
        SessionRecord("dev", "ASIAEXAMPLE", "123456789012", "arn", "uid", expires),
        *manager.state.read().values(),
        *manager.status().values(),
    ]
    assert isinstance(manager.store, KeyringStore)
    assert manager.store.get("dev") == FAKE_SECRET  # the store really holds it in memory
    secrets = {FAKE_SECRET, PASSPHRASE, role.secret_access_key, role.session_token}
    for obj in objects:
        for shown in (repr(obj), str(obj)):
            assert hits(shown, secrets) == [], f"{type(obj).__name__}: {shown}"
    # The reprs do show what is not secret, so the search looked at real text.
    assert "AKIAEXAMPLE" in repr(Keys("AKIAEXAMPLE", FAKE_SECRET))
    assert "'ops'" in repr(manager.state.read()["ops"]) and "ASIA" in repr(role)
    manager.release()
