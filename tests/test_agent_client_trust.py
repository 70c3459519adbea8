"""What a client tells, and takes from, whatever serves the agent's socket.

A real Unix socket in a private directory, served by a thread of this
process (so it passes the peer check as a sessman agent would): it asks for
variables and answers with credential fields as a hostile or broken agent
might. The client must never send a variable that holds a secret, and must
take nothing but one printable line per field.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fakes import FAKE_SECRET, PASSPHRASE

from sessman.agent import client
from sessman.exports import PROCESS_FIELDS


class FakeAgent:
    """Answers each request with the next of ``answers``; keeps what it was sent."""

    def __init__(self, path: Path, answers: list[dict[str, Any]]) -> None:
        self.answers = answers
        self.requests: list[dict[str, Any]] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        os.chmod(path, 0o600)
        self.server.listen()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for answer in self.answers:
            conn, _ = self.server.accept()
            with conn:
                line = conn.makefile("rb").readline()
                self.requests.append(json.loads(line))
                conn.sendall(json.dumps(answer).encode() + b"\n")

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    run = tmp_path / "run"
    (run / "sessman").mkdir(parents=True, mode=0o700)
    run.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    yield run / "sessman" / "agent.sock"


FIELDS = {
    "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
    "SecretAccessKey": "x" * 40,
    "SessionToken": "token",
    "Expiration": "2030-01-01T00:00:00Z",
}


def test_the_client_never_sends_a_variable_that_holds_a_secret(
    runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSMAN_KEYRING_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("TEAM_REGION", "eu-west-1")
    asking = {
        "error": "need-env",
        "names": ["SESSMAN_KEYRING_PASSPHRASE", "AWS_SECRET_ACCESS_KEY", "TEAM_REGION"],
    }
    agent = FakeAgent(runtime, [asking, {"ok": True, "credentials": FIELDS}])
    try:
        got = client.credential_process(None, "dev", None)
    finally:
        agent.close()
    assert got == {name: FIELDS[name] for name in PROCESS_FIELDS}
    sent = json.dumps(agent.requests)
    assert agent.requests[1]["env"]["TEAM_REGION"] == "eu-west-1"
    assert PASSPHRASE not in sent and FAKE_SECRET not in sent


@pytest.mark.parametrize(
    "bad",
    [
        {"Expiration": "2030-01-01T00:00:00Z\n{}"},
        {"AccessKeyId": ""},
        {"SessionToken": "\x1b[2J"},
        {"SecretAccessKey": 7},
    ],
)
def test_fields_that_are_not_one_printable_line_are_not_taken(
    runtime: Path, bad: dict[str, Any]
) -> None:
    agent = FakeAgent(runtime, [{"ok": True, "credentials": {**FIELDS, **bad}}])
    try:
        assert client.credential_process(None, "dev", None) is None
    finally:
        agent.close()
