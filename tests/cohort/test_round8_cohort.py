"""Eighth outside round, cohort runs: no input path in what a run keeps."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from cohort_helpers import SMALL, lesion, write_study

from _data import require_data
from radiomix.api import extract_many
from radiomix.cohort import run_study


@pytest.mark.data
def test_failed_cases_keep_no_path_in_records_tables_or_errors(tmp_path):
    """An eighth-round finding: every message of a failed case carried its absolute path
    (the patient's name and record number in the folder) into the case record, the error
    table, ``analysis.json`` and the report; ``extract_many``'s error table too."""
    sts = require_data("sts", "nifti").parent
    phi = tmp_path / "DOE^JANE_MRN-123456"
    shutil.copytree(sts / "nifti" / SMALL[0], phi / "nifti" / SMALL[0])
    row = lesion(SMALL[0])
    image = phi / row["pet_image"]
    image.write_bytes(image.read_bytes()[: image.stat().st_size // 2])  # truncated
    study = write_study(tmp_path / "s", [row], data_root=str(phi))
    result = run_study(study, tmp_path / "out")
    (err,) = result.errors
    assert "<pet image>" in err["message"]
    kept = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert kept
    for path in kept:
        text = path.read_bytes()
        assert b"MRN-123456" not in text, path
        assert b"DOE^JANE" not in text, path
    frame = extract_many(pd.DataFrame(
        [{"image": str(image), "mask": str(image.with_name("mask.nii.gz")), "case_id": "c1"}]),
        errors="record")
    message = frame.attrs["errors"][0]["message"]
    assert "<image>" in message
    assert "MRN-123456" not in message
