"""Optional sections the engine writes for the report: the nomogram (applicable by hand),
QC thumbnails, per-arm confounding checks."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.engine import run_analysis
from radiomix.analysis.spec import analysis_from_dict

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}


def _spec():
    return analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets",
                      "label": "metastasis"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "covariates": ["age", {"name": "sex", "kind": "categorical"},
                                 {"name": "grade", "kind": "ordinal",
                                  "levels": ["Low", "Intermediate", "High"]}]},
        "arms": [{"name": "nomo", "blocks": ["radiomic", "clinical"], "model": "nomogram"}],
        "baselines": [],
        "validation": dict(FAST),
    })


def _score_from_doc(nomo, row, raw):
    """The linear predictor a clinician computes from the chart's numbers alone."""
    eta = nomo["intercept"]
    rs = nomo["radscore"]
    score = rs["intercept"] + sum(t["coef"] * (row[t["column"]] - t["mean"]) / t["sd"]
                                  for t in rs["terms"])
    for t in nomo["terms"]:
        if t["term"] == "radscore":
            eta += t["coef"] * score
        elif t["kind"] == "numeric":
            eta += t["coef"] * float(raw[t["label"]])
        else:
            level = {lv["level"]: lv["coef"] for lv in t["levels"]}
            eta += level[str(raw[t["label"]])]
    return 1 / (1 + np.exp(-eta))


def test_the_nomogram_section_reproduces_the_final_model(tmp_path):
    feats, clin = cohort(40)
    spec = _spec()
    table = build_table(feats, spec, clinical=clin)
    doc = run_analysis(spec, table, tmp_path)
    nomo = doc["outcomes"][0]["nomogram"]
    assert nomo["arm"] == "nomo"
    assert nomo["link"] == "logit"
    assert "metastasis" in nomo["risk_label"]
    kinds = {t["label"]: t["kind"] for t in nomo["terms"]}
    assert kinds == {"rad-score": "numeric", "age": "numeric", "sex": "categorical",
                     "grade": "categorical"}
    grade = next(t for t in nomo["terms"] if t["label"] == "grade")
    assert [lv["level"] for lv in grade["levels"]] == ["Low", "Intermediate", "High"]
    assert grade["levels"][0]["coef"] == 0.0
    sex = next(t for t in nomo["terms"] if t["label"] == "sex")
    assert [lv["level"] for lv in sex["levels"]] == ["Female", "Male"]
    assert nomo["radscore"]["terms"]  # every kept rad-score term, with its mean and SD
    model = joblib.load(tmp_path / "model.joblib")["models"]["y"]["nomo"]
    X = table.X[model["columns"]]
    p_model = model["model"].predict_proba(X)[:, 1]
    raw = clin.set_index("patient_id")
    for i in range(len(X)):
        pid = table.groups[i]
        p_doc = _score_from_doc(nomo, X.iloc[i], raw.loc[pid])
        assert abs(p_doc - p_model[i]) < 1e-9, pid


def test_a_nomogram_term_that_separates_the_outcome_is_flagged(tmp_path):
    """Round 16: every woman of the training patients negative gave sex an odds ratio of
    about 1e8 in the final nomogram, drawn and headlined without a word. The same cohort
    with sex drawn at random raises nothing."""
    feats, clin = cohort(40)
    spec = _spec()
    quiet = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path / "a")
    assert quiet["outcomes"][0]["nomogram"]["separation"] is None
    positive = (clin["outcome"] == "mets").to_numpy()
    clin["sex"] = np.where(positive, "Male", np.where(np.arange(40) % 2 == 0, "Female", "Male"))
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path / "b")
    nomo = doc["outcomes"][0]["nomogram"]
    assert nomo["separation"] is not None
    assert nomo["separation"].startswith("the nomogram's term(s) sex=Male (odds ratio ")
    assert [w for w in doc["warnings"] if w.startswith("y: the nomogram's term(s) sex=Male")]
    from radiomix.report.html import write_report

    html = write_report(tmp_path / "b").read_text(encoding="utf-8")
    assert "Separation: terms not estimable" in html


