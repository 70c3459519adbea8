"""A hostile environment and changed profiles, against a real moto_server.

The "hostile endpoint" is a recording proxy in front of moto: it answers like
STS, so on the old code sessman's calls went there and succeeded. Now
``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_STS`` and an ``endpoint_url`` in
``AWS_CONFIG_FILE`` never redirect sessman's own calls, and an open session
is bound to the profile definition it was opened with: after a change (or
from another profiles file with the same keyring_service) it is ``stale``,
never handed over.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import cli, store_secret
from support.infra import MotoServer
from support.proxies import RecordingProxy, serving

REAL_AWS_PROFILE = (
    "keyring_service: iso\n"
    "defaults: {region: us-east-1, connect_timeout: 2, retries: {max_attempts: 1}}\n"
    "profiles:\n  dev: {access_key_id: AKIAISOLATIONEXAMP01}\n"
)
MOTO_PROFILE = (
    "keyring_service: iso\n"
    "defaults: {{region: us-east-1, endpoint_url: '{url}'}}\n"
    "profiles:\n"
    "  dev: {{access_key_id: AKIAISOLATIONEXAMP01}}\n"
    "  ops: {{source_profile: dev, role_arn: '{role}'}}\n"
)
ROLE = "arn:aws:iam::123456789012:role/Ops"


@pytest.fixture
def hostile(moto_server: MotoServer) -> Iterator[RecordingProxy]:
    with serving(RecordingProxy(moto_server.url)) as proxy:
        yield proxy


@pytest.mark.parametrize(
    "variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_CONFIG_FILE", "AWS_PROFILE"]
)
def test_environment_endpoints_never_redirect_sessmans_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hostile: RecordingProxy, variable: str
) -> None:
    config = tmp_path / "p.yaml"
    config.write_text(REAL_AWS_PROFILE)
    store_secret(config)
    aws_config = tmp_path / "aws-config"
    aws_config.write_text(
        f"[default]\nendpoint_url = {hostile.url}\n[profile evil]\nendpoint_url = {hostile.url}\n"
    )
    value = {
        "AWS_CONFIG_FILE": str(aws_config),
        "AWS_PROFILE": "evil",
    }.get(variable, hostile.url)
    if variable == "AWS_PROFILE":
        monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHOSTILEENVIRON01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hostile" * 6)

    for args in (["whoami", "dev"], ["open", "dev"]):
        result = cli("--config", str(config), *args)
        # No network here: the real STS endpoint is unreachable, which is the point.
        assert result.exit_code == 1, (args, result.stdout)
        assert hostile.url not in result.stderr
    assert hostile.calls == [], "a signed request went to the environment's endpoint"


def credential_process(config: Path) -> dict[str, str]:
    result = cli("--config", str(config), "credential-process", "dev")
    assert result.exit_code == 0, result.stderr
    data: dict[str, str] = json.loads(result.stdout)
    return data


def session_state(config: Path, name: str = "dev") -> str:
    result = cli("--config", str(config), "list", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    state: str = rows[name]["session"]["state"]
    return state


def test_a_changed_profile_makes_its_session_stale(
    tmp_path: Path, moto_server: MotoServer, hostile: RecordingProxy
) -> None:
    config = tmp_path / "p.yaml"
    config.write_text(MOTO_PROFILE.format(url=moto_server.url, role=ROLE))
    store_secret(config)
    opened = cli("--config", str(config), "open", "dev", "ops")
    assert opened.exit_code == 0, opened.stderr
    credential_process(config)
    assert session_state(config) == "open"

    # Another endpoint: the stored session must not be handed to programs talking to it.
    # (moto's keys all look alike: what proves a new session is the call to the new endpoint.)
    config.write_text(MOTO_PROFILE.format(url=hostile.url, role=ROLE))
    assert session_state(config) == "stale"
    assert session_state(config, "ops") == "stale"  # its source changed too
    credential_process(config)
    assert len(hostile.signers("GetSessionToken")) == 1, "the stale session was handed over"
    assert session_state(config) == "open"

    # Another role: stale as well.
    config.write_text(MOTO_PROFILE.format(url=hostile.url, role=ROLE + "2"))
    assert session_state(config, "ops") == "stale"


def test_another_file_with_the_same_keyring_service_never_gets_the_session(
    tmp_path: Path, moto_server: MotoServer, hostile: RecordingProxy
) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(MOTO_PROFILE.format(url=moto_server.url, role=ROLE))
    store_secret(mine)
    assert cli("--config", str(mine), "open", "dev").exit_code == 0
    credential_process(mine)

    theirs = tmp_path / "cloned" / "profiles.yaml"
    theirs.parent.mkdir()
    theirs.write_text(MOTO_PROFILE.format(url=hostile.url, role=ROLE))
    assert session_state(theirs) == "stale"
    env = cli("--config", str(theirs), "env", "dev", "--format", "json")
    assert env.exit_code == 0, env.stderr
    # Their file got a session of its own, from its own endpoint, not mine.
    assert len(hostile.signers("GetSessionToken")) == 1
    assert session_state(mine) == "stale"  # and mine is not silently theirs either
