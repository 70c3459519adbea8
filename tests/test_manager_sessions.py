"""SessionManager's sessions over real HTTP: open, close, release, role chains and refreshes.

Secrets go through the real store (the encrypted file keyring the conftest
environment pins); AWS is a real ``moto.server`` process. Nothing in
botocore is patched: connection pools are only counted (through
``support._botocore``), to prove that they really get closed.
"""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta

from support._botocore import pool_count
from support.fakes import FAKE_SECRET
from support.infra import MotoServer
from support.manager import (
    ACCOUNT,
    MOTO_USER_ARN,
    Factory,
    again,
    assert_expires_in,
    keys_and_role,
    make_fixture,  # noqa: F401
    stored_session,
)

from sessman.manager import SessionManager

# -- open, close, release on a server without authentication --------------------------


def test_open_a_keys_profile_gets_a_session_token(make: Factory, moto_server: MotoServer) -> None:
    manager = keys_and_role(make, moto_server, "OpenKeys")
    info = manager.open("dev", duration=1800)
    assert info.name == "dev"
    assert info.account == ACCOUNT
    assert info.arn == MOTO_USER_ARN
    assert info.user_id
    assert_expires_in(info.expires, 1800)
    assert_expires_in(manager.open("dev").expires, 3600)  # the default duration
    assert FAKE_SECRET not in repr(info)


def test_open_a_role_assumes_it(make: Factory, moto_server: MotoServer) -> None:
    manager = keys_and_role(make, moto_server, "OpenRole")
    info = manager.open("admin")
    assert info.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/OpenRole/alice"
    assert info.account == ACCOUNT
    assert info.user_id.endswith(":alice")
    assert_expires_in(info.expires, 3600)
    plain = manager.open("plain-role")  # session_duration 900, default session name
    assert plain.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/OpenRolePlain/sessman-plain-role"
    assert_expires_in(plain.expires, 900)
    assert_expires_in(manager.open("plain-role", duration=2000).expires, 2000)
    # whoami now signs with the open session.
    assert manager.whoami("admin").arn == info.arn


def test_open_stores_credentials_in_the_keyring_and_metadata_in_state(
    make: Factory, moto_server: MotoServer
) -> None:
    manager = keys_and_role(make, moto_server, "Stored")
    info = manager.open("admin")
    text = stored_session(manager, "admin")
    assert text is not None
    data = json.loads(text)
    assert set(data) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    expiration = datetime.fromisoformat(data["Expiration"].replace("Z", "+00:00"))
    assert expiration.utcoffset() == timedelta(0)
    assert abs((expiration - info.expires).total_seconds()) < 1
    secrets = [data["SecretAccessKey"], data["SessionToken"], FAKE_SECRET]

    record = manager.state.get("admin")
    assert record is not None
    assert (record.access_key_id, record.arn) == (data["AccessKeyId"], info.arn)
    assert stat.S_IMODE(manager.state.path.stat().st_mode) == 0o600
    files = [p for p in manager.state_dir.rglob("*") if p.is_file()]
    assert manager.state.path in files
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, path
    assert info.arn.encode() in manager.state.path.read_bytes()

    status = again(manager).status()
    assert status["admin"].session == "open"
    assert status["admin"].expires == record.expires
    assert status["dev"].session == "closed"
    assert status["dev"].secret == "stored"


def test_close_deletes_the_session_and_is_idempotent(
    make: Factory, moto_server: MotoServer
) -> None:
    manager = keys_and_role(make, moto_server, "Close")
    manager.open("dev")
    manager.open("admin")
    assert manager.close("dev") is True
    assert stored_session(manager, "dev") is None
    assert manager.state.get("dev") is None
    assert stored_session(manager, "admin") is not None  # the other one stays open
    assert manager.close("dev") is False
    assert manager.close("plain-role") is False  # never opened
    status = again(manager).status()
    assert status["dev"].session == "closed"
    assert status["admin"].session == "open"
    assert status["dev"].secret == "stored"  # the long-term key is not touched
    assert manager.whoami("dev").arn == MOTO_USER_ARN  # back on the long-term key


def test_close_closes_the_connection_pools(make: Factory, moto_server: MotoServer) -> None:
    manager = keys_and_role(make, moto_server, "Pools")
    manager.open("dev")
    sts = manager.client("dev", "sts")
    other = manager.client("admin", "sts")
    sts.get_caller_identity()
    other.get_caller_identity()
    session = manager.session("dev")
    assert pool_count(sts) == 1 and pool_count(other) == 1
    manager.close("dev")
    assert pool_count(sts) == 0
    assert pool_count(other) == 1  # another profile's client is left alone
    assert manager.client("dev", "sts") is not sts
    assert manager.session("dev") is not session


def test_release_frees_clients_but_sessions_stay_open(
    make: Factory, moto_server: MotoServer
) -> None:
    manager = keys_and_role(make, moto_server, "Release")
    info = manager.open("admin")
    sts = manager.client("admin", "sts")
    sts.get_caller_identity()
    session = manager.session("admin")
    assert pool_count(sts) == 1
    manager.release()
    assert pool_count(sts) == 0
    assert manager.session("admin") is not session
    assert manager.client("admin", "sts") is not sts
    assert stored_session(manager, "admin") is not None
    assert again(manager).status(["admin"])["admin"].session == "open"
    assert manager.whoami("admin").arn == info.arn  # still usable afterwards

    with again(manager) as scoped:
        client = scoped.client("admin", "sts")
        client.get_caller_identity()
        assert pool_count(client) == 1
    assert pool_count(client) == 0
    assert stored_session(manager, "admin") is not None


def test_a_role_chain_assumes_each_role_in_turn(make: Factory, moto_server: MotoServer) -> None:
    manager = make(
        {
            "base": {"access_key_id": "AKIAEXAMPLECHAIN0001"},
            "middle": {"source_profile": "base", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Mid"},
            "top": {"source_profile": "middle", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Top"},
        },
        {"endpoint_url": moto_server.url},
    )
    manager.store.put("base", FAKE_SECRET)
    assert manager.open("top").arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/Top/sessman-top"
    assert manager.whoami("middle").arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/Mid/sessman-middle"


def frozen_keys(manager: SessionManager, name: str) -> list[str]:
    credentials = manager.session(name).get_credentials()
    return [credentials.get_frozen_credentials().access_key for _ in range(2)]


def test_short_role_credentials_are_not_refreshed_on_every_use(
    make: Factory, moto_server: MotoServer
) -> None:
    manager = make(
        {
            "src": {"access_key_id": "AKIAEXAMPLEREFRESH01"},
            "short": {
                "source_profile": "src",
                "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Short",
                "session_duration": 900,
            },
            "long": {"source_profile": "src", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/Long"},
        },
        {"endpoint_url": moto_server.url},
    )
    manager.store.put("src", FAKE_SECRET)
    first, second = frozen_keys(manager, "long")
    assert first == second
    # 900 s is inside botocore's own 15 min window, but not inside sessman's
    # (half the session): the same credentials serve use after use.
    first, second = frozen_keys(manager, "short")
    assert first == second
    assert first.startswith("ASIA")
    # An open session this short is handed to botocore as is.
    manager.open("short", duration=900)
    record = manager.state.get("short")
    assert record is not None
    manager.release()
    assert frozen_keys(manager, "short") == [record.access_key_id] * 2
    assert manager.whoami("short").arn.endswith(":assumed-role/Short/sessman-short")
