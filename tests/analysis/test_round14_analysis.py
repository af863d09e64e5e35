"""Fourteenth outside round, the analysis side (a biostatistician's data with a known
truth): a headline that read a below-chance comparator as evidence for an arm at chance, a
centre column that separates the outcome, and one patient's lesion under two ids. The
survival analyses' patient unit is tested in ``tests/evaluate/test_survival_patient_unit.py``."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.spec import analysis_from_dict
from radiomix.report.words import headlines

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}


RAD = {"name": "rad", "blocks": ["radiomic"], "model": "logistic", "tune": False}


def _spec(arms=(RAD,), validation=None, **roles):
    return analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "binary", "column": "outcome",
                      "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome_text", "days_to_outcome"], **roles},
        "arms": list(arms),
        "validation": {**FAST, **(validation or {})},
    })


def _survival_spec(validation=None):
    return analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "survival", "time": "time", "event": "event",
                      "time_unit": "days", "horizons_years": [1.0]}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome", "outcome_text", "days_to_outcome", "status",
                              "fu_days"]},
        "arms": [{"name": "rad", "blocks": ["radiomic"], "model": "cox", "tune": False}],
        "validation": {**FAST, **(validation or {})},
    })


# -- the headline ---------------------------------------------------------------------------


def _arm(est, lo, hi):
    return {"metrics": {"roc_auc": {"estimate": est, "ci_low": lo, "ci_high": hi}}}


def _cv_doc(rad, clin, difference):
    arms = {"clin": {"label": "Clinical", "kind": "baseline", "blocks": ["clinical"]},
            "rad": {"label": "Radscore", "kind": "model", "blocks": ["radiomic"]}}
    res = {"clin": _arm(*clin), "rad": {**_arm(*rad), "vs_reference": {
        "reference": "clin", "auc_difference": dict(zip(("estimate", "ci_low", "ci_high"),
                                                        difference, strict=True))}}}
    val = {"scheme": "nested_cv", "label": "Nested CV", "arms": res}
    return {"outcomes": [{"name": "y", "kind": "binary", "arms": arms,
                          "arm_order": ["clin", "rad"], "reference_arm": "clin",
                          "validation": [val]}]}


def test_beating_a_below_chance_reference_is_not_read_as_signal():
    """Null data: radscore 0.56 (0.46-0.64) "has a higher AUC than" clinical 0.36
    (0.24-0.47), difference 0.19 (0.03-0.34), p = 0.012 - with no word that neither arm
    predicts."""
    (h,) = headlines(_cv_doc((0.56, 0.46, 0.64), (0.36, 0.24, 0.47), (0.19, 0.03, 0.34)))
    assert h["best"] == "rad"
    assert h["reference_words"]["relation"] == "has a higher AUC than"
    why = h["reference_words"]["why"]
    assert why.startswith("the whole interval of the difference lies above zero; but ")
    assert "the other arm's AUC lies below chance" in why
    assert "this arm's is not distinguishable from chance" in why
    assert why.endswith("no evidence that this arm predicts")


def test_an_arm_at_chance_above_a_reference_at_chance_is_qualified_too():
    (h,) = headlines(_cv_doc((0.62, 0.49, 0.74), (0.45, 0.33, 0.57), (0.17, 0.02, 0.3)))
    why = h["reference_words"]["why"]
    assert "below chance" not in why
    assert "this arm's AUC is not distinguishable from chance" in why


def test_a_predicting_arm_above_a_below_chance_reference_says_the_gap_is_overstated():
    (h,) = headlines(_cv_doc((0.75, 0.62, 0.86), (0.38, 0.26, 0.49), (0.37, 0.2, 0.5)))
    assert h["reference_words"]["why"].endswith("so the difference overstates what this "
                                                "arm adds")


def test_a_plain_win_keeps_its_plain_words():
    (h,) = headlines(_cv_doc((0.75, 0.62, 0.86), (0.55, 0.42, 0.67), (0.2, 0.05, 0.35)))
    assert h["reference_words"]["why"] == "the whole interval of the difference lies above zero"


# -- the tables -----------------------------------------------------------------------------


def test_a_centre_that_separates_the_outcome_is_said(caplog):
    """Every case from centre A, every control from B, a scanner shift in one feature: AUC
    0.79 "better than chance" without a word."""
    feats, clin = cohort(40)
    positive = (clin["outcome"] == "mets").to_numpy()
    feats["centre"] = np.where(positive, "A", "B")
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        table = build_table(feats, _spec(centre="centre"), clinical=clin)
    assert [title for title, _ in table.alerts] == ["The centre (nearly) separates the outcome"]
    n_pos = int(positive.sum())
    assert (f"outcome mets: the centre column 'centre' separates the outcome (A: {n_pos} of "
            f"{n_pos} patients positive; B: 0 of {40 - n_pos} patients positive)") in caplog.text
    caplog.clear()
    mixed = feats.assign(centre=np.where(np.arange(40) % 2 == 0, "A", "B"))
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        build_table(mixed, _spec(centre="centre"), clinical=clin)
    assert "separates the outcome" not in caplog.text


def test_one_lesion_under_two_patient_ids_is_said(caplog):
    """40 patients copied under '<id>-B' raised a kNN AUC on noise from 0.50 to 0.63."""
    feats, clin = cohort(30)
    copies = feats.iloc[:3].assign(patient_id=lambda f: f["patient_id"] + "-B")
    clin_copies = clin.iloc[:3].assign(patient_id=lambda f: f["patient_id"] + "-B")
    both = pd.concat([feats, copies], ignore_index=True)
    clin_both = pd.concat([clin, clin_copies], ignore_index=True)
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        table = build_table(both, _spec(), clinical=clin_both)
    assert [title for title, _ in table.alerts] == ["Patients under two ids"]
    assert ("3 set(s) of patients share identical feature rows (P000 = P000-B, P001 = "
            "P001-B, P002 = P002-B)") in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        build_table(feats, _spec(), clinical=clin)
    assert "identical feature rows" not in caplog.text


def test_a_model_that_tunes_itself_says_how_instead_of_no_grid(tmp_path):
    """penalised_logistic is described "(penalty tuned)" and its row said "No tuning grid"."""
    import re

    from radiomix.analysis.engine import run_analysis
    from radiomix.report.html import write_report

    feats, clin = cohort(30)
    spec = _spec(arms=[{"name": "pen", "blocks": ["radiomic"], "model": "penalised_logistic"},
                       {"name": "rad", "blocks": ["radiomic"], "model": "logistic"}])
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    arms = doc["outcomes"][0]["arms"]
    assert arms["pen"]["grid"] == {}
    assert arms["pen"]["tuned"].startswith("inside each fit: the penalty (LASSO or ridge)")
    assert arms["rad"]["grid"]
    assert arms["rad"]["tuned"] is None
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", write_report(tmp_path).read_text()))
    assert "Tuned inside each fit: the penalty (LASSO or ridge) and C with the lowest " \
           "log-loss over stratified patient-grouped internal folds." in text


def test_a_small_test_centre_is_exploratory_as_a_validation_not_as_an_outcome():
    """A test centre without positives said "read every result of this outcome as
    exploratory" of an outcome with 40 positives."""
    from radiomix.analysis.engine import _few_events_warning

    val = {"kind": "binary", "name": "y · External", "n_positive": 0, "n_negative": 25,
           "validation_of": True}
    assert _few_events_warning(val).endswith("read every result of this validation as "
                                             "exploratory")
    outcome = {"kind": "binary", "name": "y", "n_positive": 4, "n_negative": 25}
    assert _few_events_warning(outcome).endswith("of this outcome as exploratory")


