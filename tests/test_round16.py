"""Sixteenth round, workflows: warnings of cases computed in worker processes reached the
console bare (no ``WARNING``, printed by Python's last-resort handler of each worker) and
without the case they were about; a user could not tell which lesion to check."""

from __future__ import annotations

import SimpleITK as sitk

from _data import run_cli, sts_files

CASES = ("STS_002", "STS_003")
UNITS = "above any SUV"  # the warning of a PET in Bq/ml declared PT


def _bqml_table(tmp_path):
    """Two PET cases in Bq/ml (SUV x 1000): each warns that its values are activity; and a
    settings file of the intensity statistics only."""
    (tmp_path / "stat.yaml").write_text("features: {families: [stat]}\n")
    lines = ["case_id,image,mask"]
    for case in CASES:
        image, mask = sts_files(case, "pet")
        path = tmp_path / f"{case}.nii.gz"
        sitk.WriteImage(sitk.ReadImage(str(image)) * 1000.0, str(path))
        lines.append(f"{case},{path},{mask}")
    table = tmp_path / "cases.csv"
    table.write_text("\n".join(lines) + "\n")
    return table


def test_worker_warnings_are_said_once_per_case_with_the_case(tmp_path):
    table = _bqml_table(tmp_path)
    done = run_cli("extract-many", str(table), "--out", str(tmp_path / "o.csv"), "--jobs", "2",
                   "--modality", "PT", "--config", str(tmp_path / "stat.yaml"))
    assert done.returncode == 0, done.stderr + done.stdout
    said = [ln for ln in (done.stdout + done.stderr).splitlines() if UNITS in ln]
    assert len(said) == len(CASES), said  # once per case, not once per worker and case
    for case in CASES:
        (line,) = [ln for ln in said if case in ln]
        assert line.startswith(f"WARNING  {case}: "), line
        assert line.count(case) == 1, line  # the case named once


def test_serial_and_pool_say_the_same_warnings(tmp_path):
    table = _bqml_table(tmp_path)
    outputs = []
    for jobs in ("1", "2"):
        done = run_cli("extract-many", str(table), "--out", str(tmp_path / f"o{jobs}.csv"),
                       "--jobs", jobs, "--modality", "PT", "--config", str(tmp_path / "stat.yaml"))
        assert done.returncode == 0, done.stderr + done.stdout
        outputs.append(sorted(ln for ln in (done.stdout + done.stderr).splitlines()
                              if ln.startswith("WARNING")))
    assert outputs[0] == outputs[1]
    assert any(UNITS in ln for ln in outputs[0])


def test_analyse_says_which_cases_failed_and_what_became_of_their_lesions(tmp_path):
    """``radiomix analyse`` said nothing on the console when cases failed: the dropped
    lesion was only in features/errors.parquet and the report."""
    import numpy as np

    from cohort.cohort_helpers import SMALL, lesion, sts_root, write_study
    from radiomix.analysis.study import failed_cases_message
    from radiomix.cohort import run_study

    _, mask = sts_files(SMALL[1], "pet")
    empty = tmp_path / "empty_mask.nii.gz"
    ref = sitk.ReadImage(str(mask))
    blank = sitk.GetImageFromArray(np.zeros(sitk.GetArrayFromImage(ref).shape, np.uint8))
    blank.CopyInformation(ref)
    sitk.WriteImage(blank, str(empty))
    rows = [lesion(SMALL[0]), {**lesion(SMALL[1]), "pet_mask": str(empty)}]
    study = write_study(tmp_path, rows, data_root=str(sts_root()))
    out = tmp_path / "analysis"
    res = run_study(study, out / "features")
    assert res.n_failed == 1
    said = failed_cases_message(res, out)
    assert said.startswith(f"1 of 2 cases failed (first: {SMALL[1]}/1/pet (")
    assert "1 of 2 lesions are left out of the analysis" in said
    assert said.endswith("every error is in features/errors.parquet and the report")


def test_analyse_refuses_a_folder_a_run_is_writing(tmp_path):
    """Round 16: ``radiomix analyse --out D`` while ``radiomix run --out D`` was writing D
    extracted every case a second time beside it (two case stores in one folder)."""
    import pytest

    from _data import DATA_DIR, require_data
    from radiomix.analysis.study import analyse_study
    from radiomix.cohort import OutputLock
    from radiomix.demo import write_demo_study
    from radiomix.errors import OutputLockedError

    require_data("sts", "nifti")
    study = write_demo_study(tmp_path / "study", DATA_DIR, patients=12, quick=True, seed=0)
    out = tmp_path / "out"
    with OutputLock(out), pytest.raises(OutputLockedError, match="in use by another radiomix"):
        analyse_study(study, out, report=False)
    assert not (out / "features").exists()  # nothing extracted beside the run


def test_the_console_counts_the_warnings_it_does_not_print(monkeypatch):
    """Round 16: analyse and model printed the first 20 warnings and dropped the rest
    without a word (a nomogram separation warning was among them)."""
    import io

    from rich.console import Console

    import radiomix.cli_model as cm

    buf = io.StringIO()
    monkeypatch.setattr(cm, "console", Console(file=buf, width=200))
    cm.print_summary({"outcomes": [], "warnings": [f"w{i}" for i in range(cm.MAX_NOTES + 3)]})
    lines = buf.getvalue().splitlines()
    assert lines[-2] == f"note: w{cm.MAX_NOTES - 1}"
    assert lines[-1].startswith("note: ... and 3 more in analysis.json")


def test_a_warning_every_case_repeats_is_said_once_and_counted(caplog):
    """Round 17: under Dask each worker reported the untrained network at its first case, so
    the "each warning is printed once" of the README held per worker, not per run."""
    from radiomix.cohort import say_case_warnings, say_repeated

    said: dict[str, int] = {}
    untrained = "deep features from an UNTRAINED resnet18 (random weights, seed 0)"
    with caplog.at_level("WARNING", logger="radiomix"):
        say_case_warnings("P1/1/ct", [untrained, "P1/1/ct: ROI of 3 voxels"], said)
        say_case_warnings("P2/1/ct", [f"P2/1/ct: {untrained}"], said)
        say_case_warnings("P3/1/ct", [untrained, "ROI of 5 voxels"], said)
        say_repeated(said)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"P1/1/ct: {untrained}",
        "P1/1/ct: ROI of 3 voxels",
        "P3/1/ct: ROI of 5 voxels",
        f"the warning {untrained!r} was repeated by 2 more case(s) of this run, not printed "
        "again (each case's record keeps the warnings it raised)",
    ]
