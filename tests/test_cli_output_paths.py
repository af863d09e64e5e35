"""Unusable ``--out`` values and unusable tables through the real command line.

Every command that writes refuses, before any work, an output folder that is an existing
file, lies under a file or cannot be created (``/proc/rt``: nobody, root included, can
create it), with one ``error (UsageError)`` line naming the folder and the fix, exit code
2 and no traceback. The analysis commands refuse a table without rows, an empty file and a
table split by another delimiter with one ``error (InputError)`` line, exit code 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

RADIOMIX = [sys.executable, "-c", "from radiomix.cli import main; main()"]
STUDY = Path(__file__).resolve().parents[1] / "examples" / "sts" / "study.yaml"
UNWRITABLE = "/proc/rt"  # /proc refuses new entries, even to root

needs_proc = pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RADIOMIX, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "300"})


def _one_error_line(res: subprocess.CompletedProcess[str], code: int, *parts: str) -> str:
    both = res.stdout + res.stderr
    assert "Traceback" not in both, both
    assert "InternalError" not in both, both
    assert res.returncode == code, both
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def tables(tmp_path: Path) -> dict[str, Path]:
    """A small feature and clinical table, and damaged variants of them."""
    feat = pd.DataFrame({"patient_id": [f"P{i:02d}" for i in range(12)],
                         **{f"ct.original.stat.f{j:02d}": [0.1 * i + j for i in range(12)]
                            for j in range(3)}})
    clin = pd.DataFrame({"patient_id": feat.patient_id, "lung_mets": [i % 2 for i in range(12)],
                         "age": [40 + 3 * i for i in range(12)],
                         "treatment": ["Surgery, Chemotherapy"] * 12})
    t = {"features": tmp_path / "ft.csv", "clinical": tmp_path / "clinical.csv"}
    feat.to_csv(t["features"], index=False)
    clin.to_csv(t["clinical"], index=False)
    t["features_empty"] = tmp_path / "ft_empty.csv"
    feat.iloc[:0].to_csv(t["features_empty"], index=False)
    t["clinical_empty"] = tmp_path / "clinical_empty.csv"
    clin.iloc[:0].to_csv(t["clinical_empty"], index=False)
    t["zero"] = tmp_path / "zero.csv"
    t["zero"].write_bytes(b"")
    t["clinical_semicolon"] = tmp_path / "clinical_semicolon.csv"
    clin.to_csv(t["clinical_semicolon"], index=False, sep=";")  # a field holds a comma
    t["features_semicolon"] = tmp_path / "ft_semicolon.csv"
    feat.to_csv(t["features_semicolon"], index=False, sep=";")
    t["features_tab"] = tmp_path / "ft_tab.csv"
    feat.to_csv(t["features_tab"], index=False, sep="\t")
    t["file"] = tmp_path / "a_file"
    t["file"].write_text("there before\n")
    return t


def _model(t: dict[str, Path], out: str | Path, features: str = "features",
           clinical: str = "clinical") -> list[str]:
    return ["model", "--out", str(out), "--features", str(t[features]),
            "--clinical", str(t[clinical]), "--target", "lung_mets", "--positive", "1",
            "--covariates", "age", "--bootstrap", "50", "--repeats", "1", "--outer", "3",
            "--inner", "2", "--no-tune", "--no-report", "-q"]


def _commands(t: dict[str, Path], out: str) -> dict[str, list[str]]:
    """Each command that writes into a folder, with ``out`` as that folder."""
    return {
        "model": _model(t, out),
        "run": ["run", str(STUDY), "--out", out, "-q"],
        "analyse": ["analyse", str(STUDY), "--out", out, "-q"],
        "extract-many": ["extract-many", str(t["features"]), "--out", out, "-q"],
        "stability": ["stability", str(STUDY), "--out", out, "--patients", "2", "-q"],
        "demo": ["demo", "--out", out, "--quick", "-q"],
        "report": ["report", str(t["features"].parent), "--out", out],
        "extract": ["extract", "image.nii.gz", "mask.nii.gz", "--out", f"{out}/x.csv"],
        "standardise": ["standardise", "fit", str(STUDY), "--tag", "mr_t1", "--out",
                        f"{out}/x.json"],
    }


COMMANDS = ["model", "run", "analyse", "extract-many", "stability", "demo", "report",
            "extract", "standardise"]


@needs_proc
@pytest.mark.parametrize("command", COMMANDS)
def test_an_out_folder_that_cannot_be_created_is_a_usage_error(tables, tmp_path, command):
    res = _run(_commands(tables, UNWRITABLE)[command], tmp_path)
    _one_error_line(res, 2, "error (UsageError): cannot create the output folder /proc/rt",
                    "choose a writable --out")


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in ("extract", "standardise")])
def test_an_out_folder_that_is_an_existing_file_is_a_usage_error(tables, tmp_path, command):
    res = _run(_commands(tables, str(tables["file"]))[command], tmp_path)
    _one_error_line(res, 2, f"--out {tables['file']} exists and is not a folder",
                    "give a folder")
    assert tables["file"].read_text() == "there before\n"


@pytest.mark.parametrize("command", ["extract", "model", "standardise"])
def test_an_out_path_under_a_file_is_a_usage_error(tables, tmp_path, command):
    res = _run(_commands(tables, f"{tables['file']}/sub")[command], tmp_path)
    _one_error_line(res, 2, f"{tables['file']} is a file, not a folder", "choose another --out")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_a_read_only_out_folder_is_a_usage_error(tables, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        res = _run(_model(tables, locked), tmp_path)
    finally:
        locked.chmod(0o755)
    _one_error_line(res, 2, f"cannot write in the output folder {locked}")


def test_the_out_check_leaves_no_folder_behind(tables, tmp_path):
    """The check tries the folder by creating it, and removes it when the command fails."""
    out = tmp_path / "new" / "deeper"
    res = _run(["run", str(tmp_path / "nope.yaml"), "--out", str(out)], tmp_path)
    _one_error_line(res, 2, "study file not found")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    ("features", "clinical", "expected"),
    [
        ("features_empty", "clinical", "table ft_empty.csv has no rows"),
        ("features", "clinical_empty", "table clinical_empty.csv has no rows"),
        ("zero", "clinical", "table zero.csv is empty"),
        ("features", "zero", "table zero.csv is empty"),
        ("features", "clinical_semicolon",
         "clinical_semicolon.csv seems to use semicolons (';') as delimiter; radiomix reads "
         "comma-separated .csv files"),
        ("features_semicolon", "clinical",
         "ft_semicolon.csv seems to use semicolons (';') as delimiter"),
        ("features_tab", "clinical", "ft_tab.csv seems to use tabs ('\\t') as delimiter"),
    ],
)
def test_unusable_tables_are_one_line_input_errors(tables, tmp_path, features, clinical,
                                                    expected):
    res = _run(_model(tables, tmp_path / "o", features, clinical), tmp_path)
    line = _one_error_line(res, 1, "error (InputError)", expected)
    assert "cannot be read as a table" not in line
    assert not (tmp_path / "o").exists()


def test_build_table_refuses_a_table_without_rows():
    from radiomix.analysis.data import build_table
    from radiomix.analysis.spec import analysis_from_dict
    from radiomix.errors import InputError

    spec = analysis_from_dict({"outcomes": [{"name": "y", "kind": "binary", "column": "y"}]})
    feat = pd.DataFrame({"patient_id": pd.Series([], dtype=str), "ct.original.stat.mean": []})
    clin = pd.DataFrame({"patient_id": ["A", "B"], "y": ["0", "1"]})
    with pytest.raises(InputError, match="the feature table has no rows"):
        build_table(feat, spec, clinical=clin)
    with pytest.raises(InputError, match="the clinical table has no rows"):
        build_table(clin.assign(**{"ct.original.stat.mean": "1"}), spec, clinical=clin.iloc[:0])
