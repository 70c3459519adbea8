"""Sessions built by sessman see botocore's handlers as plain botocore sessions do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


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
