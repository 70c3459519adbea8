"""Programs the tests run beside sessman (shells, node, the AWS CLI): found, or skipped.

A missing program skips its tests on a developer's machine but fails them
under CI (``CI=true``), where scripts/system-deps.sh has installed it, so a
broken CI image cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest


def need(program: str, installed_by: str = "scripts/system-deps.sh") -> str:
    """The path of ``program``; skip locally (fail under CI) when it is missing."""
    path = shutil.which(program)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{program} is not installed ({installed_by} installs it)")
        pytest.skip(f"{program} is not installed ({installed_by})")
    return path
