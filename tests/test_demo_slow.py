"""The demo and the two seed examples on the real sarcoma cohort (``-m slow``; long).

Each runs from its study file only (``radiomix analyse`` / ``radiomix demo``), as a user
would: the features are extracted by the cohort runner, analysed by the engine and
reported. What the quick tests cannot check: every patient and image, every arm with the
full validation, the survival horizons, a warm second run that reuses every case.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.data]
ROOT = Path(__file__).resolve().parents[1]


def _analyse(study: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "radiomix.cli", "analyse", str(study),
                           "--out", str(out), "--jobs", "2", "--quiet"],
                          capture_output=True, text=True, timeout=7200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    return json.loads((out / "analysis.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def full_demo(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    from radiomix.demo import run_demo

    out = tmp_path_factory.mktemp("full_demo")
    run_demo(out, data_dir=shared_data, jobs=2)
    cold = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    run_demo(out, data_dir=shared_data, jobs=2)
    warm = json.loads((out / "analysis.json").read_text(encoding="utf-8"))
    return out, cold, warm


def test_full_demo(full_demo) -> None:
    out, cold, _ = full_demo
    assert cold["cohort"]["n_patients"] == 51
    binary, surv = cold["outcomes"]
    assert binary["n_positive"] == 19
    assert binary["arm_order"] == ["clinical", "volume", "prevalence", "radiomics_knn", "deep",
                                   "fused_knn", "radscore", "clinical_radscore"]
    assert surv["horizons_years"] == [1.0, 2.0]
    v = binary["validation"][0]
    assert v["scheme"] == "nested_cv"
    fused, deep = v["arms"]["fused_knn"]["metrics"], v["arms"]["deep"]["metrics"]
    assert fused["roc_auc"] != deep["roc_auc"]
    assert (out / "report.html").stat().st_size > 10_000


def test_warm_run_gives_the_same_document(full_demo) -> None:
    _, cold, warm = full_demo
    for a, b in zip(cold["outcomes"], warm["outcomes"], strict=True):
        assert a["validation"] == b["validation"]


def test_lung_like_example(shared_data: Path, tmp_path: Path) -> None:
    doc = _analyse(ROOT / "examples" / "lung_like" / "study.yaml", tmp_path / "lung")
    o = doc["outcomes"][0]
    assert [v["scheme"] for v in o["validation"]] == ["holdout", "nested_cv"]
    for v in o["validation"]:
        for arm in ("radiomics_knn", "resnet18", "fused_knn"):
            m = v["arms"][arm]["metrics"]
            assert {"accuracy", "sensitivity", "specificity", "roc_auc"} <= set(m)
    assert len(o["arms"]["radiomics_knn"]["columns"]) == 12
    # the reference study's design: ResNet18 slices split at random put one patient's
    # slices on both sides and score far above the patient-grouped split
    leak = doc["leakage"]
    assert leak["n_patients"] == 51
    assert leak["n_rows"] > 1000
    for scheme in leak["schemes"]:
        assert scheme["naive"]["test_rows_with_patient_in_train"] == 1.0
        assert scheme["grouped"]["test_rows_with_patient_in_train"] == 0.0
        assert scheme["naive"]["roc_auc"]["estimate"] > 0.9
        assert scheme["grouped"]["roc_auc"]["ci_low"] < 0.9
        assert scheme["inflation"]["roc_auc"] > 0.2
    assert len(doc["qc"]["items"]) == 6  # six patients, one CT each


def test_liver_like_example(shared_data: Path, tmp_path: Path) -> None:
    doc = _analyse(ROOT / "examples" / "liver_like" / "study.yaml", tmp_path / "liver")
    binary = doc["outcomes"][0]
    schemes = [v["scheme"] for v in binary["validation"]]
    assert schemes == ["training", "internal", "external"]
    ext = binary["validation"][2]
    assert ext["centres"] == ["B"]
    assert all(c.startswith("ct2d.") for c in binary["arms"]["radscore_2d"]["columns"])
    assert doc["outcomes"][1]["kind"] == "survival"
    # the robustness arms: stability filter and ComBat by the PET grid, each estimable in
    # every scheme (ComBat sees both batches in every training fold)
    assert "ICC" in binary["arms"]["radscore_ct_stable"]["description"]
    assert "ComBat by pet_grid" in binary["arms"]["radscore_pet_combat"]["description"]
    for v in binary["validation"]:
        for arm in ("radscore_ct_stable", "radscore_pet_combat"):
            assert v["arms"][arm]["metrics"]["roc_auc"]["estimate"] is not None, (v["scheme"], arm)