def test_separating_terms_by_hand():
    from radiomix.model.nomogram import separating_terms

    y = np.array([1, 1, 0, 0, 0, 1])
    design = np.column_stack([
        [1, 1, 0, 1, 0, 1],        # quasi: every positive at 1, negatives at 0 and 1
        [5.0, 6.0, 1.0, 2.0, 3.0, 4.0],  # complete: positives above every negative
        [1, 0, 1, 0, 1, 0],        # mixed on both sides
        [2, 2, 2, 2, 2, 2],        # constant: separates nothing
        [0.0, 3.0, 2.0, 1.0, np.nan, 0.5],  # overlapping, with a missing value
    ]).astype(float)
    assert separating_terms(design, y, ["a", "b", "c", "d", "e"]) == ["a", "b"]
    assert separating_terms(design, np.ones(6, int), ["a", "b", "c", "d", "e"]) == []


def test_qc_thumbnails_use_a_fixed_window_per_modality(tmp_path, shared_data, monkeypatch):
    import SimpleITK as sitk

    from radiomix.analysis.qc import qc_section
    from radiomix.settings.study import load_study

    monkeypatch.setenv("RADIOMIX_DATA", str(shared_data))
    study = load_study("examples/sts/study.yaml")
    patients = ["STS_003", "STS_001", "STS_002", "STS_004", "STS_005"]
    qc = qc_section(study, patients, tmp_path, n_patients=2)
    items = qc["items"]
    # two patients spread over the sorted ids (first and last), every tag of each
    assert sorted({i["patient_id"] for i in items}) == ["STS_001", "STS_005"]
    assert {i["tag"] for i in items} == {"ct", "pet", "mr_t1"}
    by_tag = {i["tag"]: i for i in items if i["patient_id"] == "STS_001"}
    assert by_tag["ct"]["window"] == [-160.0, 240.0]
    assert by_tag["ct"]["window_unit"] == "HU"
    assert by_tag["pet"]["window"] == [0.0, 10.0]
    assert by_tag["pet"]["window_unit"] == "SUV"
    assert by_tag["mr_t1"]["window"] is None  # no absolute scale: per-image percentiles
    for item in items:
        png = (tmp_path / item["image"]).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        # the slice shown is the largest ROI slice of the mask file
        tag_dir = shared_data / "sts" / "nifti" / item["patient_id"] / item["tag"]
        m = sitk.GetArrayFromImage(sitk.ReadImage(str(tag_dir / "mask.nii.gz"))) > 0
        assert item["slice_index"] == int(np.argmax(m.sum(axis=(1, 2))))


def test_each_arm_reports_how_its_features_go_with_volume(tmp_path):
    from scipy.stats import spearmanr

    feats, clin = cohort(40)
    vol = feats["ct.original.morph.volume_mesh"].to_numpy()
    rng = np.random.default_rng(3)
    feats["ct.original.stat.f00"] += 3.0 * np.log(vol)  # a signal feature that is also size
    feats["ct.original.stat.size_like"] = vol * rng.lognormal(0, 0.05, len(vol))
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age"]},
        "arms": [{"name": "rs", "blocks": ["radiomic"], "model": "radscore"},
                 {"name": "knn", "blocks": ["radiomic"], "model": "knn"}],
        "validation": dict(FAST),
    })
    table = build_table(feats, spec, clinical=clin)
    doc = run_analysis(spec, table, tmp_path)
    conf = doc["outcomes"][0]["confounding"]
    assert conf["volume_column"] == "ct.original.morph.volume_mesh"
    assert set(conf["arms"]) == {"rs", "knn"}  # clinical, volume, prevalence read none
    knn = conf["arms"]["knn"]
    assert knn["n_features"] == 13  # every radiomic input but the volume itself
    assert knn["items"][0]["column"] == "ct.original.stat.size_like"
    assert knn["n_strong_volume"] >= 1
    for arm in conf["arms"].values():
        for item in arm["items"]:
            rho = spearmanr(feats[item["column"]], vol)[0]
            assert item["volume_rho"] == pytest.approx(rho, abs=1e-12)
    model = joblib.load(tmp_path / "model.joblib")["models"]["y"]["rs"]["model"]
    rs = model.best_estimator_.steps[-1][1]
    assert conf["arms"]["rs"]["n_features"] == int(np.count_nonzero(rs.coef_))


