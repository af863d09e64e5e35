"""The engine spreads arms and final refits over worker processes; the document does not
depend on how many (each arm is computed on one thread from its own seeds)."""

from __future__ import annotations

import json
import math

import joblib
import numpy as np
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.engine import AnalysisProgress, run_analysis
from radiomix.analysis.spec import analysis_from_dict

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 2, "bootstrap": 60}


def _spec():
    return analysis_from_dict({
        "outcomes": [
            {"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"},
            {"name": "t", "kind": "survival", "time": "fu_days", "event": "outcome",
             "event_value": "mets", "horizons_years": [1]},
        ],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "covariates": ["age", {"name": "sex", "kind": "categorical"}],
                  "excluded": ["outcome_text", "days_to_outcome", "status"]},
        "arms": [
            {"name": "rad_knn", "blocks": ["radiomic"], "model": "knn",
             "outcomes": ["y"]},
            {"name": "nomo", "blocks": ["radiomic", "clinical"], "model": "nomogram",
             "outcomes": ["y"]},
            {"name": "rad_cox", "blocks": ["radiomic"], "model": "coxnet",
             "outcomes": ["t"]},
        ],
        "validation": dict(FAST),
    })


def _numbers(x, path=""):
    """Every leaf of a JSON document with its path (the creation time left out)."""
    if isinstance(x, dict):
        for k, v in x.items():
            if k != "created":
                yield from _numbers(v, f"{path}/{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _numbers(v, f"{path}[{i}]")
    else:
        yield path, x


def test_two_workers_give_the_document_of_one(tmp_path):
    feats, clin = cohort(36, seed=3)
    spec = _spec()
    docs, events = {}, {}
    for jobs in (1, 2):
        table = build_table(feats, spec, clinical=clin)
        seen: list[AnalysisProgress] = []
        run_analysis(spec, table, tmp_path / str(jobs), jobs=jobs, progress=seen.append)
        docs[jobs] = json.loads((tmp_path / str(jobs) / "analysis.json").read_text())
        events[jobs] = seen
    one, two = dict(_numbers(docs[1])), dict(_numbers(docs[2]))
    assert one.keys() == two.keys()
    arms = {k for o in docs[1]["outcomes"] for v in o["validation"] for k in v["arms"]}
    assert {"rad_knn", "nomo", "rad_cox"} <= arms
    for key, a in one.items():
        b = two[key]
        if isinstance(a, float) and isinstance(b, float):
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), key
        else:
            assert a == b, key
    p1 = (tmp_path / "1" / "predictions.csv").read_text().splitlines()
    p2 = (tmp_path / "2" / "predictions.csv").read_text().splitlines()
    assert len(p1) == len(p2) > 36
    # the final models (refitted in the workers) predict as the serial ones do
    m1 = joblib.load(tmp_path / "1" / "model.joblib")["models"]
    m2 = joblib.load(tmp_path / "2" / "model.joblib")["models"]
    table = build_table(feats, spec, clinical=clin)
    X = table.X
    assert m1["y"].keys() == m2["y"].keys()
    assert "nomo" in m1["y"]
    for key, fitted in m1["y"].items():
        cols = fitted["columns"]
        np.testing.assert_allclose(fitted["model"].predict_proba(X[cols]),
                                   m2["y"][key]["model"].predict_proba(X[cols]),
                                   rtol=1e-9, atol=1e-12)
    # progress counts every arm evaluation and final refit once, ending at the total
    for seen in events.values():
        total = seen[0].total
        assert [e.done for e in seen if e.message not in ("done",)][-1] == total
        assert sorted(e.done for e in seen[1:-1]) == list(range(1, total + 1))
        assert seen[-1].message == "done"
