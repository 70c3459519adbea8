"""Shared fixtures: real servers, keyrings and fakes from tests/support/, and a clean environment.

Every test runs with no AWS_* variables and the AWS config files pointed at
an empty temp dir, its own state dir and file keyring, so no test can touch a
real account, the user's keyring or the user's files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from support.agent import runtime_dir  # noqa: F401
from support.fakes import PASSPHRASE
from support.infra import (  # noqa: F401
    hanging_endpoint,
    moto_auth_server,
    moto_server,
    own_moto_server,
    secret_service,
)
from support.proxies import recorder  # noqa: F401
from support.sso import populated, setup  # noqa: F401
from support.ssofake import sso_fake  # noqa: F401
from support.testing import untouched  # noqa: F401

# Property tests are derandomized (the same examples on every run, so a green
# build stays green until the code changes) and have no deadline (a busy
# machine is not a bug); the example database is not kept between runs.
settings.register_profile("sessman", derandomize=True, deadline=None, database=None)
settings.load_profile("sessman")


def pytest_configure(config: pytest.Config) -> None:
    """Let the Ctrl-C tests' children see SIGINT, however the suite was started.

    A shell without job control starts a background command (``make test &``
    in a script) with SIGINT ignored; every child inherits that, and Python
    then installs no KeyboardInterrupt handler, so a test that interrupts
    ``sessman`` waits for it in vain. Runs in each xdist worker too.
    """
    import signal

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Isolate each test from the user's AWS setup, keyring and files."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "SESSMAN_")) or name == "PYTHON_KEYRING_BACKEND":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("SESSMAN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("SESSMAN_KEYRING_FILE", str(tmp_path / "keyring.enc"))
    monkeypatch.setenv("SESSMAN_KEYRING_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "sessman.filekeyring.EncryptedFileKeyring")
    # Never the user's sessman agent: without a runtime dir its socket is in the state dir.
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    # Never a prompt on the terminal of whoever runs the tests (prompts use /dev/tty).
    monkeypatch.setattr("sessman.prompts._open_terminal", lambda: None)
    monkeypatch.chdir(tmp_path)
    yield home


@pytest.fixture
def umask_000() -> Iterator[None]:
    """No umask for the test: whatever sessman creates has exactly the mode it asks for."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


#: Fixtures that start a server or a daemon: a test that uses one (directly or
#: through another fixture) is not a unit test, and ``make unit`` leaves it out.
SERVER_FIXTURES = frozenset(
    {
        "moto_server",
        "own_moto_server",
        "moto_auth_server",
        "hanging_endpoint",
        "secret_service",
        "runtime_dir",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a server ``server``, so ``-m "not server"`` selects unit tests."""
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)
