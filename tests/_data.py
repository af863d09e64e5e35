"""Reference data beside the checkout (../shared/data) for the tests.

Tests reach it through :func:`require_data` (or the ``shared_data`` fixture of conftest.py):
they skip with the reason when the folder is absent, and fail instead when
``RADIOMIX_REQUIRE_DATA=1`` (set by ``.ci/run``), so CI can never pass by skipping them.
(A module of its own, not conftest.py: tests/report has a conftest.py too, and
``from _data import ...`` would then depend on sys.path order.)
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


def read_reference_rows(dataset: str, family_code: str | None = None) -> list[dict[str, str]]:
    """Rows of ibsi1/reference_values.csv for one data set (and optionally one family)."""
    import csv

    path = require_data("ibsi1", "reference_values.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        r
        for r in rows
        if r["dataset"] == dataset and (family_code is None or r["family_code"] == family_code)
    ]
