"""``radiomix extract-many`` and ``radiomix --version``.

Oracles: the Python API's single-case extraction for the same files (the table must hold
the same values), the installed package metadata for the version, and a pseudo-terminal
for the progress bar (rich draws it only on a terminal).
"""

from __future__ import annotations

import shutil
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import radiomix
from _data import require_data
from _pty import RADIOMIX, run_in_pty
from radiomix.cli import app
from radiomix.table import read_provenance

runner = CliRunner()


@pytest.fixture
def cases_dir(tmp_path):
    folder = require_data("ibsi1", "digital_phantom")
    for name in ("image.nii.gz", "mask.nii.gz"):
        shutil.copy(folder / name, tmp_path / name)
    return tmp_path


def _csv(folder: Path, text: str) -> Path:
    path = folder / "cases.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_version_option():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0
    assert res.output.strip() == f"radiomix {version('radiomix')}"


def test_extract_many_writes_features_and_errors(cases_dir):
    cases = _csv(
        cases_dir,
        "case_id,image,mask,label\n"
        "A,image.nii.gz,mask.nii.gz,\n"
        "B,image.nii.gz,nomask.nii.gz,\n"
        "C,image.nii.gz,mask.nii.gz,1\n",
    )
    out = cases_dir / "out"
    res = runner.invoke(
        app, ["extract-many", str(cases), "--out", str(out), "--preset", "ibsi-digital"]
    )
    assert res.exit_code == 1, res.output
    assert "failed B (InputNotFoundError): mask not found" in res.output
    assert "2 of 3 cases written" in res.output
    assert res.output.count("mask not found") == 1  # each failure reported once
    table = pd.read_parquet(out / "features.parquet")
    assert list(table["case_id"]) == ["A", "C"]
    single = radiomix.extract(
        cases_dir / "image.nii.gz", cases_dir / "mask.nii.gz", settings="ibsi-digital"
    )
    feats = [c for c in single.columns if c.startswith("image.")]
    np.testing.assert_allclose(
        table.loc[0, feats].to_numpy(float), single.loc[0, feats].to_numpy(float), rtol=1e-12
    )
    prov = read_provenance(out / "features.parquet")
    assert prov["settings_hash"] == single.attrs["provenance"]["settings_hash"]
    assert [c["case_id"] for c in prov["cases"]] == ["A", "C"]
    errors = pd.read_csv(out / "errors.csv")
    assert list(errors["case_id"]) == ["B"]


def test_extract_many_success_removes_a_stale_error_table_and_writes_csv(cases_dir):
    cases = _csv(cases_dir, "image,mask\nimage.nii.gz,mask.nii.gz\n")
    out = cases_dir / "out"
    out.mkdir()
    (out / "errors.csv").write_text("old\n", encoding="utf-8")
    res = runner.invoke(
        app,
        ["extract-many", str(cases), "-o", str(out), "--preset", "ibsi-digital", "--format", "csv"],
    )
    assert res.exit_code == 0, res.output
    assert not (out / "errors.csv").exists()
    assert pd.read_csv(out / "features.csv").shape[0] == 1
    assert read_provenance(out / "features.csv")["cases"][0]["case_id"] == "0"


@pytest.mark.parametrize(
    ("csv", "extra", "match"),
    [
        ("img,mask\na,b\n", [], "needs the columns image and mask"),
        ("image,mask\na,b\n", ["--preset", "ibsi-Q"], "ibsi-Q"),
        ("image,mask\na,b\n", ["--preset", "ibsi-C", "--config", "x.yaml"], "not both"),
    ],
)
def test_extract_many_usage_errors_exit_2(cases_dir, csv, extra, match):
    cases = _csv(cases_dir, csv)
    res = runner.invoke(app, ["extract-many", str(cases), "--out", str(cases_dir / "o"), *extra])
    assert res.exit_code == 2, res.output
    assert match in res.output
    assert "Traceback" not in res.output
    assert not (cases_dir / "o").exists()


@pytest.mark.slow  # two interpreter starts: ~10 s idle, 40 s on the shared 2-core machine
@pytest.mark.skipif(not RADIOMIX.exists(), reason="the radiomix script is not installed")
def test_progress_bar_on_a_terminal_and_none_with_quiet(cases_dir):
    cases = _csv(cases_dir, "image,mask\nimage.nii.gz,mask.nii.gz\n")
    cmd = [str(RADIOMIX), "extract-many", str(cases), "--out", "o", "--preset", "ibsi-digital"]
    rc, shown = run_in_pty(cmd, cases_dir)
    assert rc == 0, shown
    assert "extracting" in shown
    assert "ETA" in shown
    assert "━" in shown  # the bar itself
    rc, quiet = run_in_pty([*cmd, "--quiet"], cases_dir)
    assert rc == 0, quiet
    assert "extracting" not in quiet
    assert "ETA" not in quiet
    assert "1 of 1 cases written" in quiet


def test_an_earlier_runs_table_of_another_format_is_removed(cases_dir):
    # outside tester c (round 21): a second run with --format csv left the first run's
    # features.parquet (other cases, other settings) beside the new features.csv
    out = cases_dir / "out"
    first = _csv(cases_dir, "case_id,image,mask\nA,image.nii.gz,mask.nii.gz\n"
                            "B,image.nii.gz,mask.nii.gz\n")
    res = runner.invoke(app, ["extract-many", str(first), "--out", str(out),
                              "--preset", "ibsi-digital"])
    assert res.exit_code == 0, res.output
    assert (out / "features.parquet").is_file()
    (out / "notes.csv").write_text("a user's own file\n")
    second = _csv(cases_dir, "case_id,image,mask\nC,image.nii.gz,mask.nii.gz\n")
    res = runner.invoke(app, ["extract-many", str(second), "--out", str(out),
                              "--preset", "ibsi-digital", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert not (out / "features.parquet").exists()
    assert list(pd.read_csv(out / "features.csv")["case_id"]) == ["C"]
    assert (out / "notes.csv").read_text() == "a user's own file\n"
    # no case succeeds now: the earlier table is not left to read as this run's
    bad = _csv(cases_dir, "case_id,image,mask\nD,image.nii.gz,nomask.nii.gz\n")
    res = runner.invoke(app, ["extract-many", str(bad), "--out", str(out),
                              "--preset", "ibsi-digital", "--format", "csv"])
    assert res.exit_code == 1
    assert not (out / "features.csv").exists()
    assert not (out / "features.csv.provenance.json").exists()


def test_a_features_file_radiomix_did_not_write_is_left_in_place(cases_dir):
    out = cases_dir / "out"
    out.mkdir()
    (out / "features.csv").write_text("patient,value\nP1,3\n")
    cases = _csv(cases_dir, "case_id,image,mask\nA,image.nii.gz,mask.nii.gz\n")
    res = runner.invoke(app, ["extract-many", str(cases), "--out", str(out),
                              "--preset", "ibsi-digital"])
    assert res.exit_code == 0, res.output
    assert (out / "features.csv").read_text() == "patient,value\nP1,3\n"
    assert "was not written by radiomix" in res.output


# -- round 23 (F5, F6): a failed case names the line of the cases CSV its row starts on (the
# header is line 1), in the console and in errors.csv (a case numbered by its row, or
# "mask not found: <mask>", did not say which row to fix); progress times are labelled as
# the run's elapsed time


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
