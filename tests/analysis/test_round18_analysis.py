"""Eighteenth outside round: analysis inputs and outputs that misled.

- A1: a death typed ``d`` beside the event value ``D`` was read as censored (9 events
  counted as 8), exit 0, nothing said; ``dead`` likewise.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.spec import analysis_from_dict
from radiomix.errors import InputError

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}


def _survival():
    return analysis_from_dict({
        "outcomes": [{"name": "os", "kind": "survival", "time": "fu_days", "event": "status",
                      "event_value": "D"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome", "outcome_text", "days_to_outcome"]},
        "arms": [{"name": "cox", "blocks": ["radiomic"], "radiomic": ["*.stat.f0*"],
                  "model": "coxnet"}],
        "validation": dict(FAST),
    })


@pytest.mark.parametrize("typo", ["d", " D", "D "])
def test_the_event_value_retyped_is_refused(typo):
    feats, clin = cohort(40)
    status = clin["status"].to_numpy(dtype=object)
    status[np.flatnonzero(status == "D")[0]] = typo
    if typo.strip() == "D":  # a cell with spaces around D: the reader may strip it
        status[np.flatnonzero(status == "D")[0]] = "d."
        typo = "d."
    with pytest.raises(InputError, match=rf"holds {typo!r} beside the event value 'D'; they "
                                         r"differ only in case or spacing"):
        build_table(feats, _survival(), clinical=clin.assign(status=status))


def test_the_values_read_as_censored_are_named_with_event_words(caplog):
    feats, clin = cohort(40)  # one lesion per patient
    status = clin["status"].to_numpy(dtype=object)
    status[np.flatnonzero(status == "D")[0]] = "dead"
    counts = {v: int((status == v).sum()) for v in ("D", "NED", "AWD")}
    with caplog.at_level(logging.WARNING):
        build_table(feats, _survival(), clinical=clin.assign(status=status))
    said = [r.getMessage() for r in caplog.records
            if "is read with the event D" in r.getMessage()]
    assert said == [
        f"outcome os: column 'status' is read with the event D ({counts['D']} row(s)) and as "
        f"censored: AWD ({counts['AWD']}), NED ({counts['NED']}), dead (1); 'dead' usually "
        "name(s) an event: if it is this event, recode the column (only the event value "
        "counts as an event); a competing event is censored here"
    ]


def test_one_censoring_code_says_nothing(caplog):
    feats, clin = cohort(40)
    status = np.where(clin["status"] == "D", "D", "alive")
    with caplog.at_level(logging.WARNING):
        build_table(feats, _survival(), clinical=clin.assign(status=status))
    assert "is read with the event" not in caplog.text


def test_unquoted_integer_codes_are_read_as_text():
    """The README's ``event_value: 2`` was refused in a study file ("must be text")."""
    import yaml

    spec = analysis_from_dict(yaml.safe_load("""
outcomes:
  - {name: os, kind: survival, time: fu_days, event: code, event_value: 2}
roles: {group: patient_id, centre: centre}
arms: [{name: cox, blocks: [radiomic], model: coxnet}]
validation: {schemes: [external], test_centres: [2, 3]}
"""))
    assert spec.outcomes[0].event_value == "2"
    assert spec.validation.test_centres == ("2", "3")
    from radiomix.errors import SettingsError

    with pytest.raises(SettingsError, match=r"event_value must be text; got 2\.5 \(float\)"):
        analysis_from_dict(yaml.safe_load("""
outcomes: [{name: os, kind: survival, time: t, event: e, event_value: 2.5}]
roles: {group: patient_id}
arms: [{name: cox, blocks: [radiomic], model: coxnet}]
"""))


# -- A2: inner folds that cannot score a survival tuning grid --------------------------------


def _search_on(t, e, grid=(0.01, 0.1, 1.0)):
    import pandas as pd

    from radiomix.evaluate.survival import fit_survival_tuned
    from radiomix.model.survival import CoxPH

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=len(t))})
    g = np.array([f"P{i}" for i in range(len(t))])
    return fit_survival_tuned(CoxPH(), X, np.asarray(t, float), np.asarray(e), groups=g,
                              param_grid={"penalizer": list(grid)}, inner_splits=3)


def test_no_inner_fold_can_score_the_grid():
    """Every event after every censored time: an inner test fold of one event and one
    censored patient holds no comparable pair, so every point's inner C-index is NaN. The
    search chose the first point silently, reported as a tuned edge value; it is now
    marked untuned, with the weakest penalty."""
    search = _search_on([10.0, 11.0, 12.0, 1.0, 2.0, 3.0], [1, 1, 1, 0, 0, 0],
                        grid=(1.0, 0.1, 0.01))  # the first point was taken before
    assert search.untuned_
    assert search.unscorable_folds_ == 3
    assert search.failed_params_ == []
    assert search.best_params_ == {"model__penalizer": 0.01}  # CoxPH takes the ids


