"""The public API is curated: one sorted ``__all__``, every name importable, nothing heavy."""

from __future__ import annotations

import subprocess
import sys

import sessman


def test_all_is_sorted_and_complete() -> None:
    assert sessman.__all__ == sorted(sessman.__all__)
    for name in sessman.__all__:
        assert getattr(sessman, name) is not None
    public = {n for n in dir(sessman) if not n.startswith("_")}
    assert public <= set(sessman.__all__)


def test_unknown_attribute() -> None:
    try:
        sessman.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_errors_carry_exit_codes() -> None:
    assert sessman.SessmanError("x").exit_code == 1
    assert sessman.ConfigError("x").exit_code == 2
    assert sessman.ProfileNotFound("x").exit_code == 2
    assert sessman.UsageError("x").exit_code == 2
    for name in (
        "SecretNotFound",
        "KeyringUnavailable",
        "AuthenticationFailed",
        "EndpointUnreachable",
    ):
        error = getattr(sessman, name)("x", hint="do y")
        assert isinstance(error, sessman.SessmanError)
        assert (error.exit_code, str(error), error.hint) == (1, "x", "do y")


def test_importing_sessman_is_light() -> None:
    code = (
        "import sys, sessman, sessman.pytest_plugin\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'keyring', 'yaml', 'typer', 'rich') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