def test_an_arm_with_a_stability_filter_reports_what_each_family_keeps(tmp_path):
    import pandas as pd

    feats, clin = cohort(30)
    rad = [c for c in feats.columns if c.startswith("ct.original.stat.")]
    icc = {c: (0.9 if i % 3 else 0.2) for i, c in enumerate(rad)}
    icc["ct.original.morph.volume_mesh"] = 0.95
    pd.DataFrame({"feature": list(icc), "icc": list(icc.values()),
                  "ci_low": list(icc.values())}).to_csv(tmp_path / "stab.csv", index=False)
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age"]},
        "arms": [{"name": "robust", "blocks": ["radiomic"], "model": "logistic",
                  "stability": "stab.csv"}],
        "baselines": [],
        "validation": dict(FAST),
    })
    table = build_table(feats, spec, clinical=clin)
    doc = run_analysis(spec, table, tmp_path / "o", base_dir=tmp_path)
    st = doc["outcomes"][0]["arms"]["robust"]["stability"]
    assert st["table"] == "stab.csv"
    assert st["threshold"] == 0.75
    fams = {r["family"]: (r["n_kept"], r["n_in"]) for r in st["by_family"]}
    n_stat = len(rad)
    assert fams["stat"] == (sum(v >= 0.75 for c, v in icc.items() if ".stat." in c), n_stat)
    assert fams["morph"] == (1, 1)
    # round 16: the columns the filter drops are no candidates (the console's "inputs",
    # the EPV warning); they still reach the pipeline, whose first step drops them
    arm = doc["outcomes"][0]["arms"]["robust"]
    dropped = sum(v < 0.75 for v in icc.values())
    assert arm["n_unstable"] == dropped
    assert arm["n_columns"] == len(arm["columns"])
    # round 17: the description counted every listed column as read by the model
    assert f"the {dropped} column(s) below it, or not assessed, are dropped" in \
        arm["description"]
    epv = [w for w in doc["warnings"] if "robust" in w and "candidate variable" in w]
    assert epv
    assert all(f"for {arm['n_columns'] - dropped} candidate" in w for w in epv), epv
    # round 17: model.joblib kept the table's absolute path (a folder can name a user)
    saved = (tmp_path / "o" / "model.joblib").read_bytes()
    assert str(tmp_path).encode() not in saved
    model = joblib.load(tmp_path / "o" / "model.joblib")["models"]["y"]["robust"]
    selectors = [s for s in _steps(model["model"]) if type(s).__name__ == "StabilitySelector"]
    assert selectors
    assert all(s.stability == "stab.csv" for s in selectors)
    X = table.X[model["columns"]]
    assert np.isfinite(model["model"].predict_proba(X)[:, 1]).all()  # still predicts


def _steps(model):
    """Every estimator inside a fitted model (searches, pipelines, their templates)."""
    out, todo = [], [model]
    while todo:
        m = todo.pop()
        out.append(m)
        for name in ("best_estimator_", "estimator"):
            if hasattr(m, name):
                todo.append(getattr(m, name))
        if hasattr(m, "steps"):
            todo.extend(step for _, step in m.steps)
    return out


def test_qc_thumbnails_of_an_earlier_analysis_are_removed(tmp_path, shared_data, monkeypatch):
    """A nineteenth-round finding: an analysis folder re-used after a patient left the
    study kept that patient's thumbnail (an image of someone no longer in the study)."""
    from radiomix.analysis.qc import qc_section
    from radiomix.settings.study import load_study

    monkeypatch.setenv("RADIOMIX_DATA", str(shared_data))
    study = load_study("examples/sts/study.yaml")
    first = qc_section(study, ["STS_001", "STS_002"], tmp_path, n_patients=1)
    assert {i["patient_id"] for i in first["items"]} == {"STS_001"}
    second = qc_section(study, ["STS_002", "STS_003"], tmp_path, n_patients=1)
    assert {i["patient_id"] for i in second["items"]} == {"STS_002"}
    on_disk = sorted(p.name for p in (tmp_path / "qc").glob("*.png"))
    assert on_disk == sorted(i["image"].split("/")[-1] for i in second["items"])
    assert not any(name.startswith("STS_001") for name in on_disk)