def test_an_unscorable_inner_fold_is_left_out_of_the_means():
    from radiomix.evaluate.survival import scorable_folds_best
    from radiomix.evaluate.validate import scorable_means

    cv = {"split0_test_score": np.array([0.6, 0.7, 0.5]),
          "split1_test_score": np.array([np.nan, np.nan, np.nan]),
          "split2_test_score": np.array([0.8, 0.7, np.nan]),
          "mean_test_score": np.array([np.nan, np.nan, np.nan]),
          "params": [{"penalizer": 1.0}, {"penalizer": 0.1}, {"penalizer": 0.01}]}
    means, unscorable = scorable_means(cv)
    np.testing.assert_allclose(means, [0.7, 0.7, np.nan])  # point 3 failed where others scored
    assert unscorable == 1
    assert scorable_folds_best(cv) == 1  # 0.7 tied: the weaker penalty


def test_the_arm_says_where_tuning_was_impossible():
    from radiomix.analysis.engine import _untuned_warnings

    folds = [{"untuned": True, "best_params": {"model__penalizer": 0.01}},
             {"untuned": False, "unscorable_inner_folds": 1},
             {"untuned": False, "unscorable_inner_folds": 0}]
    said = _untuned_warnings(folds)
    assert said[0].startswith("tuning was impossible in 1 of 3 fitted models: no inner test "
                              "fold held a comparable pair")
    assert '{"model__penalizer": 0.01}' in said[0]
    assert said[1].startswith("in 1 of 3 fitted models some inner test folds held no "
                              "comparable pair")


# -- D1: one patient under two ids, features a re-extraction apart ---------------------------


def _with_copies(n_copies: int, relative: float, seed: int = 5):
    import pandas as pd
    from test_round14_analysis import _spec

    feats, clin = cohort(30)
    rng = np.random.default_rng(seed)
    copies = feats.iloc[:n_copies].assign(patient_id=lambda f: f["patient_id"] + "-B")
    numeric = [c for c in copies.columns if c.startswith("ct.")]
    copies[numeric] = copies[numeric] * (1.0 + relative * rng.normal(size=(n_copies,
                                                                         len(numeric))))
    clin_copies = clin.iloc[:n_copies].assign(patient_id=lambda f: f["patient_id"] + "-B")
    return (pd.concat([feats, copies], ignore_index=True), _spec(),
            pd.concat([clin, clin_copies], ignore_index=True))


def test_patients_under_two_ids_with_re_extraction_noise_are_said(caplog):
    """Copies whose features differ by 1e-6 relative (a re-export) raised a kNN AUC on noise
    from 0.615 to 0.714 with no word: only identical rows were found."""
    feats, spec, clin = _with_copies(3, 1e-6)
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        table = build_table(feats, spec, clinical=clin)
    assert [title for title, _ in table.alerts] == ["Patients under two ids"]
    assert ("3 set(s) of patients share identical or nearly identical feature rows (within "
            "0.0001 standard deviations or 1e-06 of the values in every column) (P000 = "
            "P000-B, P001 = P001-B, P002 = P002-B)") in caplog.text


@pytest.mark.parametrize("relative", [0.02, 0.1])
def test_a_retest_is_no_copy(caplog, relative):
    """Two scans of one lesion differ by percents: not the same rows."""
    feats, spec, clin = _with_copies(3, relative)
    with caplog.at_level(logging.WARNING, logger="radiomix"):
        table = build_table(feats, spec, clinical=clin)
    assert "Patients under two ids" not in [title for title, _ in table.alerts]


def test_no_two_sarcoma_tumours_are_copies(shared_data):
    """The real cohort's feature rows (ct, pet, mr_t1 of 51 patients): no pair is that close."""
    import pandas as pd

    from _data import require_data
    from radiomix.analysis.data import _near_copies

    frames = []
    for case in sorted(p.name for p in require_data("sts", "nifti").iterdir()
                       if p.name.startswith("STS_"))[:20]:
        from radiomix.extraction import extract

        folder = shared_data / "sts" / "nifti" / case / "ct"
        row = extract(folder / "image.nii.gz", folder / "mask.nii.gz",
                      settings={"features": {"families": ["stat", "ih", "glcm"]}}).features
        frames.append({k: v for k, v in row.items() if isinstance(v, float)})
    table = pd.DataFrame(frames)
    ids = np.array([f"P{i}" for i in range(len(table))])
    assert _near_copies(table, ids) == set()
    doubled = pd.concat([table, table.iloc[:2] * (1 + 1e-7)], ignore_index=True)
    assert _near_copies(doubled, np.array([*ids, "Q0", "Q1"])) == {("P0", "Q0"), ("P1", "Q1")}


# -- D2: the volume baseline's coefficient is per unit of log volume -------------------------


