"""Round 23, ``radiomix extract-many`` (F5, F6): a failed case names the line of the cases
CSV its row starts on (the header is line 1), in the console and in ``errors.csv`` (a case
numbered by its row, ``0`` …, or ``mask not found: <mask>`` did not say which row to fix);
the time of each progress line is labelled as the run's elapsed time."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from _data import require_data
from radiomix.cli import app

runner = CliRunner()


@pytest.fixture
def cases_dir(tmp_path):
    folder = require_data("ibsi1", "digital_phantom")
    for name in ("image.nii.gz", "mask.nii.gz"):
        shutil.copy(folder / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(("header", "ids"), [("image,mask", ("", "", "")),
                                             ("case_id,image,mask", ("A,", "B,", "C,"))])
def test_a_failed_case_names_its_csv_line(cases_dir, header, ids):
    text = (f"{header}\n{ids[0]}image.nii.gz,mask.nii.gz\n\n"  # a blank line counts
            f"{ids[1]}image.nii.gz,nomask.nii.gz\n{ids[2]}image.nii.gz,mask.nii.gz\n")
    (cases_dir / "cases.csv").write_text(text, encoding="utf-8")
    out = cases_dir / "out"
    res = runner.invoke(app, ["extract-many", str(cases_dir / "cases.csv"), "--out", str(out),
                              "--preset", "ibsi-digital"])
    assert res.exit_code == 1, res.output
    case = "B" if ids[1] else "1"
    assert (f"failed {case} (InputNotFoundError): mask not found: <mask> (cases.csv, line 4)"
            in res.output)
    errors = pd.read_csv(out / "errors.csv", dtype=str)
    assert list(errors.columns) == ["case_id", "line", "error_type", "message"]
    assert errors.loc[0, ["case_id", "line"]].tolist() == [case, "4"]
    assert "[2/3] " + case + " error (" in res.output
    assert " s elapsed)" in res.output