def test_an_outcome_copy_under_a_feature_name_gets_a_banner(tmp_path, caplog):
    """ct.original.stat.median = y ran with one warning and a headline "AUC 1.00 (0.90-1.00),
    better than chance"; image columns stay exempt from the refusal, so it is shown on top."""
    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(30)
    feats["ct.original.stat.median"] = (clin["outcome"] == "mets").astype(float).to_numpy()
    spec = _spec()
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        table = build_table(feats, spec, clinical=clin)
    assert table.alerts == [("An input holds the outcome", "ct.original.stat.median holds "
                             "outcome mets itself (it agrees on every row)")]
    doc = run_analysis(spec, table, tmp_path, save_models=False)
    (banner,) = doc["banners"]
    assert banner["title"] == "An input holds the outcome"
    assert banner["text"].startswith("ct.original.stat.median holds outcome mets itself")
    plain, _ = cohort(30)
    assert build_table(plain, spec, clinical=clin).alerts == []


def _two_lesions_each(n=30, seed=0):
    feats, clin = cohort(n, seed=seed)
    event = (clin["outcome"] == "mets").astype(int)
    clin["time"] = np.where(event == 1, clin["days_to_outcome"].replace("", "0"),
                            clin["fu_days"]).astype(float)
    clin["event"] = event
    second = feats.assign(lesion_id="2")
    num = [c for c in feats.columns if c.startswith("ct.")]
    second[num] = second[num] * 1.01
    return pd.concat([feats, second], ignore_index=True), clin


def test_survival_counts_patients_with_the_event_and_follow_up_per_patient(tmp_path):
    """"204 events among 240 patients" counted lesion rows (121 patients had the event), and
    the median follow-up was the median of censored lesion rows."""
    import re

    from radiomix.analysis.engine import median_follow_up, run_analysis
    from radiomix.report.html import write_report

    feats, clin = _two_lesions_each()
    spec = _survival_spec()
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    o = doc["outcomes"][0]
    n_event = int(clin["event"].sum())
    assert (o["n_event_patients"], o["n_events"], o["n_rows"]) == (n_event, 2 * n_event, 60)
    once = median_follow_up(clin["time"].to_numpy() / 365.25, clin["event"].to_numpy(),
                            clin["patient_id"].to_numpy())
    assert o["median_follow_up_years"] == once
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", write_report(tmp_path).read_text()))
    assert f"{n_event} of 30 patients with the event ({2 * n_event} of their 60 rows)" in text
    assert "(reverse Kaplan–Meier, patients)" in text


