"""The fuzz targets (atheris) run for a bounded time: the content loader and the page importer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import missing_tool

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 20


def test_fuzz_targets_find_no_crash() -> None:
    try:
        import atheris  # noqa: F401
    except ImportError:
        missing_tool("atheris is not installed (pip install -e '.[test]')")
    result = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "run.py"), str(SECONDS)],
        capture_output=True,
        text=True,
        timeout=SECONDS * 10,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    assert result.stdout.count(": ok,") == 2
