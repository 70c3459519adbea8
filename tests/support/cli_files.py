"""What the command-line tests of options, output and secret guards share: profiles files and a terminal.

``config`` (two profiles with tags, no server) and ``live`` (one profile against
moto_server, its secret stored) are fixtures, registered under those names; the
modules that use them import ``config_fixture`` and ``live_fixture``.
``on_terminal`` runs sessman on a pseudo-terminal.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from support.cli import cli, sessman_argv
from support.fakes import FAKE_SECRET
from support.infra import MotoServer


@pytest.fixture(name="config")
def config_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_text(
        """\
version: 1
defaults: {region: ap-southeast-2}
profiles:
  dev:
    access_key_id: AKIAIOSFODNN7EXAMPLE
    tags: [team]
  ops:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Ops
    tags: [team, prod]
"""
    )
    return path


def on_terminal(args: list[str], answer: bytes, env: dict[str, str]) -> tuple[int, str]:
    """Run ``sessman ARGS`` with a terminal on stdin/stdout/stderr; type ``answer``."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        sessman_argv(*args),
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        start_new_session=True,
    )
    os.close(child)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    # Read until the terminal closes (EIO once the child and its shell are gone).
    while time.monotonic() < deadline:
        if not select.select([main], [], [], 0.5)[0]:
            continue
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"?" in seen:
            os.write(main, answer)
            answered = True
    code = proc.wait(timeout=60)
    os.close(main)
    return code, seen.decode(errors="replace")


@pytest.fixture(name="live")
def live_fixture(tmp_path: Path, moto_server: MotoServer) -> Path:
    path = tmp_path / "live.yaml"
    path.write_text(
        f"""\
version: 1
keyring_service: v2-{tmp_path.name}
defaults: {{region: eu-north-1, endpoint_url: "{moto_server.url}"}}
profiles:
  dev:
    access_key_id: AKIAV2CLIEXAMPLE0001
"""
    )
    stored = cli("secret", "set", "dev", "--stdin", "-c", str(path), input=FAKE_SECRET)
    assert stored.exit_code == 0, stored.stderr
    return path
