"""Sessions built by sessman see botocore's handlers as plain botocore sessions do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support._botocore import core_of


def test_mock_aws_imported_after_a_session_was_built(tmp_path: Path) -> None:
    # moto adds its handler to botocore's built-in list when it is imported;
    # a session built afterwards must be mocked, not sent to AWS.
    code = """
from sessman.testing import make_manager
P = {"hub": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "region": "us-east-1"}}
make_manager(P, {"hub": "x" * 40}).session("hub")
from moto import mock_aws
with mock_aws():
    print(make_manager(P, {"hub": "x" * 40}).whoami("hub").account)
"""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "c")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "123456789012"


def test_sessions_get_credentials_from_a_botocore_credential_provider() -> None:
    # botocore's own extension point: a CredentialProvider subclass whose
    # canonical name starts with "custom", named in the credentials it loads.
    from botocore.credentials import CredentialProvider

    from sessman._botocore import PROVIDER_NAME
    from sessman.testing import make_manager

    manager = make_manager(
        {"hub": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "region": "us-east-1"}},
        {"hub": "x" * 40},
    )
    with manager:
        session = manager.session("hub")
        resolver = core_of(session).get_component("credential_provider")
        provider = resolver.get_provider(PROVIDER_NAME)
        assert isinstance(provider, CredentialProvider)
        assert provider.METHOD == provider.CANONICAL_NAME == "custom-sessman"
        assert [p.METHOD for p in resolver.providers] == ["custom-sessman"]
        creds = session.get_credentials()
        assert creds.method == "custom-sessman"
        assert creds.access_key == "AKIAIOSFODNN7EXAMPLE"


def test_importing_the_glue_does_not_import_botocore() -> None:
    code = "import sys, sessman._botocore; print('botocore' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
