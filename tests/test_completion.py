"""Shell completion, in the real shells: profile names for NAME arguments, tags for --tag.

Each shell gets the script ``sessman --show-completion`` prints when run
from that shell, then completes a command line: bash through its completion
function, fish through ``complete -C``, zsh through a real interactive zsh
on a pseudo-terminal (``zpty``), pressing Tab.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.programs import need

BIN = Path(sys.executable).parent

PROFILES = """\
version: 1
defaults: {region: eu-west-1}
profiles:
  organization-admin:
    access_key_id: AKIAIOSFODNN7EXAMPLE
    tags: [prod, org]
  dev:
    access_key_id: AKIAI44QH8DHBEXAMPLE
    tags: [sandbox]
  devops:
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/Ops
sso_sessions:
  corp: {start_url: "https://corp.awsapps.com/start", region: eu-west-1}
  lab: {start_url: "https://lab.awsapps.com/start", region: eu-west-1}
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "profiles.yaml"
    config.write_text(PROFILES)
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "SESSMAN_CONFIG": str(config),
    }


def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> str:
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def script_from(shell: str, env: dict[str, str], tmp_path: Path) -> Path:
    """What ``sessman --show-completion`` prints when a ``shell`` runs it."""
    program = need(shell)
    # "; true" keeps the shell as sessman's parent (no exec of a last command).
    text = run([program, "-c", "sessman --show-completion; true"], env)
    path = tmp_path / f"completion.{shell}"
    path.write_text(text)
    return path


BASH_CASES = [
    ("sessman show ", ["organization-admin", "dev", "devops"]),
    ("sessman exec de", ["dev", "devops"]),
    ("sessman env org", ["organization-admin"]),
    ("sessman open dev ", ["organization-admin", "devops"]),  # names already given go
    ("sessman list --tag ", ["org", "prod", "sandbox"]),
    ("sessman check -t s", ["sandbox"]),
    ("sessman secret set d", ["dev", "devops"]),
    ("sessman credential-process o", ["organization-admin"]),
    ("sessman console dev", ["dev", "devops"]),
    ("sessman rotate org", ["organization-admin"]),
    ("sessman serve devo", ["devops"]),
    ("sessman generate organization o", ["organization-admin"]),
    ("sessman sso login ", ["corp", "lab"]),
    ("sessman sso populate l", ["lab"]),
]


@pytest.mark.slow  # real processes: left out of make unit
def test_bash(env: dict[str, str], tmp_path: Path) -> None:
    script = script_from("bash", env, tmp_path)
    assert "complete " in script.read_text()
    lines = []
    for line, _ in BASH_CASES:
        words = line.split(" ")
        lines.append(
            f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
            '_sessman_completion sessman; echo "${COMPREPLY[*]}"'
        )
    out = run(["bash", "-c", f"source {script}\n" + "\n".join(lines)], env)
    assert [sorted(o.split()) for o in out.splitlines()] == [sorted(w) for _, w in BASH_CASES]


def test_completion_reads_the_config_option_in_either_position(
    env: dict[str, str], tmp_path: Path
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("version: 1\nprofiles:\n  elsewhere: {region: eu-west-1, aws_profile: x}\n")
    for words in (
        ["sessman", "--config", str(other), "show", ""],
        ["sessman", "show", "--config", str(other), ""],
    ):
        out = run(
            [str(BIN / "sessman")],
            {
                **env,
                "COMP_WORDS": " ".join(words),
                "COMP_CWORD": str(len(words) - 1),
                "_SESSMAN_COMPLETE": "complete_bash",
            },
        )
        assert out.split() == ["elsewhere"]


@pytest.mark.slow  # real processes: left out of make unit
def test_fish(env: dict[str, str], tmp_path: Path) -> None:
    script = script_from("fish", env, tmp_path)
    commands = "; ".join(f'complete -C"{line}"; echo ---' for line, _ in BASH_CASES)
    out = run([need("fish"), "-c", f"source {script}; {commands}"], env)
    blocks = out.split("---\n")[: len(BASH_CASES)]
    got = [sorted(b.split("\t")[0] for b in block.splitlines()) for block in blocks]
    assert got == [sorted(w) for _, w in BASH_CASES]


ZSH_DRIVER = r"""
zmodload zsh/zpty
zpty -b z zsh -f -i
zpty -w z 'PS1="P> "; autoload -U compinit; compinit -u; source {script}'
zpty -w -n z $'sessman show organ\t'
zpty -r -m z out '*organization-admin*'
zpty -w -n z $'\x15sessman list --tag sand\t'
zpty -r -m z out2 '*sandbox*'
print -r -- ok
zpty -d z
"""


@pytest.mark.slow  # real processes: left out of make unit
def test_zsh(env: dict[str, str], tmp_path: Path) -> None:
    zsh = need("zsh")
    script = script_from("zsh", env, tmp_path)
    assert script.read_text().startswith("#compdef sessman")
    driver = tmp_path / "drive.zsh"
    driver.write_text(ZSH_DRIVER.replace("{script}", str(script)))
    # zpty -m waits for the completed word: a timeout here means it never came.
    out = run([zsh, "-f", str(driver)], {**env, "TERM": "dumb"}, timeout=60)
    assert out.strip().endswith("ok")


def test_a_broken_profiles_file_completes_to_nothing(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nprofiles: [")
    done = subprocess.run(
        [str(BIN / "sessman")],
        env={
            **env,
            "SESSMAN_CONFIG": str(broken),
            "COMP_WORDS": "sessman show ",
            "COMP_CWORD": "2",
            "_SESSMAN_COMPLETE": "complete_bash",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == "" and done.stderr == ""
