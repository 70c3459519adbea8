"""What the credential server tests share: a profiles file with quick renewals, raw HTTP, a port check.

``config`` is a fixture, registered under that name (the modules that use it
import ``config_fixture``): profiles against moto_server, the secret stored,
renewals every few seconds for the processes started.
"""

from __future__ import annotations

import http.client
import socket
from pathlib import Path

import pytest

from support.cli import cli
from support.fakes import FAKE_SECRET
from support.infra import MotoServer

ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/Ops/tester"


WAIT = 60.0  # generous: the machine is shared


@pytest.fixture(name="config")
def config_fixture(
    tmp_path: Path, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Profiles against moto_server; renewals every few seconds for the processes started."""
    path = tmp_path / "profiles.yaml"
    path.write_text(
        f"""\
version: 1
keyring_service: server-{tmp_path.name}
defaults:
  region: eu-north-1
  endpoint_url: {moto_server.url}
  connect_timeout: 2
  read_timeout: 5
  retries: {{mode: standard, max_attempts: 1}}
profiles:
  dev:
    access_key_id: AKIAHANDOVEREXAMPLE1
  ops:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Ops
    role_session_name: tester
    session_duration: 900
"""
    )
    stored = cli("secret", "set", "dev", "--stdin", "-c", str(path), input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    monkeypatch.setenv("SESSMAN_SERVER_RENEW_AHEAD", "897")
    monkeypatch.setenv("SESSMAN_SERVER_RETRY", "1")
    return path


def refused(url: str) -> bool:
    """Whether nothing listens at the port of ``url`` any more."""
    port = int(url.rsplit(":", 1)[1].strip("/"))
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def get(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """A GET with exactly ``headers`` (no Host unless given)."""
    rest = url.removeprefix("http://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("GET", "/" + path, skip_host=True, skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


#: A role behind an MFA device, sourced from ``dev``, appended to the config fixture's file.
MFA_ROLE = """\
  mfaops:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Ops
    role_session_name: tester
    mfa_serial: arn:aws:iam::123456789012:mfa/dev
    session_duration: 900
"""
