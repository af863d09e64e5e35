"""``radiomix model`` in-process (typer CliRunner) plus one subprocess smoke test."""

from __future__ import annotations

import json
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from _data import require_data
from radiomix.cli_model import app
from radiomix.model.survival import sarcoma_lung_metastasis_outcome

runner = CliRunner()


def test_clinical_arm_on_sarcoma_clinical_table(tmp_path):
    clinical = require_data("sts", "clinical.csv")
    out = tmp_path / "clin"
    res = runner.invoke(
        app,
        [
            "--clinical",
            str(clinical),
            "--target",
            "lung_mets",
            "--groups",
            "patient_id",
            "--columns",
            "age,grade",
            "--ordinal",
            "grade=Low,Intermediate,High",
            "--model",
            "logistic",
            "--repeats",
            "1",
            "--bootstrap",
            "200",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["radiomix_model"]["features"] == ["age", "grade"]
    assert doc["n_patients"] == 51
    assert doc["n_rows"] == 51
    auc = doc["metrics"]["roc_auc"]
    assert 0.5 < auc["estimate"] < 0.85
    assert auc["ci_low"] < auc["estimate"] < auc["ci_high"]
    assert "nested patient-grouped" in doc["scheme"]
    assert doc["versions"]["scikit-learn"]
    pred = pd.read_csv(out / "predictions.csv")
    assert len(pred) == 51
    assert pred["patient_id"].is_unique
    saved = joblib.load(out / "model.joblib")
    assert saved["features"] == ["age", "grade"]
    proba = saved["model"].predict_proba(pd.DataFrame({"age": [30.0, 75.0], "grade": [0, 2]}))
    assert proba[1, 1] > proba[0, 1]  # older, higher grade -> higher risk
    for fig in ("roc.png", "calibration.png", "decision_curve.png"):
        assert (out / fig).stat().st_size > 1000


def _slice_table(tmp_path):
    rng = np.random.default_rng(0)
    n_pat, per = 40, 4
    pid = np.repeat([f"P{i:02d}" for i in range(n_pat)], per)
    lab = rng.integers(0, 2, n_pat)
    feats = pd.DataFrame(
        {
            "patient_id": pid,
            "lesion_id": "1",
            "ct.original.stat.mean": rng.normal(size=n_pat * per) + 1.2 * lab.repeat(per),
            "ct.original.stat.sd": rng.normal(size=n_pat * per),
            "ct.deep.resnet18_2p5d.f000": rng.normal(size=n_pat * per),
        }
    )
    clin = pd.DataFrame(
        {
            "patient_id": [f"P{i:02d}" for i in range(n_pat)],
            "label": lab,
            "age": rng.normal(60, 8, n_pat),
            "sex": rng.choice(["F", "M"], n_pat),
        }
    )
    table = tmp_path / "features.parquet"
    feats.to_parquet(table)
    clin_path = tmp_path / "clinical.csv"
    clin.to_csv(clin_path, index=False)
    return table, clin_path


def test_feature_table_joined_with_clinical_patient_level(tmp_path):
    table, clin = _slice_table(tmp_path)
    out = tmp_path / "fused"
    res = runner.invoke(
        app,
        [
            "--features",
            str(table),
            "--clinical",
            str(clin),
            "--target",
            "label",
            "--columns",
            "ct.original.*,age,sex",
            "--model",
            "knn",
            "--selector",
            "variance",
            "--repeats",
            "1",
            "--bootstrap",
            "100",
            "--level",
            "patient",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["radiomix_model"]["features"] == [
        "ct.original.stat.mean",
        "ct.original.stat.sd",
        "age",
        "sex=M",
    ]
    assert doc["n_rows"] == 160
    assert doc["n_patients"] == 40
    assert len(pd.read_csv(out / "predictions.csv")) == 40  # one row per patient


def test_survival_command(tmp_path):
    clinical = pd.read_csv(require_data("sts", "clinical.csv"))
    outcome = sarcoma_lung_metastasis_outcome(clinical)
    merged = clinical[["patient_id", "age"]].merge(outcome, on="patient_id")
    path = tmp_path / "surv.csv"
    merged.to_csv(path, index=False)
    out = tmp_path / "surv"
    res = runner.invoke(
        app,
        [
            "--clinical",
            str(path),
            "--time",
            "time_years",
            "--event",
            "event",
            "--columns",
            "age",
            "--model",
            "cox",
            "--horizon",
            "1",
            "--horizon",
            "2",
            "--repeats",
            "1",
            "--bootstrap",
            "100",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "metrics.json").read_text())
    metrics = {(m["metric"], m["horizon"]): m for m in doc["metrics"]}
    assert 0.5 < metrics[("c_index", None)]["estimate"] < 0.9
    assert metrics[("td_auc", 2.0)]["n_at_risk"] >= 10
    assert (out / "km.png").exists()
    # the inner loop tuned the penalty in every outer fold and for the final model
    assert doc["final_model"]["best_params"]["model__penalizer"] in (0.01, 0.1, 1.0)
    assert all(f["best_params"]["model__penalizer"] in (0.01, 0.1, 1.0) for f in doc["folds"])


def test_cli_errors(tmp_path):
    clinical = str(require_data("sts", "clinical.csv"))
    res = runner.invoke(app, ["--clinical", clinical, "--out", str(tmp_path / "a")])
    assert res.exit_code == 2
    assert "give --target" in res.output
    res = runner.invoke(
        app,
        [
            "--clinical",
            clinical,
            "--target",
            "lung_mets",
            "--columns",
            "agee",
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert res.exit_code == 1
    assert "did you mean age" in res.output
    res = runner.invoke(
        app,
        [
            "--clinical",
            clinical,
            "--target",
            "lung_mets",
            "--columns",
            "age",
            "--groups",
            "patient",
            "--out",
            str(tmp_path / "c"),
        ],
    )
    assert res.exit_code == 1
    assert "no group column 'patient'" in res.output
    res = runner.invoke(
        app,
        [
            "--clinical",
            clinical,
            "--target",
            "lung_mets",
            "--columns",
            "age",
            "--validation",
            "external",
            "--out",
            str(tmp_path / "d"),
        ],
    )
    assert res.exit_code == 1
    assert "--centre" in res.output


@pytest.mark.timeout(120)
def test_subprocess_help_smoke():
    proc = subprocess.run(
        [sys.executable, "-m", "radiomix.cli_model", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--groups" in proc.stdout
    assert "--target" in proc.stdout


def test_arms_comparison_command(tmp_path):
    table, clin = _slice_table(tmp_path)
    out = tmp_path / "arms"
    res = runner.invoke(
        app,
        [
            "--features",
            str(table),
            "--clinical",
            str(clin),
            "--target",
            "label",
            "--columns",
            "radiomic,deep,age",
            "--model",
            "logistic",
            "--arms",
            "all",
            "--no-tune",
            "--deep-pca",
            "1",
            "--repeats",
            "1",
            "--bootstrap",
            "50",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    table_out = pd.read_csv(out / "arms.csv")
    assert set(table_out["arm"]) == {"clinical", "radiomics", "deep", "fused", "clinical+radscore"}
    tests = pd.read_csv(out / "arms_tests.csv")
    assert tests["reference"].eq("clinical").all()
    assert (out / "roc_arms.png").stat().st_size > 1000
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["arms"]["roc_auc"]["radiomics"][0] > 0.6


def test_arms_subset_and_unknown_arm(tmp_path):
    table, clin = _slice_table(tmp_path)
    base = ["--features", str(table), "--clinical", str(clin), "--target", "label"]
    base += ["--columns", "radiomic,age", "--no-tune", "--repeats", "1", "--bootstrap", "50"]
    res = runner.invoke(app, [*base, "--arms", "clinical,radiomics", "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(tmp_path / "a" / "arms.csv")["arm"]) == {"clinical", "radiomics"}
    res = runner.invoke(app, [*base, "--arms", "clinical,radiomic", "--out", str(tmp_path / "b")])
    assert res.exit_code == 1
    assert "unknown arm(s) ['radiomic']" in res.output
    res = runner.invoke(app, [*base, "--arms", "clinical,deep", "--out", str(tmp_path / "c")])
    assert res.exit_code == 1
    assert "['deep'] cannot be built" in res.output


def test_survival_refuses_classification_options(tmp_path):
    clinical = pd.read_csv(require_data("sts", "clinical.csv"))
    merged = clinical[["patient_id", "age"]].merge(
        sarcoma_lung_metastasis_outcome(clinical), on="patient_id"
    )
    path = tmp_path / "surv.csv"
    merged.to_csv(path, index=False)
    survival = ["--clinical", str(path), "--time", "time_years", "--event", "event"]
    extra = ["--arms", "all", "--permutations", "10", "--out", str(tmp_path / "o")]
    res = runner.invoke(app, [*survival, "--columns", "age", *extra])
    assert res.exit_code == 1
    assert "--arms, --permutations apply to classification" in res.output
