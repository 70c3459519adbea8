"""How ``sessman env`` writes variables for each reader: sh, fish, PowerShell, dotenv.

Every value is quoted so that its reader gets back exactly the characters
sessman meant, whatever they are; a value the dotenv readers cannot all agree
on is refused rather than changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import Enum

from sessman.errors import SessmanError

__all__ = ["Format", "render"]


class Format(str, Enum):
    """Output formats of ``sessman env``."""

    sh = "sh"
    fish = "fish"
    powershell = "powershell"
    dotenv = "dotenv"
    json = "json"


#: A variable name every shell accepts; other names (possible in an
#: environment, impossible in a shell) are never printed.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

#: Characters PowerShell takes as a single quote (U+0027, U+2018-U+201B).
_PS_QUOTES = re.compile("['\u2018\u2019\u201a\u201b]")

#: Values that python-dotenv, Node's ``dotenv``, ``node --env-file`` and
#: docker's ``--env-file`` all read back unchanged when written unquoted.
#: Docker takes quotes literally, so quoting cannot help; everything that any
#: of them treats specially (quotes, ``#``, ``$``, backslash, whitespace,
#: newlines) is outside this set.
_DOTENV_SAFE = re.compile(r"^[A-Za-z0-9_./:+=@%,~?&!*()\[\]{}^|<>;-]*$")


def _sh(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _fish(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _powershell(value: str) -> str:
    return "'" + _PS_QUOTES.sub(lambda m: m.group(0) * 2, value) + "'"


def _dotenv(key: str, value: str) -> str:
    if not _DOTENV_SAFE.match(value):
        raise SessmanError(
            f"the value of {key} cannot be written as dotenv so that every reader"
            " (python-dotenv, Node's dotenv, node --env-file, docker --env-file) reads it back"
            " unchanged; nothing was printed",
            hint="use --format sh or --format json instead",
        )
    return f"{key}={value}"


def render(fmt: Format, values: Mapping[str, str], unset: Sequence[str]) -> str:
    """The text ``sessman env`` prints: ``unset`` removed first, then ``values`` set."""
    gone = [n for n in unset if _NAME.match(n)]
    lines: list[str] = []
    if fmt is Format.sh:
        if gone:
            lines.append("unset " + " ".join(gone))
        lines += [f"export {k}={_sh(v)}" for k, v in values.items()]
    elif fmt is Format.fish:
        lines += [f"set -e {n};" for n in gone]
        lines += [f"set -gx {k} {_fish(v)};" for k, v in values.items()]
    elif fmt is Format.powershell:
        lines += [f"Remove-Item -ErrorAction SilentlyContinue Env:{n}" for n in gone]
        lines += [f"$Env:{k} = {_powershell(v)}" for k, v in values.items()]
    elif fmt is Format.dotenv:
        # A dotenv file cannot unset; it lists exactly the profile's variables.
        lines += [_dotenv(k, v) for k, v in values.items()]
    else:
        import json

        return json.dumps(dict(values), indent=2) + "\n"
    return "".join(line + "\n" for line in lines)
