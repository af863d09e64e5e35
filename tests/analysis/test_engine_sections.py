"""Optional sections the engine writes for the report: the nomogram (applicable by hand),
QC thumbnails, per-arm confounding checks."""

from __future__ import annotations

import joblib
import numpy as np
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
    assert nomo["arm"] == "nomo" and nomo["link"] == "logit"
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
