"""Bad inputs of the report and its figures raise typed errors with clear messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from radiomix.errors import EmptyRoiError, InputError
from radiomix.report import write_report
from radiomix.report.figures import largest_slice, qc_thumbnail


def test_missing_analysis(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"analysis\.json not found.*radiomix demo"):
        write_report(tmp_path)


def test_unreadable_analysis(tmp_path: Path) -> None:
    (tmp_path / "analysis.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not readable JSON"):
        write_report(tmp_path)


def test_other_schema(tmp_path: Path) -> None:
    (tmp_path / "analysis.json").write_text(json.dumps({"schema": "x/9"}), encoding="utf-8")
    with pytest.raises(InputError, match=r"schema 'x/9'; expected 'radiomix\.analysis/1'"):
        write_report(tmp_path)


def test_empty_mask_thumbnail() -> None:
    with pytest.raises(EmptyRoiError, match="no ROI voxel"):
        qc_thumbnail(np.zeros((2, 4, 4)), np.zeros((2, 4, 4), bool), (1.0, 1.0, 1.0))


def test_shape_mismatch_thumbnail() -> None:
    with pytest.raises(InputError, match=r"differ in shape"):
        qc_thumbnail(np.zeros((2, 4, 4)), np.ones((2, 4, 5), bool), (1.0, 1.0, 1.0))


def test_largest_slice_needs_3d() -> None:
    with pytest.raises(InputError, match=r"\(Z, Y, X\)"):
        largest_slice(np.ones((4, 4), bool))
