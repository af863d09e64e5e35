"""Shared fixtures: the reference data folder ../shared/data beside the checkout.

Tests that need it use the ``shared_data`` fixture (or :func:`require_data`). They skip with
the reason when the folder is absent, and fail instead when ``RADIOMIX_REQUIRE_DATA=1``
(set by ``.ci/run``), so CI can never pass by skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA_DIR = Path(
    os.environ.get("RADIOMIX_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)


def require_data(*parts: str) -> Path:
    """Return ``DATA_DIR / parts``; skip (or fail under RADIOMIX_REQUIRE_DATA=1) if absent."""
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        msg = f"reference data not found: {path} (the ../shared/data folder beside the checkout)"
        if os.environ.get("RADIOMIX_REQUIRE_DATA") == "1":
            pytest.fail(msg + "; RADIOMIX_REQUIRE_DATA=1 makes this a failure")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The ../shared/data folder (skips or fails when absent, see module docstring)."""
    return require_data()
