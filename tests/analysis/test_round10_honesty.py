"""Tenth outside round: claims the analysis made that its own numbers did not support, and
inputs it took silently."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from radiomix.errors import InputError, SettingsError


def _spec(derived=("outcome_text", "days_to_outcome", "status", "fu_days"), **roles):
    from radiomix.analysis.spec import analysis_from_dict

    return analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "derived": list(derived),
                  **roles},
        "arms": [{"name": "rad", "blocks": ["radiomic"], "model": "logistic"}],
        "validation": {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50},
    })


def test_a_misspelt_derived_column_is_refused_with_the_near_name():
    """``--derived lung_mets_dayz`` was taken silently: the real column escaped the time
    checks, and a noisy copy of it reached the model (AUC 0.95)."""
    from _synthetic import cohort

    from radiomix.analysis.data import build_table

    feats, clin = cohort(30)
    with pytest.raises(InputError, match=r"\['fu_dayz'\].*derived.*did you mean 'fu_days'"):
        build_table(feats, _spec(derived=("outcome_text", "days_to_outcome", "status",
                                          "fu_dayz")), clinical=clin)
    with pytest.raises(InputError, match=r"excluded.*'sexx': did you mean 'sex'"):
        build_table(feats, _spec(excluded=["sexx"]), clinical=clin)


def test_an_input_that_follows_an_unused_numeric_column_is_said(caplog):
    """A feature that copies a follow-up left undeclared in the table was used without a
    word; now the warning names the column and ``--derived``."""
    from _synthetic import cohort

    from radiomix.analysis.data import build_table

    feats, clin = cohort(40)
    rng = np.random.default_rng(1)
    follow = rng.uniform(100, 2000, 40)
    clin["follow_up_days"] = follow.round(0).astype(int).astype(str)
    feats["ct.original.stat.leaky"] = follow + rng.normal(0, 3, 40)
    with caplog.at_level("WARNING", logger="radiomix.analysis.data"):
        build_table(feats, _spec(), clinical=clin)
    said = [r.getMessage() for r in caplog.records if "follows follow_up_days" in r.getMessage()]
    assert said
    assert "ct.original.stat.leaky" in said[0]
    assert "--derived" in said[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="radiomix.analysis.data"):  # unrelated: silent
        build_table(feats.drop(columns=["ct.original.stat.leaky"]), _spec(), clinical=clin)
    assert not any("follows follow_up_days" in r.getMessage() for r in caplog.records)


def test_one_patient_of_a_class_is_named_not_called_a_single_class():
    from _synthetic import cohort

    from radiomix.analysis.data import build_table

    feats, clin = cohort(30)
    clin["outcome"] = "none"
    clin.loc[4, "outcome"] = "mets"
    with pytest.raises(InputError, match=r"class 'mets' of column 'outcome' has 1 patient"):
        build_table(feats, _spec(), clinical=clin)


def test_times_in_years_declared_as_days_are_said(caplog):
    """A follow-up of 5.8 "days" passed without a word (only a horizon refusal later)."""
    from _synthetic import cohort

    from radiomix.analysis.data import build_table
    from radiomix.analysis.spec import analysis_from_dict

    feats, clin = cohort(30)
    clin["fu_years"] = np.linspace(0.3, 5.8, 30).round(2).astype(str)
    spec = analysis_from_dict({
        "outcomes": [{"name": "os", "kind": "survival", "time": "fu_years", "event": "status",
                      "event_value": "D"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome", "outcome_text", "days_to_outcome", "fu_days"]},
        "arms": [{"name": "cox", "blocks": ["radiomic"], "model": "coxnet"}],
        "validation": {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50},
    })
    with caplog.at_level("WARNING", logger="radiomix.analysis.data"):
        build_table(feats, spec, clinical=clin)
    assert "longest follow-up of 5.8 days" in caplog.text
    assert "--time-unit" in caplog.text


def test_study_file_typos_get_the_fix():
    from radiomix.analysis.spec import analysis_from_dict
    from radiomix.settings.loader import settings_from_dict  # noqa: F401  (the loader path)

    with pytest.raises(SettingsError, match=r"'outcome' .*did you mean 'outcomes'"):
        analysis_from_dict({"outcome": [{"name": "y", "kind": "binary", "column": "c"}]})
    with pytest.raises(SettingsError, match=r'quote the value.*positive: "yes"'):
        analysis_from_dict({"outcomes": [{"name": "y", "kind": "binary", "column": "c",
                                          "positive": True}]})
    # the message names which outcome: by its name, or by its position without one
    with pytest.raises(SettingsError, match=r"^analysis\.outcomes\[second\]\.positive "):
        analysis_from_dict({"outcomes": [
            {"name": "first", "kind": "binary", "column": "c", "positive": "1"},
            {"name": "second", "kind": "binary", "column": "d", "positive": False}]})
    with pytest.raises(SettingsError, match=r"--test-centre.*--centre"):
        analysis_from_dict({"outcomes": [{"name": "y", "kind": "binary", "column": "c"}],
                            "validation": {"schemes": ["external"]}})


def _arm(est, lo, hi, metric="roc_auc"):
    return {"metrics": {metric: {"estimate": est, "ci_low": lo, "ci_high": hi}}}


def _external_doc(exploratory=None):
    arms = {"clin": {"label": "Clinical", "kind": "baseline", "blocks": ["clinical"]},
            "rad": {"label": "Radiomics", "kind": "model", "blocks": ["radiomic"]},
            "vol": {"label": "Volume", "kind": "baseline", "blocks": ["volume"]}}
    internal = {"scheme": "internal", "label": "Internal",
                "arms": {"clin": _arm(0.75, 0.6, 0.9), "rad": _arm(0.70, 0.5, 0.85),
                         "vol": _arm(0.6, 0.45, 0.75)}}
    external = {"scheme": "external", "label": "External",
                "arms": {"clin": _arm(0.38, 0.1, 0.7), "rad": _arm(0.88, 0.7, 1.0),
                         "vol": _arm(0.30, 0.05, 0.6)}}
    return {"outcomes": [{"name": "y", "kind": "binary", "arms": arms,
                          "arm_order": ["clin", "rad", "vol"], "reference_arm": "clin",
                          "validation": [internal, external], "exploratory": exploratory}]}


def test_external_headline_names_the_arms_that_scored_higher_on_the_test_centre():
    """"No other arm reached a higher ROC AUC" was printed under an external headline whose
    test centre had three arms above the chosen one: the claim was about the training
    centres only."""
    from radiomix.report.words import headlines

    (h,) = headlines(_external_doc())
    assert (h["best"], h["chosen_on"], h["validation"]) == ("clin", 0, 1)
    assert h["higher_on_judged"] == ["rad"]
    assert h["best_words"].startswith("not distinguishable from chance")


def test_an_exploratory_outcome_gets_no_verdict():
    """3 positives of 51 on random labels: "better than chance … fairly precise" and a
    difference "p = 0.001" in the headline."""
    from radiomix.report.words import EXPLORATORY_WORDS, headlines

    doc = _external_doc("y: only 3 patient(s) of its smaller class ...")
    ext = doc["outcomes"][0]["validation"][1]["arms"]
    ext["clin"] = _arm(0.97, 0.89, 1.0)
    ext["clin"]["vs_arms"] = {"vol": {"auc_difference": {"estimate": 0.6, "ci_low": 0.4,
                                                         "ci_high": 0.8}}}
    (h,) = headlines(doc)
    assert h["best_words"] == EXPLORATORY_WORDS
    assert "no claim" in h["volume_words"]["why"]
    plain = copy.deepcopy(doc)
    plain["outcomes"][0]["exploratory"] = None
    (h2,) = headlines(plain)
    assert h2["best_words"].startswith("better than chance")
    assert h2["volume_words"]["relation"].startswith("has a higher")


def test_complete_follow_up_keeps_the_c_index():
    """Every patient with the event: Harrell's C is defined (pairs of distinct times), but
    it was refused for want of patients "without the event"."""
    from radiomix.evaluate.survival import _survival_metrics, concordance_index

    rng = np.random.default_rng(2)
    t = rng.uniform(0.1, 5.0, 40)
    risk = -t + rng.normal(0, 1.5, 40)
    e = np.ones(40, dtype=int)
    g = np.array([f"P{i}" for i in range(40)])
    met = _survival_metrics(t, e, g, risk[None], horizons=[1.0], n_bootstrap=200,
                            min_at_risk=5, random_state=0, cross_validated=False,
                            on_refused_horizon="record").set_index("metric")
    assert met.loc["c_index", "estimate"] == pytest.approx(concordance_index(t, risk, e))
    assert np.isfinite(met.loc["td_auc", "estimate"])


def test_a_small_test_centre_is_exploratory_even_in_a_large_outcome():
    """A 3-positive external centre got "better than chance" because the flag counted the
    whole outcome (19 of 51)."""
    from radiomix.report.words import EXPLORATORY_WORDS, headlines

    doc = _external_doc()
    ext = doc["outcomes"][0]["validation"][1]
    ext["arms"]["clin"] = _arm(0.91, 0.72, 1.0)
    (h,) = headlines(doc)
    assert h["best_words"].startswith("better than chance")
    ext["exploratory"] = "y · External: only 3 patient(s) of its smaller class ..."
    (h,) = headlines(doc)
    assert h["best_words"] == EXPLORATORY_WORDS


def test_the_engine_flags_each_run_by_its_own_patients():
    from radiomix.analysis.engine import _few_events_warning

    run = {"kind": "binary", "name": "y · External", "n_positive_patients": 3,
           "n_negative_patients": 9}
    assert "only 3 patient(s) of its smaller class" in _few_events_warning(run)
    assert _few_events_warning({**run, "n_positive_patients": 12, "n_negative_patients": 20}) \
        is None
    surv = {"kind": "survival", "name": "os · External", "n_event_patients": 4, "n_events": 6}
    assert "only 4 patient(s) with the event" in _few_events_warning(surv)


def test_a_case_only_misspelling_gets_the_column():
    from _synthetic import cohort

    from radiomix.analysis.data import build_table

    feats, clin = cohort(30)
    with pytest.raises(InputError, match=r"'FU_DAYS': did you mean 'fu_days'"):
        build_table(feats, _spec(derived=("outcome_text", "days_to_outcome", "status",
                                          "FU_DAYS")), clinical=clin)


def test_model_puts_the_guard_warnings_in_the_document(tmp_path):
    """The leak guard's warnings reached the console only under ``radiomix model``."""
    from _synthetic import cohort

    from radiomix.analysis.adhoc import run_adhoc

    feats, clin = cohort(40)
    rng = np.random.default_rng(1)
    follow = rng.uniform(100, 2000, 40)
    clin["follow_up_days"] = follow.round(0).astype(int).astype(str)
    feats["ct.original.stat.leaky"] = follow + rng.normal(0, 3, 40)
    feats.to_parquet(tmp_path / "f.parquet")
    clin.to_csv(tmp_path / "c.csv", index=False)
    doc = run_adhoc(tmp_path / "out", features=tmp_path / "f.parquet",
                    clinical=tmp_path / "c.csv", target="outcome", positive="mets",
                    derived="outcome_text,days_to_outcome,status,fu_days", arms="radiomics",
                    outer=3, inner=2, repeats=1, bootstrap=50, report=False)
    assert any("follows follow_up_days" in w for w in doc["warnings"])


