"""The full demo on all 51 sarcoma patients, cold then warm (``-m slow``; ~10-30 min).

Checks what the quick tests cannot: every patient and image, every arm with the full
nested CV, the survival horizons of 1 and 2 years, and that a second run into the same
folder reuses every extracted case, embedding and thumbnail.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "report"))
from report_checks import metric_problems, parse_report

pytestmark = [pytest.mark.slow, pytest.mark.data]


@pytest.fixture(scope="module")
def full_demo(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict,
                                                                                     dict]:
    from radiomix.demo import run_demo

    out = tmp_path_factory.mktemp("full_demo")
    run_demo(out, data_dir=shared_data, jobs=2)
    cold = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    run_demo(out, data_dir=shared_data, jobs=2)
    warm = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    return out, cold, warm


def test_full_cohort(full_demo) -> None:
    _, cold, _ = full_demo
    assert cold["cohort"]["n_patients"] == 51
    assert cold["cohort"]["n_events"] == 19
    assert cold["provenance"]["cases"]["total"] == 153
    assert cold["arm_order"] == ["clinical", "radiomics_knn", "deep", "fused_knn", "radscore",
                                 "clinical_radscore"]
    assert cold["evaluation"]["outer_splits"] == 5
    assert cold["evaluation"]["n_repeats"] == 5
    assert cold["ibsi"]["total"] > 1000
    assert cold["settings"]["deep"]["n_slices"] > 1500
    assert len(cold["qc"]) == 153
    clin = cold["survival"]["models"]["clinical_cox"]
    assert [h["horizon_years"] for h in clin["td_auc"]] == [1.0, 2.0]


def test_warm_run_reuses_everything(full_demo) -> None:
    _, cold, warm = full_demo
    notes = {s["stage"]: s["note"] for s in warm["timings"]["stages"]}
    assert "153 reused, 0 computed" in notes["radiomic features"]
    assert "51 reused, 0 computed" in notes["deep features"]
    assert "0 drawn" in notes["QC thumbnails"]
    # same inputs and seeds: same results
    for arm in cold["arm_order"]:
        assert warm["arms"][arm]["metrics"] == cold["arms"][arm]["metrics"]


def test_full_report_numbers(full_demo) -> None:
    out, _, warm = full_demo
    parsed = parse_report((out / "report.html").read_text(encoding="utf-8"))
    assert metric_problems(parsed.metrics, warm) == []
    assert parsed.stray == []
    assert len(parsed.images) >= 153 + 6
