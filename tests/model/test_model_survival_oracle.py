"""Cox models against lifelines on its bundled Rossi data; the sarcoma outcome by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi

from _data import require_data, sts_lung_metastasis_outcome
from radiomix.errors import InputError
from radiomix.model.survival import (
    CoxPH,
    LassoCox,
    split_survival_target,
    survival_target,
)


@pytest.fixture(scope="module")
def rossi():
    d = load_rossi()
    return d.drop(columns=["week", "arrest"]), survival_target(d["week"], d["arrest"]), d


def test_cox_coefficients_and_survival_equal_lifelines(rossi):
    X, y, d = rossi
    cox = CoxPH().fit(X, y)
    ref = CoxPHFitter().fit(d, "week", "arrest")
    np.testing.assert_allclose(cox.coef_raw_, ref.params_[X.columns].to_numpy(), rtol=1e-6)
    # published Rossi estimates (lifelines docs / Fox 2002): prio 0.0915, fin -0.379
    assert cox.coef_raw_[list(X.columns).index("prio")] == pytest.approx(0.0915, abs=5e-4)
    assert cox.coef_raw_[list(X.columns).index("fin")] == pytest.approx(-0.379, abs=5e-4)
    t = [10.0, 30.0, 52.0]
    np.testing.assert_allclose(
        cox.predict_survival(X, t),
        ref.predict_survival_function(X, times=t).to_numpy().T,
        rtol=1e-6,
    )
    assert cox.score(X, y) == pytest.approx(ref.concordance_index_, abs=1e-12)
    assert list(cox.summary_.index) == list(X.columns)


def test_lasso_cox_shrinks_and_selects(rossi):
    X, y, _ = rossi
    full = CoxPH().fit(X, y)
    weak = LassoCox(penalizer=0.005).fit(X, y)
    strong = LassoCox(penalizer=0.2).fit(X, y)
    assert np.abs(weak.coef_).sum() < np.abs(full.coef_).sum()
    assert not strong.coefficients()["selected"].any()
    sel = weak.coefficients()
    assert sel["selected"].sum() >= 1
    assert set(sel.columns) == {
        "term",
        "coef_standardised",
        "coef_raw",
        "hazard_ratio_raw",
        "hr_ci_low",
        "hr_ci_high",
        "p_value",
        "selected",
        "monotone",
        "clustered",
    }
    assert not sel["clustered"].any()  # one row per patient: the ordinary variance
    assert not sel["monotone"].any()  # never flagged under an L1 penalty
    # no Wald interval after L1 selection
    assert sel[["hr_ci_low", "hr_ci_high", "p_value"]].isna().all().all()


def test_cox_hazard_ratio_intervals_equal_lifelines_summary(rossi):
    """Per-unit hazard ratios and 95 % CIs against lifelines fitted on the raw covariates."""
    X, y, d = rossi
    table = CoxPH().fit(X, y).coefficients().set_index("term")
    ref = CoxPHFitter().fit(d, "week", "arrest").summary.loc[list(X.columns)]
    np.testing.assert_allclose(table["hazard_ratio_raw"], ref["exp(coef)"], rtol=1e-6)
    np.testing.assert_allclose(table["hr_ci_low"], ref["exp(coef) lower 95%"], rtol=1e-5)
    np.testing.assert_allclose(table["hr_ci_high"], ref["exp(coef) upper 95%"], rtol=1e-5)
    np.testing.assert_allclose(table["p_value"], ref["p"], rtol=1e-4)
    # published Rossi estimate (Fox 2002): prio coefficient 0.0915, SE 0.0286
    assert table.loc["prio", "hr_ci_low"] == pytest.approx(np.exp(0.0915 - 1.96 * 0.0286), abs=2e-3)
    assert table.loc["prio", "hr_ci_high"] == pytest.approx(
        np.exp(0.0915 + 1.96 * 0.0286), abs=2e-3
    )


def test_survival_target_layouts(rossi):
    _, y, d = rossi
    struct = np.array(
        list(zip(d["arrest"].astype(bool), d["week"].astype(float), strict=True)),
        dtype=[("event", "?"), ("time", "<f8")],
    )
    t1, e1 = split_survival_target(y)
    t2, e2 = split_survival_target(struct)
    assert np.array_equal(t1, t2)
    assert np.array_equal(e1, e2)
    _t3, e3 = split_survival_target(d["week"].to_numpy())
    assert e3.all()


def test_survival_target_errors():
    with pytest.raises(InputError, match="0 \\(censored\\) or 1"):
        split_survival_target(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(InputError, match="no observed event"):
        split_survival_target(np.array([[1.0, 0.0], [2.0, 0.0]]))
    with pytest.raises(InputError, match="finite"):
        split_survival_target(np.array([[np.nan, 1.0], [2.0, 1.0]]))
    with pytest.raises(InputError, match="requires y"):
        CoxPH().fit(np.zeros((3, 1)), None)
    with pytest.raises(InputError, match="penalizer must be >= 0"):
        CoxPH(penalizer=-1).fit(np.zeros((3, 1)), [1.0, 2.0, 3.0])


def test_sarcoma_time_to_lung_metastasis_definition():
    clinical = pd.read_csv(require_data("sts", "clinical.csv"))
    out = sts_lung_metastasis_outcome(clinical).set_index("patient_id")
    # rows checked by hand against clinical.csv
    assert out.loc["STS_006", ["time_days", "event"]].tolist() == [198, 1]  # lung mets
    assert out.loc["STS_001", ["time_days", "event"]].tolist() == [266, 0]  # arm mets first
    assert out.loc["STS_020", ["time_days", "event"]].tolist() == [66, 0]  # regional recurrence
    assert out.loc["STS_002", ["time_days", "event"]].tolist() == [501, 0]  # no event: last FU
    assert out.loc["STS_051", ["time_days", "event"]].tolist() == [507, 0]
    assert out["event"].sum() == 19
    assert len(out) == 51
    assert out.loc["STS_006", "time_years"] == pytest.approx(198 / 365.25)
    # median follow-up of the event-free is about 2 years, as the issue says
    assert 1.5 < out.loc[out["event"] == 0, "time_years"].median() < 2.6
    with pytest.raises(ValueError, match="lacks columns"):
        sts_lung_metastasis_outcome(clinical.drop(columns=["days_dx_to_last_fu"]))


def test_cox_drops_constant_columns_and_equals_lifelines_on_the_others(rossi, caplog):
    X, y, d = rossi
    Xc = X.assign(site=2.0, rare=0.0)[
        ["fin", "site", "age", "race", "rare", "wexp", "mar", "paro", "prio"]
    ]
    with caplog.at_level("WARNING", logger="radiomix.model.survival"):
        cox = CoxPH(penalizer=0.05).fit(Xc, y)
    assert cox.dropped_columns_ == ["site", "rare"]
    assert "2 constant column(s) dropped" in caplog.text
    # lifelines by hand on the non-constant columns, z-scored as CoxPH documents
    kept = [c for c in Xc.columns if c not in ("site", "rare")]
    z = (d[kept] - d[kept].mean()) / d[kept].std(ddof=0)
    ref = CoxPHFitter(penalizer=0.05).fit(
        z.assign(week=d["week"], arrest=d["arrest"]), "week", "arrest"
    )
    coef = pd.Series(cox.coef_, index=Xc.columns)
    np.testing.assert_allclose(coef[kept], ref.params_[kept], rtol=1e-6)
    assert coef["site"] == 0.0
    assert coef["rare"] == 0.0
    table = cox.coefficients().set_index("term")
    assert table.loc["site", "hazard_ratio_raw"] == 1.0
    assert not table.loc["rare", "selected"]
    assert cox.summary_.loc["site", "exp(coef)"] == 1.0
    assert np.isnan(cox.summary_.loc["site", "p"])
    np.testing.assert_allclose(
        cox.summary_.loc[kept, "se(coef)"], ref.summary["se(coef)"][kept], rtol=1e-5
    )
    # predictions ignore the constant columns, whatever their value at prediction time
    np.testing.assert_allclose(
        cox.predict(Xc), z.to_numpy() @ ref.params_[kept].to_numpy(), rtol=1e-6, atol=1e-9
    )
    np.testing.assert_allclose(cox.predict(Xc.assign(site=7.0)), cox.predict(Xc))
    t = [10.0, 30.0]
    np.testing.assert_allclose(
        cox.predict_survival(Xc, t),
        ref.predict_survival_function(z, times=t).to_numpy().T,
        rtol=1e-6,
    )


def test_cox_without_constant_columns_drops_nothing(rossi):
    X, y, _ = rossi
    assert CoxPH().fit(X, y).dropped_columns_ == []


def test_cox_with_every_column_constant_is_refused(rossi):
    X, y, _ = rossi
    with pytest.raises(InputError, match="every covariate is constant"):
        CoxPH().fit(np.ones((len(X), 2)), y)
