"""The code base stays ruff clean (the rules are in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

from credit_warehouse.settings import REPO_ROOT


def test_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", str(REPO_ROOT)],
                            capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