def test_the_time_a_run_table_records_is_never_a_model_input(tmp_path):
    """Round 16: ``radiomix model --target lung_mets --columns 'pet.*,lung_mets_days'`` on a
    ``radiomix run`` table took the study's time to the outcome as a feature (AUC 0.92
    against 0.71 without it): the table records its study's outcome columns."""
    from _synthetic import cohort

    from radiomix.analysis.adhoc import run_adhoc
    from radiomix.table import write_table

    feats, clin = cohort(40)
    y = (clin["outcome"] == "mets").to_numpy()
    feats["outcome"] = np.where(y, 1, 0)
    feats["days_to_event"] = np.where(y, 200.0, 1500.0) + np.arange(40)
    path = write_table(feats.to_dict("records"), tmp_path / "f.parquet", provenance={
        "study": {"columns": {"time": "days_to_event", "event": "outcome",
                              "labels": ["outcome"]}}})
    with pytest.raises(SettingsError, match=r"days_to_event is an outcome column of the study "
                                            r"that wrote the table .* cannot be a model input"):
        run_adhoc(tmp_path / "a", features=path, target="outcome", positive="1",
                  columns="ct.original.stat.*,days_to_event", outer=3, inner=2, repeats=1,
                  bootstrap=50, report=False)
    # as the survival time it is the outcome, not an input
    doc = run_adhoc(tmp_path / "b", features=path, time="days_to_event", event="outcome",
                    columns="ct.original.stat.f0*", outer=3, inner=2, repeats=1, bootstrap=50,
                    report=False)
    assert doc["outcomes"][0]["kind"] == "survival"