def test_the_volume_baseline_names_its_log_term():
    """Its Cox table said HR 1.45 "per unit of each input as given" for the volume column,
    which lifelines puts at 1.0000098 per mm³; 1.48 is per unit of log volume."""
    import pandas as pd
    from lifelines import CoxPHFitter

    from radiomix.analysis.arms import baseline_arms
    from radiomix.analysis.engine import _coefficients

    feats, clin = cohort(60)
    spec = analysis_from_dict({
        "outcomes": [{"name": "os", "kind": "survival", "time": "fu_days", "event": "status",
                      "event_value": "D"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome", "outcome_text", "days_to_outcome"]},
        "arms": [], "baselines": ["volume"], "validation": dict(FAST)})
    table = build_table(feats, spec, clinical=clin)
    arm = next(a for a in baseline_arms(spec, table, spec.outcomes[0], seed=0, n_fit=60)
               if a.key == "volume")
    target = table.targets["os"]
    X = table.X.loc[target.keep, arm.columns]
    from radiomix.model.survival import survival_target

    model = arm.estimator.fit(X, survival_target(target.time_years, target.event))
    [row] = _coefficients(model)
    vol = arm.columns[0]
    assert row["term"] == f"log1p({vol})"
    frame = pd.DataFrame({"t": target.time_years, "e": target.event,
                          "x": np.log1p(X[vol].to_numpy())})
    ref = CoxPHFitter(penalizer=0.01).fit(frame, "t", "e")
    # lifelines' penalty acts on the standardised column, as radiomix's CoxPH: same fit
    assert row["hazard_ratio"] == pytest.approx(float(np.exp(ref.params_["x"])), rel=1e-4)


# -- D3: a re-run without a report leaves no report of the earlier analysis -----------------


def test_an_earlier_report_is_removed_with_its_analysis(tmp_path):
    """`--no-report` into a folder of an earlier analysis kept its report.html and
    metrics.json (two arms that no longer existed) beside the new analysis.json."""
    from test_round14_analysis import _spec

    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(30)
    spec = _spec()
    table = build_table(feats, spec, clinical=clin)
    for name in ("report.html", "metrics.json", "report.pdf", "model.joblib"):
        (tmp_path / name).write_text("an earlier analysis")
    (tmp_path / "notes.txt").write_text("the user's")
    run_analysis(spec, table, tmp_path, save_models=False)  # round 18b: its model stayed
    assert (tmp_path / "analysis.json").is_file()
    assert not [p.name for p in tmp_path.iterdir()
                if p.name in ("report.html", "metrics.json", "report.pdf", "model.joblib")]
    assert (tmp_path / "notes.txt").read_text() == "the user's"


# -- H2: the arm chosen on the training centres among those the test centre could score ----


def test_an_arm_the_test_centre_cannot_score_is_named_not_hidden(tmp_path):
    """The internal-best arm (a ComBat rad-score with a scanner only the test centre has)
    could not be scored externally; the headline took the next and called it "the highest
    ROC AUC there"."""
    import json
    import re

    from radiomix.analysis.engine import run_analysis
    from radiomix.report.html import write_report
    from radiomix.report.words import headlines

    feats, clin = cohort(60, centres=("A", "B", "C"), signal=0.8)
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "centre": "centre",
                  "covariates": ["age"],
                  "derived": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": [{"name": "rad", "blocks": ["radiomic"], "model": "logistic"},
                 {"name": "two", "blocks": ["radiomic"], "radiomic": ["*.stat.f0[01]"],
                  "model": "logistic"}],
        "validation": {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50,
                       "schemes": ["training_internal_external"], "test_centres": ["C"]},
    })
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    (h,) = headlines(doc)
    first = h["best"]
    external = doc["outcomes"][0]["validation"][h["validation"]]["arms"][first]
    external["metrics"]["roc_auc"] = {"estimate": None, "ci_low": None, "ci_high": None,
                                      "reason": "not estimable: a level only the test "
                                                "centre has"}
    (tmp_path / "analysis.json").write_text(json.dumps(doc))
    (h,) = headlines(doc)
    assert h["best"] != first
    assert h["passed_over"] == [first]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", write_report(tmp_path).read_text(
        encoding="utf-8")))
    label = doc["outcomes"][0]["arms"][first]["label"]
    assert "(the highest ROC AUC there among the arms the test centre could score," in text
    assert f"Higher there, but not scorable on the test centre (see their reasons in the " \
           f"table below): {label}." in text


# -- G1: a feature table saved by another tool keeps the study's untrained-network flag -----