def test_duplicate_patients_are_counted_once_per_pair(caplog):
    """Two lesions of P000 copied under P000-B were "2 set(s)", listed twice."""
    feats, clin = _two_lesions_each(20)
    copies = feats[feats["patient_id"] == "P000"].assign(patient_id="P000-B")
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        build_table(pd.concat([feats, copies], ignore_index=True), _spec(),
                    clinical=pd.concat([clin, clin.iloc[:1].assign(patient_id="P000-B")],
                                       ignore_index=True))
    assert "1 set(s) of patients share identical feature rows (P000 = P000-B)" in caplog.text


def test_level_patient_scores_a_survival_outcome_per_patient(tmp_path):
    """--level patient was silently ignored for survival (C-index over lesions): the C-index
    is now that of the patients' mean risks (lifelines' concordance on one row per patient),
    and the paired comparisons count patients too."""
    from lifelines.utils import concordance_index as lifelines_c

    from radiomix.analysis.engine import run_analysis

    feats, clin = _two_lesions_each()
    feats.loc[feats["lesion_id"] == "2", "ct.original.stat.f00"] += 3.0  # lesions differ
    docs = {}
    for level in ("row", "patient"):
        spec = _survival_spec({"level": level})
        out = tmp_path / level
        docs[level] = run_analysis(spec, build_table(feats, spec, clinical=clin), out,
                                   save_models=False)
        pred = pd.read_csv(out / "predictions.csv")
        pred = pred[(pred["arm"] == "rad") & (pred["scheme"] == "nested_cv")]
        per = pred.groupby("patient_id").agg(time=("time", "first"),
                                             event=("event", "first"), risk=("risk", "mean"))
        rows_c = lifelines_c(pred["time"], -pred["risk"], pred["event"])
        patients_c = lifelines_c(per["time"], -per["risk"], per["event"])
        c = docs[level]["outcomes"][0]["validation"][0]["arms"]["rad"]["metrics"]["c_index"]
        assert c["estimate"] == pytest.approx(patients_c if level == "patient" else rows_c,
                                              abs=1e-9)
    assert docs["row"]["outcomes"][0]["validation"][0]["arms"]["rad"]["metrics"] != \
        docs["patient"]["outcomes"][0]["validation"][0]["arms"]["rad"]["metrics"]


def test_the_checklists_claim_a_calibration_slope_only_where_there_is_one():
    """The survival TRIPOD/CLEAR items claimed "Calibration intercept and slope"."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
    from synthetic import classification_document, survival_document

    from radiomix.report.checklist import build_checklists

    def calibration_texts(doc):
        return [i["detail"] for items in build_checklists(doc).values() for i in items
                if i["topic"].startswith("Calibration")]

    surv = calibration_texts(survival_document())
    assert surv
    assert all("no intercept or slope is computed for a survival outcome" in t for t in surv)
    binary = calibration_texts(classification_document())
    assert binary
    assert all(t.startswith("Calibration intercept and slope") for t in binary)


def test_a_tuned_value_at_the_end_of_its_grid_is_said():
    """A rad-score took the smallest C of its grid in 6 to 8 of 10 folds (calibration slope
    1.4 to 1.9) with nothing said."""
    from radiomix.analysis.engine import _grid_edge_warnings

    grid = {"model__C": [0.03, 0.1, 0.3, 1.0], "model__kind": ["a", "b", "c"]}
    chosen = [{"model__C": 0.03, "model__kind": "a"}] * 7 + [{"model__C": 0.3}] * 3
    (said,) = _grid_edge_warnings(grid, chosen)
    assert said.startswith("tuned model__C took the smallest value of its grid (0.03) in 7 "
                           "of 10 fitted models: the best value may lie beyond the grid "
                           "(0.03, 0.1, 0.3, 1)")
    assert _grid_edge_warnings(grid, [{"model__C": 0.1}] * 6 + [{"model__C": 1.0}] * 4) == []
    assert _grid_edge_warnings({"model__C": [0.1, 1.0]}, [{"model__C": 0.1}] * 5) == []


def test_thresholds_are_listed_in_fold_order(tmp_path):
    """Youden thresholds were listed sorted, so they could not be matched to folds."""
    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(30)
    spec = _spec(validation={"threshold": "youden"})
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    values = doc["outcomes"][0]["validation"][0]["arms"]["rad"]["threshold"]["values"]
    pred = pd.read_csv(tmp_path / "predictions.csv")
    pred = pred[(pred["arm"] == "rad") & (pred["scheme"] == "nested_cv")]
    per_fold = (pred.drop_duplicates(["repeat", "fold"]).sort_values(["repeat", "fold"])
                ["threshold"].round(4).tolist())
    assert values == per_fold
    assert len(values) == 3
    assert values != sorted(values)  # this seed: the fold order is not the sorted one
