"""Fixtures of the report tests: the quick demo on the sarcoma cohort, a headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="session")
def quick_demo(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Results folder of the quick demo (12 patients, random ResNet weights)."""
    from radiomix.demo import run_demo

    out = tmp_path_factory.mktemp("quick_demo")
    run_demo(out, data_dir=shared_data, quick=True, jobs=1)
    return out


def _find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a headless-capable Chromium; installed by ensure_chromium.sh when missing.

    Skips when no browser can be had, unless RADIOMIX_REQUIRE_DATA=1 (CI), where that is a
    failure.
    """
    path = _find_browser()
    if path is None:
        proc = subprocess.run(["bash", str(HERE / "ensure_chromium.sh")], capture_output=True,
                              text=True, timeout=900, check=False)
        path = _find_browser()
        if path is None:
            msg = ("no headless Chromium and tests/report/ensure_chromium.sh could not install "
                   f"one: {proc.stderr.strip() or proc.stdout.strip()}")
            if os.environ.get("RADIOMIX_REQUIRE_DATA") == "1":
                pytest.fail(msg + " (RADIOMIX_REQUIRE_DATA=1 makes this a failure)")
            pytest.skip(msg)
    return path
