"""The command line, in-process (typer's runner) plus one real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from _data import require_data
from radiomix.cli import app
from radiomix.table import read_provenance

runner = CliRunner()


@pytest.fixture(scope="module")
def phantom():
    folder = require_data("ibsi1", "ct_phantom")
    return folder


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json"])
def test_extract_writes_each_format_with_provenance(tmp_path, phantom, suffix):
    out = tmp_path / f"f{suffix}"
    res = runner.invoke(
        app,
        [
            "extract",
            str(phantom / "nifti" / "image.nii.gz"),
            str(phantom / "nifti" / "mask.nii.gz"),
            "--preset",
            "ibsi-C",
            "--tag",
            "ct",
            "--case-id",
            "PAT1",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    prov = read_provenance(out)
    assert prov["settings"]["interpolation"]["spacing"] == [2.0, 2.0, 2.0]
    assert len(prov["inputs"]["image_sha256"]) == 64
    if suffix == ".parquet":
        df = pd.read_parquet(out)
        assert df.loc[0, "case_id"] == "PAT1"
        assert df.loc[0, "ct.original.morph.volume_voxels"] == pytest.approx(367880.0)
        assert df.loc[0, "settings_hash"] == prov["settings_hash"]


def test_extract_dicom_rtstruct(tmp_path, phantom):
    out = tmp_path / "f.csv"
    res = runner.invoke(
        app,
        [
            "extract",
            str(phantom / "dicom" / "image"),
            str(phantom / "dicom" / "mask" / "DCM_RS_00060.dcm"),
            "--roi-name",
            "GTV-1",
            "--preset",
            "ibsi-C",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out).loc[0, "image.original.morph.volume_voxels"] == pytest.approx(367880.0)


def test_case_error_exit_1(tmp_path, phantom):
    res = runner.invoke(
        app,
        [
            "extract",
            str(phantom / "dicom" / "image"),
            str(phantom / "dicom" / "mask" / "DCM_RS_00060.dcm"),
            "--roi-name",
            "GTV-2",
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert res.exit_code == 1
    assert "LabelNotFoundError" in res.output
    assert "GTV-1" in res.output


def test_settings_error_exit_2(tmp_path, phantom):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("discretisation: {method: fbs, binwidth: 25}\n")
    res = runner.invoke(
        app,
        [
            "extract",
            str(phantom / "nifti" / "image.nii.gz"),
            str(phantom / "nifti" / "mask.nii.gz"),
            "--config",
            str(cfg),
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert res.exit_code == 2
    assert "did you mean 'bin_width'" in res.output


def test_usage_error_exit_2():
    assert runner.invoke(app, ["extract"]).exit_code == 2


def test_features_json_lists_registry():
    res = runner.invoke(app, ["features", "--format", "json"])
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    by_name = {d["name"]: d for d in doc}
    assert by_name["morph.volume_voxels"]["ibsi"] == "YEKZ"
    assert by_name["morph.volume_voxels"]["family_code"] == "HCUG"
    assert by_name["stat.mean"]["ibsi"] == "Q4LE"
    assert all({"name", "ibsi", "family", "aggregations"} <= set(d) for d in doc)


def test_features_piped_lists_every_whole_name():
    """Piped to a file or grep, the table's names were cut to '…' (174 of 176); off a
    terminal the listing is one tab-separated line per feature."""
    import subprocess
    import sys

    from radiomix.features import all_features

    done = subprocess.run([sys.executable, "-m", "radiomix.cli", "features"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].split("\t") == ["name", "IBSI", "family", "aggregations", "description"]
    assert [line.split("\t")[0] for line in lines[1:]] == [s.name for s in all_features()]
    assert "…" not in done.stdout


def test_ibsi_check_json_digital_phantom():
    require_data("ibsi1")
    res = runner.invoke(
        app, ["ibsi-check", "--json", "--dataset", "dig_phantom", "--source", "nifti"]
    )
    doc = json.loads(res.stdout)
    assert doc["total"] > 0
    assert {"dataset", "source", "family", "matched", "total"} <= set(doc["summary"][0])
    assert res.exit_code == (0 if doc["matched"] == doc["total"] else 1)


def test_every_command_has_help():
    for cmd in ("extract", "features", "ibsi-check", "run", "model", "demo", "report"):
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0, cmd
        assert "Usage" in res.output
    res = runner.invoke(app, ["standardise", "fit", "--help"])
    assert res.exit_code == 0
    assert "landmarks" in res.output
    # the evaluation command is `model` (the spelling); the old name is gone
    assert runner.invoke(app, ["evaluate", "--help"]).exit_code == 2


def test_real_subprocess(tmp_path, phantom):
    out = tmp_path / "f.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "radiomix.cli",
            "extract",
            str(phantom / "nifti" / "image.nii.gz"),
            str(phantom / "nifti" / "mask.nii.gz"),
            "--preset",
            "ibsi-A",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert doc["rows"][0]["image.original.stat.mean"] == pytest.approx(13.4, abs=1.1)


@pytest.mark.parametrize("flags", [["--source", "dicom"], ["--dataset", "config_A"]])
def test_ibsi2_check_refuses_the_ibsi1_options(flags):
    """``--source`` was silently ignored with ``--ibsi2`` (``--dataset`` was refused)."""
    res = runner.invoke(app, ["ibsi-check", "--ibsi2", *flags])
    assert res.exit_code == 2
    assert "drop it: --ibsi2 checks the IBSI 2 response maps" in " ".join(res.output.split())


@pytest.mark.parametrize("case_id", ["", "  ", " PAT1", "PAT1\t", "\u200b", "PAT\u200b1"])
def test_extract_refuses_a_blank_or_padded_case_id(tmp_path, case_id):
    # an empty --case-id wrote a table without the case_id column, exit 0; " " wrote " "
    out = tmp_path / "f.csv"
    res = runner.invoke(app, ["extract", str(tmp_path / "img.nii.gz"), str(tmp_path / "m.nii.gz"),
                              "--case-id", case_id, "--out", str(out)])
    assert res.exit_code == 2
    assert "--case-id" in res.output
    assert "is blank, has surrounding spaces or an invisible character" in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not out.exists()
