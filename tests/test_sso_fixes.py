"""IAM Identity Center (SPEC 10.2): what a new user's test run found (fix-17).

Against tests/ssofake.py, like tests/test_sso.py, whose helpers are reused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ssofake import SsoFake
from test_sso import login, setup  # noqa: F401 - the fixture is used by name

ROLES = ["Developer", "Reader", "Auditor", "Operator"]


def _add_profiles(path: Path, names: list[str]) -> None:
    text = path.read_text().replace("# trailing comment\n", "")
    for role in names:
        text += (
            f"  p{role}:\n    sso_session: corp\n"
            f'    sso_account_id: "111111111111"\n    sso_role_name: {role}\n'
        )
    path.write_text(text)


def test_parallel_credential_processes_refresh_the_token_once(setup: SsoFake) -> None:  # noqa: F811
    """Four processes at once with a near-expiry token and rotating refresh tokens."""
    setup.assignments = {"111111111111": ("Development", ROLES)}
    _add_profiles(Path(os.environ["SESSMAN_CONFIG"]), ROLES)
    setup.token_lifetime = 30  # under a minute: refreshed or refused, never handed out
    login()
    logins = len(setup.paths("/token"))
    setup.token_lifetime = 3600  # the refreshed token is good: one refresh is enough
    setup.rotate_refresh_tokens = True
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sessman", "credential-process", f"p{role}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in ROLES
    ]
    results = [(p, *p.communicate(timeout=120)) for p in procs]
    for proc, out, err in results:
        assert proc.returncode == 0, err
        assert json.loads(out)["Version"] == 1
    assert setup.refreshes == 1
    assert len(setup.paths("/token")) - logins == 1  # one POST /token, not one per process