def test_a_table_without_provenance_keeps_the_study_s_untrained_flag(tmp_path, monkeypatch):
    """The run's table saved as CSV with pandas (no provenance): the deep arm lost its
    "untrained" flag and banner, although the study falls back to random weights."""
    import pandas as pd

    from _data import DATA_DIR, require_data
    from radiomix.analysis.study import analyse_study
    from radiomix.demo import write_demo_study
    from radiomix.settings.study import load_study

    require_data("sts")
    monkeypatch.setenv("RADIOMIX_CACHE", str(tmp_path / "empty-cache"))  # no weight file
    study_path = write_demo_study(tmp_path / "s", DATA_DIR, patients=12, quick=True, seed=0)
    study = load_study(study_path)
    assert study.weights_fallback  # the premise: random weights here
    manifest = pd.read_csv(study_path.parent / "manifest.csv", dtype=str)
    rng = np.random.default_rng(0)
    n = len(manifest)
    table = manifest[["patient_id", "lesion_id"]].copy()
    for k in range(6):
        table[f"ct.original.stat.f{k}"] = rng.normal(size=n)
    table["ct.original.morph.volume_voxels"] = rng.uniform(1e3, 1e5, size=n)
    for k in range(12):
        table[f"ct.deep.resnet18_2p5d.f{k:03d}"] = rng.normal(size=n)
    path = tmp_path / "features.csv"
    table.to_csv(path, index=False)  # another tool's file: no provenance sidecar
    import json

    analyse_study(study_path, tmp_path / "out", features=path, report=False)
    doc = json.loads((tmp_path / "out" / "analysis.json").read_text(encoding="utf-8"))
    assert [b["title"] for b in doc["banners"]] == ["Untrained deep network"]
    arms = doc["outcomes"][0]["arms"]
    assert arms["deep"]["untrained_deep"]
    assert not arms["radscore"]["untrained_deep"]


def test_codes_with_leading_zeros_stay_as_written():
    """``test_centres: [010]`` was read by YAML 1.1 as the octal 8 and refused as centre '8'."""
    from radiomix.settings.loader import safe_load_unique

    doc = safe_load_unique("test_centres: [010, 2, 0]\nlesion: 007\nseed: 12\ntime: 1:30\n")
    assert doc == {"test_centres": ["010", 2, 0], "lesion": "007", "seed": 12, "time": "1:30"}


def test_qc_thumbnails_of_lesions_whose_ids_differ_only_in_odd_characters_are_two_files():
    from radiomix.analysis.qc import _file_name

    names = {_file_name("STS_001", lesion, "ct") for lesion in ("肝 1", "肺 1", "x y", "x_y",
                                                               "1/2", "1_2")}
    assert len(names) == 6
    assert all(n.startswith("STS_001_") and n.endswith(".png") for n in names)
    assert _file_name("P", "1", "ct") == _file_name("P", "1", "ct")


def test_a_covariate_of_words_read_as_numeric_says_to_declare_its_kind():
    """`--covariates age,sex` said "'Male' is not a number; fix the cell", exit 1."""
    from radiomix.errors import SettingsError

    feats, clin = cohort(30)
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age", "sex"],
                  "derived": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": [{"name": "c", "blocks": ["clinical"], "model": "logistic"}],
        "validation": dict(FAST)})
    with pytest.raises(SettingsError, match=r"covariate 'sex' is read as numeric but holds "
                                            r"words \('Female', 'Male'\): a category; declare "
                                            r"it categorical \(sex:categorical"):
        build_table(feats, spec, clinical=clin)
    # a numeric column with one typo is still a cell to fix
    clin2 = clin.assign(age=clin["age"].astype(str))
    clin2.loc[0, "age"] = "6o"
    spec2 = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age"],
                  "derived": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": [{"name": "c", "blocks": ["clinical"], "model": "logistic"}],
        "validation": dict(FAST)})
    with pytest.raises(InputError, match=r"'6o' is not a number"):
        build_table(feats, spec2, clinical=clin2)


def test_combat_with_one_training_centre_says_why_in_every_row(tmp_path):
    """One training centre under training/internal/external: the apparent and internal rows
    of the harmonised arm said "every point of the tuning grid failed to fit"."""
    from radiomix.analysis.engine import run_analysis

    feats, clin = cohort(40, centres=("A", "B"))
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "centre": "centre",
                  "derived": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": [{"name": "plain", "blocks": ["radiomic"], "model": "logistic"},
                 {"name": "combat", "blocks": ["radiomic"], "model": "logistic",
                  "harmonise": True}],
        "validation": {**FAST, "schemes": ["training_internal_external"],
                       "test_centres": ["B"]}})
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    for v in doc["outcomes"][0]["validation"]:
        reason = repr(v["arms"]["combat"])
        assert "harmonise needs two or more batches in the training rows, but without the " \
               "test centres, the training rows hold one value of 'centre' (A)" in reason, \
               v["scheme"]
        assert "tuning grid" not in reason
        assert v["arms"]["plain"]["metrics"]["roc_auc"]["estimate"] is not None
