"""A Cox term whose partial likelihood is monotone has no finite estimate (Bryson & Johnson
1981): a level without any event is the common case. Such terms are named, in the
coefficient table, in the analysis warnings and in the report, instead of a hazard ratio
of 1e-8 that reads as a finding."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.model.survival import CoxPH, monotone_terms, survival_target


def _monotone_by_hand(x: np.ndarray, time: np.ndarray, event: np.ndarray) -> bool:
    """The definition, one event and one risk set at a time."""
    up = down = True
    informative = False
    for i in np.flatnonzero(event):
        at_risk = x[time >= time[i]]
        up &= bool(x[i] >= at_risk.max())
        down &= bool(x[i] <= at_risk.min())
        informative |= bool(at_risk.max() > at_risk.min())
    return bool(event.any()) and informative and (up or down)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_monotone_terms_follow_the_definition(data):
    n = data.draw(st.integers(2, 12))
    time = np.array(data.draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)), float)
    event = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    X = np.array(data.draw(st.lists(st.lists(st.integers(0, 3), min_size=3, max_size=3),
                                    min_size=n, max_size=n)), float)
    expected = [f"c{j}" for j in range(3) if _monotone_by_hand(X[:, j], time, event)]
    assert monotone_terms(X, time, event, ["c0", "c1", "c2"]) == expected


def _cohort(seed: int = 0, n: int = 60):
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n)
    level = (np.arange(n) % 4 == 0).astype(float)  # a quarter of the patients
    time = rng.exponential(500, n) * np.exp(-0.02 * (age - 60))
    event = rng.random(n) < 0.6
    event[level == 1] = False  # no event at all in that level
    return pd.DataFrame({"age": age, "level": level}), time, event


def test_a_level_without_events_is_monotone_and_its_fit_runs_away():
    """Independent of the criterion: the fitted log-HR of the flagged term keeps growing as
    the ridge penalty shrinks, while the other term's settles."""
    X, time, event = _cohort()
    assert monotone_terms(X.to_numpy(), time, event, list(X.columns)) == ["level"]
    coefs = {pen: CoxPH(penalizer=pen).fit(X, survival_target(time, event)).coef_raw_
             for pen in (1e-1, 1e-2, 1e-3)}
    assert abs(coefs[1e-3][1]) > abs(coefs[1e-2][1]) + 1.0 > abs(coefs[1e-1][1]) + 2.0
    assert abs(coefs[1e-3][0] - coefs[1e-2][0]) < 0.01
    table = CoxPH(penalizer=0.01).fit(X, survival_target(time, event)).coefficients()
    assert table.set_index("term")["monotone"].to_dict() == {"age": False, "level": True}


def test_the_same_cohort_with_events_in_every_level_is_not_flagged():
    X, time, event = _cohort()
    event = event.copy()
    event[np.flatnonzero(X["level"].to_numpy() == 1)[:3]] = True
    assert monotone_terms(X.to_numpy(), time, event, list(X.columns)) == []
    table = CoxPH(penalizer=0.01).fit(X, survival_target(time, event)).coefficients()
    assert not table["monotone"].any()


def test_a_lasso_fit_does_not_flag_its_shrunken_terms():
    X, time, event = _cohort()
    table = CoxPH(penalizer=0.1, l1_ratio=1.0).fit(X, survival_target(time, event)).coefficients()
    assert not table["monotone"].any()


def test_a_cox_arm_names_the_term_in_warnings_json_and_report(tmp_path):
    """End to end through ``radiomix model``: a clinical level without events in a Cox arm."""
    from typer.testing import CliRunner

    from radiomix.cli import app

    rng = np.random.default_rng(1)
    n = 60
    ids = [f"P{i:03d}" for i in range(n)]
    X, time, event = _cohort(seed=1, n=n)
    features = pd.DataFrame({"patient_id": ids, "lesion_id": "1",
                             "ct.original.stat.mean": rng.normal(size=n) + 0.5 * event})
    clinical = pd.DataFrame({"patient_id": ids, "age": X["age"].round(1),
                             "site": np.where(X["level"] == 1, "trunk", "limb"),
                             "days": np.round(time, 1), "dead": event.astype(int)})
    features.to_csv(tmp_path / "f.csv", index=False)
    clinical.to_csv(tmp_path / "c.csv", index=False)
    res = CliRunner().invoke(app, [
        "model", "--features", str(tmp_path / "f.csv"), "--clinical", str(tmp_path / "c.csv"),
        "--time", "days", "--event", "dead", "--model", "cox", "--covariates",
        "age,site:categorical", "--arms", "radiomics", "--outer", "3", "--inner", "2",
        "--repeats", "1", "--bootstrap", "50", "-q", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "out" / "analysis.json").read_text())
    flagged = [w for w in doc["warnings"] if "monotone partial likelihood" in w]
    assert flagged, doc["warnings"]
    assert all("site=" in w for w in flagged), flagged
    arms = doc["outcomes"][0]["validation"][0]["arms"]
    terms = {c["term"]: c["monotone"] for a in arms.values() for c in a.get("coefficients") or []}
    assert any(v for k, v in terms.items() if k.startswith("site")), terms
    assert not any(v for k, v in terms.items() if not k.startswith("site")), terms
    assert "monotone partial likelihood" in res.output
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "not estimable</strong> (monotone likelihood)" in html


@pytest.mark.parametrize("with_events", [False, True])
def test_the_cox_nomogram_flags_its_term(with_events):
    from radiomix.model.nomogram import CoxNomogram

    X, time, event = _cohort(seed=2)
    if with_events:
        event = event.copy()
        event[np.flatnonzero(X["level"].to_numpy() == 1)[:3]] = True
    nomo = CoxNomogram(radiomic_columns=None).fit(X, survival_target(time, event))
    assert nomo.separated_ == ([] if with_events else ["level"])
    table = nomo.coefficients()
    assert list(table["term"]) == ["age", "level"]
    assert list(table["monotone"]) == [False, not with_events]


def test_a_reference_level_without_events_marks_every_level_of_its_covariate():
    """Re-check of round 17: a level without events was flagged only when it was not the
    reference level; named to sort first ('Absent'), its covariate's other indicators got
    hazard ratios of 3.4-3.8 read as estimates (each indicator alone is not monotone: the
    risk sets hold patients of the other levels)."""
    rng = np.random.default_rng(4)
    n = 90
    level = np.array(["Absent", "High", "Low"])[np.arange(n) % 3]
    time = rng.exponential(500, n)
    event = (rng.random(n) < 0.6) & (level != "Absent")
    design = np.column_stack([(level == "High").astype(float), (level == "Low").astype(float),
                              rng.normal(60, 10, n)])
    terms = ["grade=High", "grade=Low", "age"]
    assert monotone_terms(design[:, :2], time, event, terms[:2]) == terms[:2]
    assert monotone_terms(design, time, event, terms) == terms[:2]
    # each indicator alone is not monotone (the other level's events break it)
    for j in (0, 1):
        assert monotone_terms(design[:, [j]], time, event, ["x"]) == []
    # with events in the reference level nothing is flagged
    event = rng.random(n) < 0.6
    assert monotone_terms(design, time, event, terms) == []
