"""Which heavy modules (boto3, botocore) a sessman run imports, seen from a fresh interpreter.

``run_sessman`` runs ``sessman ARGS`` in a new Python through ``HARNESS`` and
returns its exit code, its stdout and the modules it loaded: the import-cost
tests (test_imports.py) and the SSO ones (test_sso.py) hold commands to
importing no boto3 where none is needed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from support.cli import python

HEAVY = ("boto3", "botocore")

#: Runs ``sessman ARGS...`` in-process, then writes the exit code and the heavy
#: modules that got imported to the file named by $SESSMAN_T_REPORT.
HARNESS = """
import json, os, runpy, sys
sys.argv = ["sessman", *json.loads(os.environ["SESSMAN_T_ARGS"])]
code = 0
try:
    runpy.run_module("sessman", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))
with open(os.environ["SESSMAN_T_REPORT"], "w") as fh:
    json.dump({"code": code, "heavy": loaded, "sessman": sorted(
        m for m in sys.modules if m.startswith("sessman"))}, fh)
"""


def run_sessman(
    args: list[str], tmp_path: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    report = tmp_path / "report.json"
    proc = python(
        HARNESS,
        env={
            **os.environ,
            "SESSMAN_T_ARGS": json.dumps(args),
            "SESSMAN_T_REPORT": str(report),
            **(env or {}),
        },
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    data: dict[str, Any] = json.loads(report.read_text())
    data["stdout"] = proc.stdout
    return data
