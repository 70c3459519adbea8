"""The command line's secret guards: the guards of ``secret set`` and ``secret delete``, ``--json``.

``secret set`` refuses an access key id, ``secret delete`` asks on a terminal
(never on stdout), and ``secret``, ``init`` and ``import`` report in ``--json``.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest
from support.cli import assert_error_line, cli, sessman_argv
from support.cli_files import (
    config_fixture,  # noqa: F401
    on_terminal,
)
from support.fakes import FAKE_SECRET

# -- secrets ----------------------------------------------------------------------


@pytest.mark.parametrize("pasted", ["AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE"])
def test_secret_set_refuses_an_access_key_id(pasted: str, config: Path) -> None:
    result = cli("secret", "set", "dev", "--stdin", "--config", str(config), input=pasted + "\n")
    assert result.exit_code == 2
    assert_error_line(result, contains="access key id")
    assert "hint:" in result.stderr
    listed = json.loads(cli("list", "--json", "--config", str(config)).stdout)
    assert listed[0]["secret"] == "missing"


def test_secret_json(config: Path) -> None:
    stored = cli(
        "secret", "set", "dev", "--stdin", "--json", "--config", str(config), input=FAKE_SECRET
    )
    assert stored.exit_code == 0, stored.stderr
    data = json.loads(stored.stdout)
    assert data["name"] == "dev" and data["stored"] is True and data["backend"]
    assert FAKE_SECRET not in stored.stdout
    deleted = cli("secret", "delete", "dev", "--json", "--config", str(config))
    assert json.loads(deleted.stdout) == {"name": "dev", "deleted": True}
    again = cli("secret", "delete", "dev", "--json", "--config", str(config))
    assert json.loads(again.stdout) == {"name": "dev", "deleted": False}


def test_secret_delete_asks_on_a_terminal(config: Path) -> None:
    env = dict(os.environ)
    stored = cli("secret", "set", "dev", "--stdin", "--config", str(config), input=FAKE_SECRET)
    assert stored.exit_code == 0
    code, text = on_terminal(["secret", "delete", "dev", "--config", str(config)], b"n\n", env)
    assert code == 1 and "Delete the secret of 'dev'" in text and "nothing was deleted" in text
    assert json.loads(cli("list", "--json", "-c", str(config)).stdout)[0]["secret"] == "stored"
    code, text = on_terminal(["secret", "delete", "dev", "--config", str(config)], b"y\n", env)
    assert code == 0, text
    assert json.loads(cli("list", "--json", "-c", str(config)).stdout)[0]["secret"] == "missing"
    cli("secret", "set", "dev", "--stdin", "--config", str(config), input=FAKE_SECRET)
    code, text = on_terminal(["secret", "delete", "dev", "--yes", "-c", str(config)], b"", env)
    assert code == 0 and "?" not in text


def test_the_delete_question_never_goes_to_stdout(config: Path) -> None:
    stored = cli("secret", "set", "dev", "--stdin", "--config", str(config), input=FAKE_SECRET)
    assert stored.exit_code == 0
    main, child = pty.openpty()
    proc = subprocess.Popen(
        sessman_argv("secret", "delete", "dev", "--json", "-c", str(config)),
        stdin=child,
        stdout=subprocess.PIPE,
        stderr=child,
        start_new_session=True,
    )
    os.close(child)
    seen = b""
    deadline = time.monotonic() + 60
    while b"?" not in seen and time.monotonic() < deadline:
        if select.select([main], [], [], 0.5)[0]:
            seen += os.read(main, 4096)
    os.write(main, b"y\n")
    out, _ = proc.communicate(timeout=60)
    os.close(main)
    assert proc.returncode == 0
    assert b"Delete the secret of 'dev'" in seen
    assert out.startswith(b"{"), out
    assert json.loads(out) == {"name": "dev", "deleted": True}


# -- init and import --------------------------------------------------------------


def test_init_json_and_the_next_step_names_the_file(tmp_path: Path) -> None:
    target = tmp_path / "p.yaml"
    result = cli("init", str(target), "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["path"] == str(target)
    assert data["next"] == f"sessman secret set default --config {target}"
    text = cli("init", str(tmp_path / "q.yaml"))
    assert f"--config {tmp_path / 'q.yaml'}" in text.stdout


def test_import_json(config: Path, tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f"AWS_ACCESS_KEY_ID=AKIAIMPORTEXAMPLE001\nAWS_SECRET_ACCESS_KEY={FAKE_SECRET}\n"
    )
    result = cli(
        "import", "dotenv", str(dotenv), "--profile", "fromenv", "--json", "-c", str(config)
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["imported"] == [
        {"name": "fromenv", "kind": "keys", "access_key_id": "AKIA…E001", "region": None}
    ]
    assert FAKE_SECRET not in result.stdout
