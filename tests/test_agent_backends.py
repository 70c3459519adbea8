"""The agent holds what sessman read from other keyring backends (a real Secret Service).

Without a file keyring the agent needs no passphrase; secrets that sessman
processes read from or write to another backend are held in its memory for
the time to live, so ``credential-process`` is answered by the agent without
importing keyring, and ``agent lock`` forgets them (the backend still has them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.agent import agent_status, env_without_passphrase
from support.cli import sessman
from support.fakes import FAKE_SECRET

from sessman.agent import client

SECRET_SERVICE = "keyring.backends.SecretService.Keyring"
pytestmark = pytest.mark.secretservice


def _plant(service: str, config: Path) -> dict[str, str]:
    """An open session of ``dev`` stored in the Secret Service (with the agent running).

    Bound to ``dev`` as ``config`` defines it, as ``sessman open`` binds it.
    """
    from datetime import datetime, timedelta, timezone

    from keyring.backends.SecretService import Keyring

    from sessman.binding import fingerprint
    from sessman.config import load_config
    from sessman.credentials import TemporaryCredentials
    from sessman.locations import state_dir
    from sessman.secretstore import KeyringStore, session_user
    from sessman.state import SessionRecord, StateFile

    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=1)
    creds = TemporaryCredentials("ASIASECRETSERVICE001", "ss/secret", "ss-token", expires)
    KeyringStore(service, Keyring()).put(session_user("dev"), creds.to_json())
    arn = "arn:aws:iam::123456789012:user/t"
    StateFile(state_dir(), service).put(
        SessionRecord(
            "dev",
            creds.access_key_id,
            "123456789012",
            arn,
            "AIDA1",
            expires,
            binding=fingerprint(load_config(config), "dev"),
        )
    )
    return json.loads(creds.to_json())  # type: ignore[no-any-return]


def _credential_process(config: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    argv = ["-X", "importtime", "-m", "sessman", "credential-process", "dev", "-c", str(config)]
    done = subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        env=env_without_passphrase(),
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    return done, imported


def test_the_agent_holds_secrets_of_a_secret_service(
    secret_service: object, runtime_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = f"agent-ss-{tmp_path.name}"
    config = tmp_path / "ss.yaml"
    config.write_text(
        f"version: 1\nkeyring_service: {service}\nkeyring_backend: {SECRET_SERVICE}\n"
        "profiles:\n  dev: {access_key_id: AKIAIOSFODNN7EXAMPLE, region: us-east-1}\n"
    )
    # No keyring file: the agent starts without a passphrase, for other backends only.
    nowhere = {**env_without_passphrase(), "SESSMAN_KEYRING_FILE": str(tmp_path / "none.enc")}
    monkeypatch.setenv("SESSMAN_KEYRING_FILE", nowhere["SESSMAN_KEYRING_FILE"])
    started = sessman("agent", "start", env=nowhere)
    assert started.returncode == 0, started.stderr
    status = agent_status()
    assert status["locked"] is False and status["file_unlocked"] is False

    planted = _plant(service, config)
    backend = client.backend_id(SECRET_SERVICE)
    assert backend is not None
    held = client.recall(backend, service, "dev:session")
    assert held is not None and json.loads(held)["AccessKeyId"] == planted["AccessKeyId"]

    done, imported = _credential_process(config)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["SessionToken"] == "ss-token"
    assert "sessman.agent.client" in imported
    assert not {"keyring", "cryptography", "boto3", "pydantic"} & imported

    # Locked, it forgets; the ordinary path reads the Secret Service again.
    assert sessman("agent", "lock").returncode == 0
    assert client.recall(backend, service, "dev:session") is None
    done, imported = _credential_process(config)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["SessionToken"] == "ss-token"
    assert "keyring" in imported
    assert FAKE_SECRET not in done.stdout + done.stderr
