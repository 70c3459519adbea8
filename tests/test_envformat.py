"""``sessman env`` formats, read back by the real shells and dotenv readers.

Hostile values (quotes of every kind, ``$(...)``, backticks, backslashes,
newlines, ``#``) go through :func:`sessman.cli.envformat.render` and are
evaluated by bash, dash, zsh and fish; each must give back exactly the value,
and run nothing. Dotenv output is read by python-dotenv, Node's ``dotenv`` and
``node --env-file``; what they cannot all read the same is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support.programs import need

from sessman.cli.envformat import Format, render
from sessman.errors import SessmanError

JS = Path(__file__).parent / "js"

HOSTILE = [
    "plain",
    "it's",
    "a'b''c'''",
    "$(touch PWNED)",
    "`touch PWNED`",
    "${HOME} $HOME",
    'dq"dq\\"',
    "back\\slash\\\\",
    "line\nbreak\n",
    "# not a comment",
    "semi;colon && true | false",
    "tab\there",
    "unicode ‘curly’ ‚low‛ é ∑",
    "!history !! \\!",
    "glob * ? [a]",
    " leading and trailing ",
    "",
]


def values() -> dict[str, str]:
    return {f"SESSMAN_T_{i}": v for i, v in enumerate(HOSTILE)}


#: Print each variable as JSON, so newlines and spaces survive the trip back.
_DUMP = "import json, os, sys; print(json.dumps({k: os.environ.get(k) for k in sys.argv[1:]}))"


@pytest.mark.parametrize(
    ("sh", "fmt"),
    [("bash", Format.sh), ("dash", Format.sh), ("zsh", Format.sh), ("fish", Format.fish)],
)
def test_every_shell_reads_back_exactly_the_value(sh: str, fmt: Format, tmp_path: Path) -> None:
    import sys

    program = need(sh)
    script = tmp_path / "vars"
    wanted = values()
    script.write_text(render(fmt, wanted, ["SESSMAN_T_GONE"]))
    dump = f"{sys.executable} -c '{_DUMP}' SESSMAN_T_GONE {' '.join(wanted)}"
    line = f"source {script}; {dump}" if sh == "fish" else f'eval "$(cat {script})"; {dump}'
    env = {**os.environ, "SESSMAN_T_GONE": "stray"}
    done = subprocess.run(
        [program, "-c", line],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"SESSMAN_T_GONE": None, **wanted}
    assert not (tmp_path / "PWNED").exists()


def test_powershell_doubles_every_single_quote_character() -> None:
    text = render(Format.powershell, {"A": "x'y\u2018z\u2019w\u201a\u201bv"}, ["AWS_PROFILE"])
    assert text.splitlines() == [
        "Remove-Item -ErrorAction SilentlyContinue Env:AWS_PROFILE",
        "$Env:A = 'x''y\u2018\u2018z\u2019\u2019w\u201a\u201a\u201b\u201bv'",
    ]


def test_names_no_shell_accepts_are_never_printed() -> None:
    text = render(Format.sh, {"A": "1"}, ["AWS_X;touch PWNED", "AWS_OK"])
    assert text == "unset AWS_OK\nexport A='1'\n"


# -- dotenv -------------------------------------------------------------------------

SAFE = {
    "AWS_ACCESS_KEY_ID": "ASIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCY+EXAMPLE==",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH+/=",
    "AWS_CREDENTIAL_EXPIRATION": "2026-12-02T07:00:00Z",
    "AWS_ENDPOINT_URL": "https://user@host.example:8443/p/a,t;h?q=1&r=[2]{3}!*~%20",
    "SESSMAN_PROFILE": "prod-admin.eu_1",
}


def node_reads(tmp_path: Path, dotenv: Path) -> dict[str, dict[str, str]]:
    node = need("node")
    if not (JS / "node_modules" / "dotenv").is_dir():
        pytest.skip("tests/js is not installed (make js-deps)")
    keys = json.dumps(list(SAFE))
    code = (
        f"const keys = {keys};"
        "const parsed = require('dotenv').parse(require('fs').readFileSync(process.argv[1]));"
        "const native = Object.fromEntries(keys.map(k => [k, process.env[k]]));"
        "const fromPkg = Object.fromEntries(keys.map(k => [k, parsed[k]]));"
        "console.log(JSON.stringify({native, dotenv: fromPkg}));"
    )
    done = subprocess.run(
        [node, f"--env-file={dotenv}", "-e", code, str(dotenv)],
        capture_output=True,
        text=True,
        cwd=JS,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, dict[str, str]] = json.loads(done.stdout)
    return result


def test_dotenv_is_read_back_identically_by_every_reader(tmp_path: Path) -> None:
    from dotenv import dotenv_values

    dotenv = tmp_path / "aws.env"
    dotenv.write_text(render(Format.dotenv, SAFE, ["AWS_PROFILE"]))
    assert "AWS_PROFILE" not in dotenv.read_text()  # a dotenv file cannot unset
    assert dict(dotenv_values(dotenv)) == SAFE
    read = node_reads(tmp_path, dotenv)
    assert read["native"] == SAFE  # node --env-file
    assert read["dotenv"] == SAFE  # the dotenv package
    # docker --env-file takes each line after the first "=" literally.
    docker = dict(line.split("=", 1) for line in dotenv.read_text().splitlines())
    assert docker == SAFE


@pytest.mark.parametrize("value", [v for v in HOSTILE if v and v != "plain"])
def test_dotenv_refuses_what_the_readers_would_change(value: str) -> None:
    with pytest.raises(SessmanError) as caught:
        render(Format.dotenv, {"AWS_ENDPOINT_URL": value}, [])
    assert caught.value.exit_code == 1
    assert "AWS_ENDPOINT_URL" in caught.value.message
    assert value not in caught.value.message
