"""Round-4 honesty of the report's curves: each figure draws what its caption states.

An engine run with repeated nested CV (3 repeats) of a binary and a survival outcome: the
decision and calibration curves are the mean of the repeats' curves, computed here again
from ``predictions.csv`` (numpy, lifelines); the Kaplan-Meier entry names the repeat it
draws and gives the log-rank p of every repeat; the report says so where it shows them,
quoting metrics.json; the checklist claims no decision-curve intervals the document lacks.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import logrank_test
from report_checks import metric_problems, parse_report
from synthetic import classification_document

from radiomix.report import write_report
from radiomix.report.checklist import tripod_items

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.engine import run_analysis
from radiomix.analysis.spec import analysis_from_dict

REPEATS = 3


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, pd.DataFrame]:
    feats, clin = cohort(48, seed=4)
    spec = analysis_from_dict({
        "outcomes": [
            {"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"},
            {"name": "t", "kind": "survival", "time": "fu_days", "event": "outcome",
             "event_value": "mets", "horizons_years": [1]},
        ],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age"],
                  "excluded": ["outcome_text", "days_to_outcome", "status"]},
        "arms": [
            {"name": "rad", "blocks": ["radiomic"], "model": "logistic", "outcomes": ["y"]},
            {"name": "rad_cox", "blocks": ["radiomic"], "model": "cox", "outcomes": ["t"]},
        ],
        "validation": {"outer_splits": 3, "inner_splits": 2, "repeats": REPEATS,
                       "bootstrap": 60}})
    out = tmp_path_factory.mktemp("round4")
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), out, save_models=False)
    write_report(out)
    return out, doc, pd.read_csv(out / "predictions.csv")


def _text(page: str) -> str:
    page = re.sub(r"data:image/png;base64,[^\"']+", "", page)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _binary(doc: dict, pr: pd.DataFrame) -> tuple[dict, dict, np.ndarray, pd.DataFrame]:
    o = next(o for o in doc["outcomes"] if o["kind"] == "binary")
    v = o["validation"][0]
    q = pr[(pr["outcome"] == o["name"]) & (pr["scheme"] == v["scheme"]) & (pr["arm"] == "rad")]
    wide = q.pivot(index="row", columns="repeat", values="proba").sort_index()
    y = q.drop_duplicates("row").set_index("row").loc[wide.index, "y_true"]
    return o, v, y.to_numpy().astype(int), wide  # y_true: 1 = the positive class


def test_decision_and_calibration_curves_are_the_mean_of_the_repeats(run) -> None:
    _, doc, pr = run
    _, v, y, wide = _binary(doc, pr)
    assert wide.shape[1] == REPEATS
    dc = v["curves"]["decision"]
    t = np.asarray(dc["threshold"])
    n = y.size

    def nb(p: np.ndarray) -> np.ndarray:
        hit = p[None, :] >= t[:, None]
        return (hit & (y == 1)).sum(1) / n - (hit & (y == 0)).sum(1) / n * t / (1 - t)

    per_repeat = np.mean([nb(wide[r].to_numpy()) for r in wide], axis=0)
    np.testing.assert_allclose(dc["net_benefit"]["rad"], per_repeat, atol=1e-12)
    assert f"mean of {REPEATS} repeats' net-benefit curves" in dc["legend"]
    assert "no interval" in dc["legend"]
    cal = v["curves"]["calibration"]["rad"]
    k = len(cal["predicted"])
    obs = [[y[b].mean() for b in np.array_split(np.argsort(wide[r].to_numpy(), kind="stable"),
                                                 k)] for r in wide]
    np.testing.assert_allclose(cal["observed"], np.mean(obs, axis=0), atol=1e-12)
    assert f"mean of {REPEATS} repeats' calibration curves" in cal["legend"]


def test_km_entry_names_its_repeat_and_gives_every_repeats_logrank(run) -> None:
    _, doc, pr = run
    o = next(o for o in doc["outcomes"] if o["kind"] == "survival")
    v = o["validation"][0]
    km = v["curves"]["km"]
    q = pr[(pr["outcome"] == o["name"]) & (pr["scheme"] == v["scheme"]) & (pr["arm"] == km["arm"])]
    ps, highs = [], []
    for _, g in q.groupby("repeat"):
        hi = (g["risk"] > g["risk_cutoff"]).to_numpy()
        t, e = g["time"].to_numpy(), g["event"].to_numpy()
        ps.append(logrank_test(t[hi], t[~hi], e[hi], e[~hi]).p_value)
        highs.append(int(hi.sum()))
    assert km["n_repeats"] == REPEATS
    np.testing.assert_allclose(km["logrank_p_repeats"], ps, rtol=1e-10)
    assert km["repeat"] == int(np.argsort(ps, kind="stable")[(REPEATS - 1) // 2])
    assert km["logrank_p"] == pytest.approx(ps[km["repeat"]], rel=1e-10)
    assert km["logrank_p_median"] == pytest.approx(float(np.median(ps)), rel=1e-10)
    assert km["logrank_p_min"] == pytest.approx(min(ps), rel=1e-10)
    assert km["logrank_p_max"] == pytest.approx(max(ps), rel=1e-10)
    # the drawn groups are those of that repeat
    assert km["groups"]["high risk"]["at_risk"]["n"][0] == highs[km["repeat"]]
    # counted from 1 in words, the 0-based column value named beside it
    assert km["repeat_number"] == km["repeat"] + 1
    assert (f"repeat {km['repeat'] + 1} of {REPEATS} repeats (column repeat = {km['repeat']}"
            in km["drawn"])
    assert "fixed before any result" in km["arm_rule"]


def test_report_states_what_each_curve_draws(run) -> None:
    out, doc, _ = run
    page = (out / "report.html").read_text(encoding="utf-8")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    parsed = parse_report(page)
    assert metric_problems(parsed.metrics, metrics) == []
    assert parsed.stray == [], parsed.stray
    shown = {el["data-metric"] for el in parsed.metrics}
    si = next(i for i, o in enumerate(doc["outcomes"]) if o["kind"] == "survival")
    kp = f"/outcomes/{si}/validation/0/km"
    for r in range(REPEATS):
        assert f"{kp}/logrank_p_repeats/{r}" in shown
    for key in ("drawn", "logrank_p_median", "logrank_p_min", "logrank_p_max",
                "repeat_number", "drawn_short", "arm_rule"):
        assert f"{kp}/{key}" in shown
    bi = 1 - si
    for kind in ("roc", "calibration", "decision"):
        assert f"/figures/outcomes/{bi}/validation/0/{kind}" in shown, kind
    assert f"/figures/outcomes/{si}/validation/0/km" in shown
    text = _text(page)
    km = doc["outcomes"][si]["validation"][0]["curves"]["km"]
    assert f"The curves are {km['drawn']}" in text
    # the sentence reads the repeat counted from 1 and the reason for its arm
    assert km["arm_rule"] in text
    assert re.search(rf"\(repeat {km['repeat_number']} of {REPEATS} ?: ?"
                     rf"{re.escape(km['drawn_short'])} ?\)", text)
    assert km["drawn_short"] == "the repeat whose log-rank p is the median of the repeats'"
    assert f"mean of {REPEATS} repeats' net-benefit curves" in text
    imgs = re.findall(r'<img [^>]*data-figure="km"[^>]*>', page)
    assert len(imgs) == 1
    legend = json.loads(htmllib.unescape(re.search(r'data-legend="([^"]*)"', imgs[0]).group(1)))
    assert legend == {"drawn": km["drawn"]}


def test_checklist_claims_decision_intervals_only_when_drawn() -> None:
    doc = classification_document()
    assert any(v["curves"].get("decision") for o in doc["outcomes"] for v in o["validation"])
    detail = next(i for i in tripod_items(doc) if i["item"] == "23")["detail"]
    assert "decision curves with intervals" not in detail
    assert "decision curves (net benefit, drawn without intervals)" in detail
    for o in doc["outcomes"]:
        for v in o["validation"]:
            v["curves"]["decision"] = None
    detail = next(i for i in tripod_items(doc) if i["item"] == "23")["detail"]
    assert "decision" not in detail
