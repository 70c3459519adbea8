"""Heavy modules stay unloaded where they are not needed, and importing has no effects.

``--help``, ``list``, ``show`` and ``schema`` never import boto3 or botocore;
``import sessman`` creates no files (no import-time state). Each check runs in a fresh interpreter, as a user's shell would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.agent import env_without_passphrase, plant_session, start_agent
from support.cli import python, sessman
from support.fakes import PASSPHRASE
from support.heavy import HARNESS, HEAVY, run_sessman
from support.profiles import EXAMPLE


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_bytes(EXAMPLE.read_bytes())
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["list"],
        ["list", "--json"],
        ["list", "--tag", "prod"],
        ["show", "dev"],
        ["show", "prod-admin", "--json"],
        ["schema"],
    ],
    ids=" ".join,
)
def test_light_commands_do_not_import_boto3(args: list[str], example: Path, tmp_path: Path) -> None:
    argv = args if args[0].startswith("--") else ["--config", str(example), *args]
    report = run_sessman(argv, tmp_path)
    assert report["code"] == 0
    assert report["stdout"].strip()  # the command did its work
    assert report["heavy"] == []


@pytest.mark.parametrize(
    ("shell", "words", "expected"),
    [
        ("bash", "sessman show d", "dev"),
        ("bash", "sessman exec ", "dev"),
        ("bash", "sessman check --tag ", "sandbox"),
        ("zsh", "sessman open ", "dev"),
        ("fish", "sessman env ", "dev"),
    ],
)
def test_completion_does_not_import_boto3(
    shell: str, words: str, expected: str, example: Path, tmp_path: Path
) -> None:
    env = {
        "SESSMAN_CONFIG": str(example),
        "_SESSMAN_COMPLETE": f"complete_{shell}",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
        "_TYPER_COMPLETE_ARGS": words,
        "_TYPER_COMPLETE_FISH_ACTION": "get-args",
    }
    report = run_sessman([], tmp_path, env)
    assert report["code"] == 0
    assert expected in report["stdout"]  # it completed profile names (or tags)
    assert report["heavy"] == []


def test_the_harness_sees_boto3_when_it_is_imported(tmp_path: Path) -> None:
    # Control: a path that builds a session does import botocore, and the harness notices.
    report = tmp_path / "r.json"
    code = HARNESS.replace(
        'runpy.run_module("sessman", run_name="__main__", alter_sys=True)',
        "from sessman._botocore import shared_loader; shared_loader()",
    )
    proc = python(code, env={**os.environ, "SESSMAN_T_ARGS": "[]", "SESSMAN_T_REPORT": str(report)})
    assert proc.returncode == 0, proc.stderr
    assert {"boto3", "botocore"} <= set(json.loads(report.read_text())["heavy"])


def test_importing_the_cli_app_does_not_import_boto3() -> None:
    proc = python(
        "import sys, sessman.cli.app, sessman.config, sessman.fileformat\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[]\n"


def test_importtime_of_list_shows_no_boto3(example: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sessman", "--config", str(example), "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    imported = [
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    ]
    assert "sessman.config" in imported  # the log is really there
    assert "yaml" in imported
    assert [m for m in imported if m.split(".")[0] in HEAVY] == []


def test_import_sessman_has_no_side_effects(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    home, state, cwd = root / "home", root / "state", root / "cwd"
    for folder in (home, state, cwd):
        folder.mkdir(parents=True)
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "SESSMAN_STATE_DIR": str(state),
        "SESSMAN_KEYRING_FILE": str(root / "keyring.enc"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    proc = python(
        "import sessman\n"
        "import sessman.config, sessman.errors, sessman.fileformat, sessman.locations\n"
        "import sessman.secretstore, sessman.state, sessman.manager, sessman.cli.app\n"
        "print(sessman.__version__)",
        env={**os.environ, **env},
        cwd=cwd,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == __import__("sessman").__version__
    assert proc.stderr == ""
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == ["cwd", "home", "state"]


def test_credential_process_through_the_agent_imports_no_keyring(
    example: Path, tmp_path: Path, runtime_dir: Path
) -> None:
    # With the agent running, neither keyring nor cryptography (nor boto3).
    plant_session("sessman", "dev", PASSPHRASE, example)
    start_agent()
    report = tmp_path / "report.json"
    watched = ("boto3", "botocore", "keyring", "cryptography", "pydantic", "yaml", "typer")
    harness = HARNESS.replace('("boto3", "botocore")', repr(watched))
    args = ["credential-process", "dev", "--config", str(example)]
    env = {"SESSMAN_T_ARGS": json.dumps(args), "SESSMAN_T_REPORT": str(report)}
    proc = python(harness, env={**env_without_passphrase(), **env})
    data = json.loads(report.read_text())
    assert data["code"] == 0, proc.stderr
    assert json.loads(proc.stdout)["AccessKeyId"] == "ASIAPLANTEDEXAMPLE01"
    assert "sessman.agent.client" in data["sessman"]  # it went through the agent
    assert data["heavy"] == []
    # Control: after `agent lock` the same call cannot use the agent, and fails cleanly.
    assert sessman("agent", "lock").returncode == 0
    locked = python(harness, env={**env_without_passphrase(), **env})
    assert json.loads(report.read_text())["code"] == 1, locked.stderr
    assert locked.stdout == ""
