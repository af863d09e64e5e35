"""``radiomix run``: in-process through a local typer app (exit codes, output modes) and as
a real subprocess killed with SIGKILL mid-run, then resumed to the exact table."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import typer
from cohort_helpers import FAST, SMALL, lesion, write_study
from typer.testing import CliRunner

from radiomix.cli_cohort import run
from radiomix.cohort import run_study

app = typer.Typer()
app.command()(run)
app.command("other")(lambda: None)  # two commands: the command name is then required
runner = CliRunner()


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return write_study(tmp_path_factory.mktemp("good"), [lesion(p) for p in SMALL[:2]])


def test_success_exit_0_with_plain_progress_lines(good, tmp_path):
    res = runner.invoke(app, ["run", str(good), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "2 cases: 0 current (skipped), 2 to compute" in res.output
    assert "[1/2] " in res.output
    assert "/1/pet ok" in res.output
    assert "2 of 2 lesions written to" in res.output
    assert (tmp_path / "out" / "features.parquet").is_file()
    res = runner.invoke(app, ["run", str(good), "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert res.exit_code == 0
    assert "2 current (skipped), 0 to compute" in res.output


def test_quiet_prints_nothing_on_success(good, tmp_path):
    res = runner.invoke(app, ["run", str(good), "--out", str(tmp_path / "out"), "--quiet"])
    assert res.exit_code == 0
    assert res.output == ""


def test_case_errors_exit_1_and_are_listed(tmp_path):
    rows = [lesion(SMALL[0]), {**lesion(SMALL[1]), "pet_mask": "nifti/NOPE/pet/mask.nii.gz"}]
    study = write_study(tmp_path / "s", rows)
    res = runner.invoke(app, ["run", str(study), "--out", str(tmp_path / "out"), "-q"])
    assert res.exit_code == 1
    assert f"failed {SMALL[1]}/1/pet (load, InputError): pet mask not found" in res.output
    assert "1 of 2 lesions written" in res.output


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--scheduler", "nowhere"], "scheduler must be 'local' or a Dask scheduler address"),
        (["--jobs", "0"], "Invalid value for '--jobs'"),
    ],
)
def test_usage_errors_exit_2(good, tmp_path, args, match):
    res = runner.invoke(app, ["run", str(good), "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == 2
    assert match in res.output


def test_settings_error_exit_2(tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text("manifest: m.csv\ntags: {ct: {presett: ibsi-C}}\n", encoding="utf-8")
    res = runner.invoke(app, ["run", str(study), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "SettingsError" in res.output
    assert "did you mean 'preset'?" in res.output


def test_help_is_complete():
    res = runner.invoke(app, ["run", "--help"])
    assert res.exit_code == 0
    for option in ("--out", "--jobs", "--scheduler", "--quiet", "Study file"):
        assert option in res.output


def test_sigkill_mid_run_then_rerun_gives_the_exact_table(tmp_path):
    """A real ``python -m radiomix.cli_cohort`` process is killed with SIGKILL once some
    cases are persisted; the re-run skips them, computes the rest, and the table equals a
    clean serial run (rows and values), with no duplicated or missing lesion."""
    settings = {
        "pet": {**FAST["pet"], "interpolation": {"spacing": [2.0, 2.0, 2.0]}},
        "ct": {**FAST["ct"], "features": {"families": ["morph", "stat"]}},
    }
    rows = [lesion(p, tags=("ct", "pet")) for p in SMALL[:6]]
    study = write_study(tmp_path / "s", rows, tags=("ct", "pet"), settings=settings)
    total = 12
    out = tmp_path / "killed"
    cases = out / "cases"
    proc = subprocess.Popen(
        [sys.executable, "-m", "radiomix.cli_cohort", str(study), "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if cases.is_dir() and len(list(cases.glob("*.json"))) >= 2:
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    done_before = len(list(cases.glob("*.json")))
    assert 2 <= done_before < total  # killed in the middle
    assert not (out / "features.parquet").exists()

    resumed = run_study(study, out)
    assert (resumed.n_cached, resumed.n_computed, resumed.n_failed) == (
        done_before,
        total - done_before,
        0,
    )
    clean = run_study(study, tmp_path / "clean")
    a, b = pd.read_parquet(resumed.features_path), pd.read_parquet(clean.features_path)
    assert len(a) == 6
    assert a.patient_id.is_unique
    pd.testing.assert_frame_equal(a, b)
    assert len(list(cases.glob("*.json"))) == total
    assert not list(cases.glob(".*.tmp"))


def test_terminal_gets_a_progress_bar(good, tmp_path):
    import io

    from rich.console import Console

    from radiomix.cli_progress import ProgressDisplay, cohort_callback

    buf = io.StringIO()
    shown = ProgressDisplay(Console(file=buf, force_terminal=True, width=100), quiet=False)
    result = run_study(good, tmp_path / "out", progress=cohort_callback(shown))
    assert result.ok
    assert shown.bar is None  # closed by the run's end event
    text = buf.getvalue()
    assert "2 to compute" in text
    assert "extracting" in text
    assert "ETA" in text
    assert "/1/pet ok" not in text  # no plain lines on a terminal


def test_a_failure_read_back_on_a_rerun_is_said_as_such(tmp_path):
    """Round 17: a re-run listed a failed case among the cases "reused as current". A
    failure read back from the case store is now said to come from an earlier run."""
    import SimpleITK as sitk
    from cohort_helpers import sts_root

    rows = [lesion(SMALL[0]), lesion(SMALL[1])]
    # an empty mask (a copy, in tmp_path): the case fails the same way on every run
    empty = sitk.ReadImage(str(sts_root() / rows[1]["pet_mask"])) * 0
    rows[1]["pet_mask"] = str(tmp_path / "empty_mask.nii.gz")
    sitk.WriteImage(empty, rows[1]["pet_mask"])
    study = write_study(tmp_path / "s", rows)
    out = tmp_path / "out"
    first = runner.invoke(app, ["run", str(study), "--out", str(out), "-q"])
    assert first.exit_code == 1, first.output
    assert "(cases: 2 run now, 0 reused from earlier runs; 1 failed, see" in first.output
    again = runner.invoke(app, ["run", str(study), "--out", str(out), "-q"])
    assert again.exit_code == 1, again.output
    assert (
        "(cases: 0 run now, 2 reused from earlier runs; 1 failed (1 of them read back from "
        "an earlier run with the same inputs and settings" in again.output
    )
