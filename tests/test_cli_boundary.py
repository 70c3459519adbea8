"""One error boundary behind both front doors of ``credential-process``.

The typer-free fast path (``sessman.cli.main`` with a plain call) and the
typer application run the same command body in the same boundary
(:func:`sessman.cli.boundary.run`): the same bad input gives the same stderr
and the same exit code, and an unforeseen exception is named by its kind,
never its text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.agent import plant_session, start_agent
from support.cli import assert_error_line, cli
from support.fakes import PASSPHRASE
from support.profiles import EXAMPLE

from sessman.cli import main
from sessman.cli.boundary import UNEXPECTED_HINT, Reported, fail_after, interrupted_means, run
from sessman.errors import ProfileNotFound, SecretNotFound
from sessman.exports import PROCESS_FIELDS, process_document

FIELDS = {
    "AccessKeyId": "ASIAEXAMPLEFIELDS001",
    "SecretAccessKey": "secret-of-the-test",
    "SessionToken": "token-of-the-test",
    "Expiration": "2030-01-01T00:00:00Z",
}


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_bytes(EXAMPLE.read_bytes())
    return path


def fast_door(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``sessman ARGS`` through the console script, which takes the fast path."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    captured = capsys.readouterr()
    code = exited.value.code
    assert isinstance(code, int)
    return code, captured.out, captured.err


def typer_door(args: list[str]) -> tuple[int, str, str]:
    """``sessman ARGS`` through the typer application only."""
    result = cli(*args)
    return result.exit_code, result.stdout, result.stderr


class Boom(RuntimeError):
    pass


def replace_issue(monkeypatch: pytest.MonkeyPatch, body: object) -> None:
    """The one credential-process body, replaced where both doors find it."""
    monkeypatch.setattr("sessman.cli.credproc.issue", body)
    monkeypatch.setattr("sessman.cli.fast.issue", body)


def test_the_fast_path_is_taken(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Control: a plain call does not build the typer application.
    from sessman.cli.fast import credential_process

    assert credential_process(["credential-process", "nope", "--config", str(example)]) == 2
    assert credential_process(["credential-process", "--help"]) is None


@pytest.mark.parametrize("where", ["before", "after"])
def test_an_unknown_profile_reads_the_same_through_both_doors(
    example: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    config = ["--config", str(example)]
    args = ["credential-process", "nope"]
    args = [*config, *args] if where == "before" else [*args, *config]
    fast = fast_door(args, capsys)
    slow = typer_door(args)
    assert fast == slow
    code, out, err = fast
    assert code == ProfileNotFound.exit_code and out == ""
    assert_error_line(err, contains="nope")


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_missing_secret_reads_the_same_through_both_doors(
    example: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    config = ["--config", str(example)]
    args = ["credential-process", "dev"]
    args = [*config, *args] if where == "before" else [*args, *config]
    fast = fast_door(args, capsys)
    assert fast == typer_door(args)
    code, out, err = fast
    assert code == 1 and out == ""
    assert_error_line(err, contains=("no secret", "'dev'"))
    # The hint names the file, so it works when copied.
    assert err.endswith(f"hint: store one with: sessman secret set dev --config {example}\n")


def test_an_unforeseen_error_reads_the_same_through_both_doors(
    example: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> str:
        raise Boom("text that might quote a secret")

    replace_issue(monkeypatch, explode)
    args = ["credential-process", "dev", "--config", str(example)]
    fast = fast_door(args, capsys)
    slow = typer_door(args)
    assert fast == slow
    code, out, err = fast
    assert code == 1 and out == ""
    assert err == (f"sessman: error: unexpected {__name__}.Boom\nhint: {UNEXPECTED_HINT}\n")
    assert "might quote" not in err


def test_ctrl_c_reads_the_same_through_both_doors(
    example: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    replace_issue(monkeypatch, interrupted)
    args = ["credential-process", "dev", "--config", str(example)]
    fast = fast_door(args, capsys)
    assert fast == typer_door(args)
    assert fast == (130, "", "sessman: error: interrupted\n")


def test_debug_lets_the_unforeseen_through_both_doors(
    example: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> str:
        raise Boom("traceback wanted")

    replace_issue(monkeypatch, explode)
    monkeypatch.setenv("SESSMAN_DEBUG", "1")
    args = ["credential-process", "dev", "--config", str(example)]
    with pytest.raises(Boom):
        main(args)
    assert isinstance(cli(*args).exception, Boom)


def test_run_maps_and_passes_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(lambda: None) == 0
    assert run(lambda: 3) == 3

    def missing() -> None:
        raise ProfileNotFound("no profile 'x'", hint="see: sessman list")

    assert run(missing, config=Path("/tmp/p.yaml")) == 2
    assert capsys.readouterr().err == (
        "sessman: error: no profile 'x'\nhint: see: sessman list --config /tmp/p.yaml\n"
    )


def test_interrupted_means_names_what_was_left_undone(capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> None:
        with interrupted_means("interrupted: sso session 'corp' is not signed in"):
            raise KeyboardInterrupt

    assert run(body) == 130
    assert capsys.readouterr().err == (
        "sessman: error: interrupted: sso session 'corp' is not signed in\n"
    )


def test_both_doors_ask_the_agent_first(
    example: Path,
    runtime_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without the passphrase only the agent can hand the session over.
    plant_session("sessman", "dev", PASSPHRASE, example)
    start_agent()
    monkeypatch.delenv("SESSMAN_KEYRING_PASSPHRASE")
    args = ["credential-process", "dev", "--config", str(example)]
    fast = fast_door(args, capsys)
    assert fast == typer_door(args)
    code, out, err = fast
    assert (code, err) == (0, "")
    assert json.loads(out)["AccessKeyId"] == "ASIAPLANTEDEXAMPLE01"


def test_one_builder_of_the_credential_process_document() -> None:
    """Only ``sessman.exports.process_json`` writes the document (``"Version": 1``)."""
    package = Path(__file__).resolve().parent.parent / "sessman"
    builders = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if '"Version": 1' in path.read_text(encoding="utf-8")
    )
    assert builders == ["exports.py"]


def test_fail_after_reports_each_error_once_with_the_worst_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    errors = [
        SecretNotFound("no secret for 'a'", hint="sessman secret set a"),
        ProfileNotFound("no profile 'b'"),
        SecretNotFound("no secret for 'a'", hint="sessman secret set a"),
    ]
    assert run(lambda: fail_after(errors)) == 2
    assert capsys.readouterr().err == (
        "sessman: error: no secret for 'a'\nhint: sessman secret set a\n"
        "sessman: error: no profile 'b'\n"
    )
    assert run(lambda: fail_after([])) == 0


def test_the_errors_of_several_profiles_name_the_config_too(
    capsys: pytest.CaptureFixture[str],
) -> None:
    errors = [SecretNotFound("no secret for 'a'", hint="store one with: sessman secret set a")]
    assert run(lambda: fail_after(errors), config=lambda: Path("/tmp/p.yaml")) == 1
    assert capsys.readouterr().err == (
        "sessman: error: no secret for 'a'\n"
        "hint: store one with: sessman secret set a --config /tmp/p.yaml\n"
    )


def test_a_reported_failure_exits_as_its_kind_and_prints_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(lambda: _raise(Reported(ProfileNotFound))) == 2
    assert run(lambda: _raise(Reported())) == 1
    assert capsys.readouterr().err == ""


def _raise(error: Exception) -> None:
    raise error


def test_no_command_picks_an_exit_code_of_its_own() -> None:
    """Exit codes come from the error classes, through the boundary, never a literal."""
    import re

    commands = Path(__file__).resolve().parents[1] / "sessman" / "cli"
    found = [
        f"{path.name}: {match.group(0)}"
        for path in sorted(commands.glob("*.py"))
        for match in re.finditer(r"typer\.Exit\(\s*\d+\s*\)", path.read_text(encoding="utf-8"))
    ]
    assert found == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"ok": True, "credentials": dict(FIELDS)}, FIELDS),
        ({"ok": True, "document": '{"Version": 1}'}, None),  # an agent of another version
        ({"ok": True, "credentials": {**FIELDS, "Extra": "x"}}, None),
        ({"ok": True, "credentials": {**FIELDS, "SessionToken": 1}}, None),
        ({"ok": True, "credentials": {**FIELDS, "Expiration": ""}}, None),
        ({"ok": True, "credentials": "text"}, None),
        ({"error": "miss"}, None),
    ],
)
def test_the_agent_hands_back_fields_never_a_document(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    answer: dict[str, object],
    expected: dict[str, str] | None,
) -> None:
    from sessman.agent import client, protocol

    socket = tmp_path / "agent.sock"
    socket.touch()
    monkeypatch.setattr(protocol, "socket_path", lambda *a: str(socket))
    monkeypatch.setattr(client, "_quiet_call", lambda request: answer)
    got = client.credential_process(None, "dev", None)
    assert got == expected
    if got is not None:
        assert list(got) == list(PROCESS_FIELDS)
        assert json.loads(process_document(got)) == {"Version": 1, **FIELDS}
