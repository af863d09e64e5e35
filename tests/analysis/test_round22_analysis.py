"""Round 22 (outside testers): the analysis engine's numbers on inputs the examples do not use.

Each test failed before its fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from radiomix.evaluate.survival import survival_cv
from radiomix.evaluate.validate import nested_cv
from radiomix.model.survival import CoxPH


def _nudge(values: np.ndarray) -> np.ndarray:
    """One unit in the last place up on every second row: what a matrix product does to a
    row that falls in another part of its SIMD block."""
    out = np.array(values, dtype=float, copy=True)
    out[1::2] = np.nextafter(out[1::2], np.inf)
    return out


class _BlockedCox(CoxPH):
    def predict(self, X):
        return _nudge(super().predict(X))


class _BlockedLogistic(LogisticRegression):
    def predict_proba(self, X):
        p = super().predict_proba(X)
        return np.column_stack([1.0 - _nudge(p[:, 1]), _nudge(p[:, 1])])


def _discrete_cohort(n: int = 90, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Two discrete features: many patients share their inputs, so their true risks tie."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, n).astype(float)
    b = rng.integers(0, 2, n).astype(float)
    t_event = rng.exponential(1.0 / (0.3 * np.exp(0.7 * a + 0.5 * b)))
    t_cens = np.minimum(rng.exponential(3.0, n), 5.0)
    X = pd.DataFrame({"a": a, "b": b})
    return X, np.round(np.minimum(t_event, t_cens), 3), (t_event <= t_cens).astype(int)


def test_identical_inputs_are_tied_risks_in_the_c_index_and_td_auc() -> None:
    """Two patients with identical inputs got Cox risks one ulp apart (a BLAS block
    boundary), and the C-index and the time-dependent AUC scored their pair 1 or 0, not
    1/2 (tester 22a: 0.64378 for Harrell's 0.64407)."""
    from sksurv.metrics import concordance_index_censored

    X, t, e = _discrete_cohort()
    g = np.array([f"P{i:03d}" for i in range(len(t))])
    kw = {"groups": g, "horizons": [1.0], "n_splits": 5, "n_repeats": 2, "n_bootstrap": 20,
          "random_state": 3}
    plain = survival_cv(CoxPH(penalizer=0.1), X, t, e, **kw)
    nudged = survival_cv(_BlockedCox(penalizer=0.1), X, t, e, **kw)
    cols = ["estimate", "ci_low", "ci_high"]
    np.testing.assert_allclose(nudged.metrics[cols].to_numpy(float),
                               plain.metrics[cols].to_numpy(float), rtol=0, atol=1e-12)
    p_pred = plain.predictions.sort_values(["repeat", "row"])
    n_pred = nudged.predictions.sort_values(["repeat", "row"])
    np.testing.assert_allclose(n_pred["risk"].to_numpy(), p_pred["risk"].to_numpy(),
                               rtol=1e-12, atol=0)
    # identical inputs in one fold: identical risks in the predictions file
    for _, fold in n_pred.groupby(["repeat", "fold"]):
        key = X.iloc[fold["row"].to_numpy()].astype(str).agg("|".join, axis=1).to_numpy()
        for k in np.unique(key):
            assert np.unique(fold["risk"].to_numpy()[key == k]).size == 1
    # Harrell's C with ties = 1/2 (scikit-survival), averaged over the repeats
    harrell = np.mean([
        concordance_index_censored(rep["event"].astype(bool).to_numpy(),
                                   rep["time"].to_numpy(), rep["risk"].to_numpy())[0]
        for _, rep in n_pred.groupby("repeat")
    ])
    c = nudged.metrics.set_index("metric").loc["c_index", "estimate"]
    assert c == pytest.approx(harrell, rel=0, abs=1e-12)


def test_identical_inputs_are_tied_probabilities_in_the_auc() -> None:
    """The same for a classifier's probabilities: the ROC AUC counts ulp-apart
    probabilities of identical inputs as ties."""
    from sklearn.metrics import roc_auc_score

    X, _, e = _discrete_cohort(n=120, seed=11)
    g = np.array([f"P{i:03d}" for i in range(len(e))])
    kw = {"groups": g, "outer_splits": 5, "n_repeats": 2, "n_bootstrap": 20,
          "random_state": 3}
    nudged = nested_cv(_BlockedLogistic(), X, e, **kw)
    pred = nudged.predictions
    auc = np.mean([roc_auc_score(rep["y_true"], rep["proba"])
                   for _, rep in pred.groupby("repeat")])
    row = nudged.metrics.set_index("metric").loc["roc_auc"]
    assert row["estimate"] == pytest.approx(auc, rel=0, abs=1e-12)
    plain = nested_cv(LogisticRegression(), X, e, **kw)
    assert row["estimate"] == pytest.approx(
        plain.metrics.set_index("metric").loc["roc_auc", "estimate"], rel=0, abs=1e-12)


def _with_slice_count() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic cohort with a `slices`-mode deep block and its slice count."""
    from _synthetic import cohort

    feats, clin = cohort(40, n_deep=6)
    deep = [c for c in feats.columns if ".deep." in c]
    feats = feats.rename(columns={c: c.replace("resnet18_2p5d", "resnet18_slices") + ".mean"
                                  for c in deep})
    feats["ct.deep.resnet18_slices.n_slices"] = np.arange(len(feats)) % 30 + 5
    return feats, clin


def test_the_slice_count_of_a_deep_block_is_no_deep_input() -> None:
    """In `slices` mode the deep block also held `n_slices`, the number of ROI slices
    (Spearman 0.86 with the tumour volume): the "deep" arm was partly a volume arm
    (tester 22d)."""
    from radiomix.analysis.data import build_table
    from radiomix.analysis.spec import analysis_from_dict

    feats, clin = _with_slice_count()
    spec = analysis_from_dict({
        "outcomes": [{"name": "m", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "derived": ["days_to_outcome", "status"]},
        "arms": [{"name": "deep", "blocks": ["deep"], "model": "logistic"}],
    })
    table = build_table(feats, spec, clinical=clin)
    assert len(table.blocks["deep"]) == 6
    assert all(c.endswith(".mean") for c in table.blocks["deep"])
    assert "ct.deep.resnet18_slices.n_slices" not in table.X.columns


def test_radiomix_model_takes_a_slice_count_only_when_named_whole() -> None:
    from radiomix.analysis.adhoc import model_inputs

    feats, _ = _with_slice_count()
    reserved = {"patient_id", "lesion_id", "centre"}
    count = "ct.deep.resnet18_slices.n_slices"
    for patterns in (None, ["deep"], ["ct.deep.*"], ["*"]):
        rad, deep, extra, unnamed = model_inputs(feats, reserved, patterns, has_covariates=False)
        assert count not in rad + deep + extra + unnamed, patterns
        assert len(deep) == 6
    rad, deep, extra, _ = model_inputs(feats, reserved, [count], has_covariates=False)
    assert (rad, deep, extra) == ([count], [], [count])


@pytest.mark.parametrize("value", [1.0, 0.9, 5.0])
def test_a_float_deep_pca_is_refused(value: float) -> None:
    """`deep_pca: 1.0` ran as one component; 0.9 and 1.5 were refused as non-integers, so a
    user meaning "all the variance" got one component without a word (tester 22d)."""
    from radiomix.analysis.spec import analysis_from_dict
    from radiomix.errors import SettingsError

    with pytest.raises(SettingsError, match=r"arm d: deep_pca is a number of principal "
                                            r"components, an integer; .* could also read as a "
                                            "share of the variance"):
        analysis_from_dict({
            "outcomes": [{"name": "y", "kind": "binary", "column": "y", "positive": "1"}],
            "arms": [{"name": "d", "blocks": ["deep"], "deep_pca": value, "model": "logistic"}],
        })


def test_cox_nomogram_event_probabilities_use_the_baseline_of_its_own_fit() -> None:
    """The Cox nomogram is fitted on the out-of-fold rad-score, but the engine's Breslow
    baseline was built from the refitted rad-score on the training rows: H0(1 y) 10 % high,
    1-year event probabilities up to 0.034 high (tester 22f). lifelines' own baseline of the
    nomogram's Cox fit is the reference."""
    from radiomix.evaluate.survival import survival_holdout_validation
    from radiomix.model.nomogram import CoxNomogram

    rng = np.random.default_rng(4)
    n = 140
    rad = rng.normal(size=(n, 6))
    age = rng.normal(60, 10, n)
    lin = 0.8 * rad[:, 0] - 0.6 * rad[:, 1] + 0.03 * (age - 60)
    t_event = rng.exponential(1.0 / (0.4 * np.exp(lin)))
    t_cens = rng.uniform(0.5, 4.0, n)
    t = np.minimum(t_event, t_cens)
    e = (t_event <= t_cens).astype(int)
    X = pd.DataFrame(rad, columns=[f"ct.original.stat.f{i}" for i in range(6)]).assign(age=age)
    g = np.array([f"P{i:03d}" for i in range(n)])
    nomo = CoxNomogram(radiomic_columns=list(X.columns[:6]), radscore_penalizer=0.1,
                       radscore_cv=3, random_state=0)
    res = survival_holdout_validation(nomo, X, t, e, groups=g, horizons=[1.0], n_bootstrap=20,
                                      random_state=2)
    pred = res.predictions
    rows = pred["row"].to_numpy()
    expected = 1.0 - res.model.predict_survival(X.iloc[rows], [1.0])[:, 0]
    np.testing.assert_allclose(pred["event_prob_1"].to_numpy(), expected, rtol=0, atol=1e-9)


def test_cox_intervals_of_several_lesions_per_patient_are_patient_clustered() -> None:
    """Four lesions per patient sharing one time and event: the final Cox model's intervals
    counted each lesion as a patient (sex HR 2.18 (1.37-3.47) where the clustered interval
    is (0.86-5.57), p 0.10; tester 22f). lifelines' robust (cluster) variance is the
    reference."""
    from lifelines import CoxPHFitter

    from radiomix.model.survival import survival_target

    rng = np.random.default_rng(7)
    n = 60
    age = rng.normal(60, 10, n)
    sex = rng.integers(0, 2, n).astype(float)
    t_event = rng.exponential(1.0 / (0.3 * np.exp(0.02 * (age - 60) + 0.5 * sex)))
    t_cens = rng.uniform(0.5, 5.0, n)
    t, e = np.minimum(t_event, t_cens), (t_event <= t_cens).astype(int)
    rep = np.repeat(np.arange(n), 4)
    X = pd.DataFrame({"age": age[rep] + rng.normal(0, 0.5, rep.size), "sex": sex[rep]})
    g = np.array([f"P{i:03d}" for i in rep])
    y = survival_target(t[rep], e[rep])
    fitted = CoxPH().fit(X, y, groups=g)
    assert fitted.clustered_
    table = fitted.coefficients().set_index("term")
    frame = X.assign(T=t[rep], E=e[rep], G=rep)
    ref = CoxPHFitter().fit(frame, "T", "E", cluster_col="G").summary
    for term in ("age", "sex"):
        np.testing.assert_allclose(
            [table.loc[term, "hr_ci_low"], table.loc[term, "hr_ci_high"],
             table.loc[term, "p_value"]],
            [ref.loc[term, "exp(coef) lower 95%"], ref.loc[term, "exp(coef) upper 95%"],
             ref.loc[term, "p"]], rtol=1e-5)
    naive = CoxPH().fit(X, y).coefficients().set_index("term")
    assert not CoxPH().fit(X, y, groups=np.arange(rep.size)).clustered_  # one row each
    width = np.log(table["hr_ci_high"] / table["hr_ci_low"])
    assert (width > 1.5 * np.log(naive["hr_ci_high"] / naive["hr_ci_low"])).all()


@pytest.mark.parametrize("tuned_too", [False, True])
def test_untuned_arms_are_described_as_run(tmp_path, tuned_too: bool) -> None:
    """`tune: false` (or `--no-tune`) arms were described as "logistic regression (L2, C
    tuned)", the run as "its hyper-parameters chosen by an inner 3-fold CV" (tester 22b):
    the engine now writes what it ran, and the report shows the document's words."""
    from _synthetic import cohort

    from radiomix.analysis.data import build_table
    from radiomix.analysis.engine import run_analysis
    from radiomix.analysis.spec import analysis_from_dict

    arms = [{"name": "rad", "blocks": ["radiomic"], "model": "logistic", "tune": False}]
    if tuned_too:
        arms.append({"name": "knn", "blocks": ["radiomic"], "model": "knn"})
    spec = analysis_from_dict({
        "outcomes": [{"name": "m", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "derived": ["days_to_outcome", "status"]},
        "arms": arms,
        "validation": {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50},
    })
    feats, clin = cohort(30)
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    o = doc["outcomes"][0]
    rad = o["arms"]["rad"]
    assert rad["description"].endswith("→ logistic regression (L2, C fixed at its default)")
    assert (rad["grid"], rad["tuning"]) == ({}, "fixed")
    (val,) = o["validation"]
    if tuned_too:
        assert o["arms"]["knn"]["tuning"] == "grid"
        assert "its hyper-parameters chosen by an inner 2-fold CV" in val["description"]
        assert val["description"].endswith(
            "Not tuned (fixed default hyper-parameters): rad.")
    else:
        assert "chosen by an inner" not in val["description"]
        assert ("fitted on the other folds, with fixed (default) hyper-parameters (no arm is "
                "tuned); imputation") in val["description"]


def test_settled_probabilities_near_one_keep_their_order() -> None:
    """Rounding to 12 significant digits made the probabilities of logits 28.5 and 29 one
    value (AUC 0.6875 for 0.875), and kept two values one ulp apart ordered when they
    straddled a rounding boundary (tester 22h)."""
    from sklearn.metrics import roc_auc_score

    from radiomix.evaluate.metrics import settle

    logits = np.array([27.0, 28.0, 28.5, 29.0, 30.0, 31.0])
    p = 1.0 / (1.0 + np.exp(-logits))
    y = [0, 1, 0, 1, 1, 1]
    assert roc_auc_score(y, settle(p, probability=True)) == roc_auc_score(y, p) == 0.875
    assert roc_auc_score(y, settle(1.0 - p, probability=True)) == roc_auc_score(y, 1.0 - p)
    straddle = [0.12345678901249998, 0.12345678901250001]
    assert roc_auc_score([0, 1], settle(straddle)) == 0.5
    assert roc_auc_score([0, 1], settle(straddle, probability=True)) == 0.5


def test_settle_keeps_distinct_values_and_shape() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from radiomix.evaluate.metrics import SETTLE_RTOL, settle

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=30))
    def check(values: list[float]) -> None:
        x = np.array(values)
        s = settle(x)
        assert s.shape == x.shape
        np.testing.assert_allclose(s, x, rtol=len(values) * SETTLE_RTOL, atol=0)
        # the order never reverses; values far apart stay apart
        assert np.all(np.diff(s[np.argsort(x, kind="stable")]) >= 0)
        far = np.abs(x[:, None] - x[None, :]) > 1e-9 * np.maximum(np.abs(x[:, None]),
                                                                   np.abs(x[None, :]))
        assert np.all((s[:, None] != s[None, :])[far])

    check()


def test_the_report_says_when_cox_intervals_are_patient_clustered(tmp_path) -> None:
    """The caption under clustered intervals said only "Wald intervals of this (penalised)
    fit", and a survival report's checklist cited the AUC difference (tester 22h)."""
    from radiomix.analysis.adhoc import run_adhoc

    rng = np.random.default_rng(3)
    n = 40
    rep = np.repeat(np.arange(n), 2)
    age = rng.normal(60, 10, n)
    t_event = rng.exponential(1.0 / (0.4 * np.exp(0.03 * (age - 60))))
    t_cens = rng.uniform(0.5, 4.0, n)
    feats = pd.DataFrame({
        "patient_id": [f"P{i:03d}" for i in rep], "lesion_id": np.tile(["1", "2"], n),
        "ct.original.stat.mean": rng.normal(size=rep.size),
        "os_days": (np.minimum(t_event, t_cens)[rep] * 365.25).round(1),
        "os_event": (t_event <= t_cens).astype(int)[rep], "age": age[rep].round(1)})
    path = tmp_path / "f.csv"
    feats.to_csv(path, index=False)
    run_adhoc(tmp_path / "out", features=path, time="os_days", event="os_event",
              covariates="age", model="cox", outer=3, repeats=1, bootstrap=50,
              horizons=[1.0])
    import json

    doc = json.loads((tmp_path / "out" / "analysis.json").read_text())
    coefs = [c for v in doc["outcomes"][0]["validation"] for a in v["arms"].values()
             for c in a.get("coefficients") or []]
    assert coefs
    assert all(c["clustered"] for c in coefs)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Wald intervals of this (penalised) fit from the patient-clustered robust" in html
    assert "interval of the C-index difference" in html
    assert "interval of the AUC difference" not in html


@pytest.mark.parametrize(("model", "kind"), [("penalised_logistic", "binary"),
                                             ("auto", "binary"), ("coxnet", "survival")])
def test_tune_false_on_a_self_tuning_model_is_refused(model: str, kind: str) -> None:
    """`tune: false` on penalised_logistic or coxnet changed nothing (identical predictions)
    and said nothing (tester 22i): a value nothing reads is refused."""
    from radiomix.analysis.spec import analysis_from_dict
    from radiomix.errors import SettingsError

    outcome = ({"name": "y", "kind": "binary", "column": "y", "positive": "1"}
               if kind == "binary" else
               {"name": "y", "kind": "survival", "time": "t", "event": "e"})
    arm = {"name": "a", "blocks": ["radiomic"], "model": model, "tune": False}
    with pytest.raises(SettingsError, match=rf"arm a: tune: false does not apply to model "
                                            rf"{model}, which tunes its penalty inside"):
        analysis_from_dict({"outcomes": [outcome], "arms": [arm]})
    analysis_from_dict({"outcomes": [outcome], "arms": [{**arm, "tune": True}]})


def test_no_tune_says_which_arms_it_does_not_reach(tmp_path, caplog) -> None:
    from _synthetic import cohort

    from radiomix.analysis.adhoc import run_adhoc

    feats, clin = cohort(30)
    feats.to_csv(tmp_path / "f.csv", index=False)
    clin.to_csv(tmp_path / "c.csv", index=False)
    with caplog.at_level("WARNING", logger="radiomix.analysis.adhoc"):
        doc = run_adhoc(tmp_path / "out", features=tmp_path / "f.csv",
                        clinical=tmp_path / "c.csv", target="outcome", positive="mets",
                        derived="outcome_text,days_to_outcome,status,fu_days",
                        columns="ct.original.*", tune=False, outer=3, inner=2, repeats=1,
                        bootstrap=50, report=False)
    said = "--no-tune does not apply to arm(s) model: their models (penalised_logistic)"
    assert said in caplog.text
    assert doc["outcomes"][0]["arms"]["model"]["tuning"] == "internal"


def test_a_categorical_none_read_as_missing_is_said(caplog) -> None:
    """`None` in a categorical covariate became missing silently (8 patients with no
    treatment modelled as the reference level; tester 22i)."""
    from _synthetic import cohort

    from radiomix.analysis.data import build_table
    from radiomix.analysis.spec import analysis_from_dict

    feats, clin = cohort(30)
    clin["treatment"] = ["None" if i % 4 == 0 else ("Surgery" if i % 2 else "RT")
                         for i in range(len(clin))]
    spec = analysis_from_dict({
        "outcomes": [{"name": "m", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "derived": ["outcome_text", "days_to_outcome",
                                                    "status", "fu_days"],
                  "covariates": [{"name": "treatment", "kind": "categorical"}]},
        "arms": [{"name": "c", "blocks": ["clinical"], "model": "logistic"}],
    })
    with caplog.at_level("WARNING", logger="radiomix.analysis.data"):
        build_table(feats, spec, clinical=clin)
    assert ("covariate 'treatment' holds 'None' (8 cells), read as missing and imputed"
            in caplog.text)


def test_every_self_tuning_model_says_how_it_tunes() -> None:
    from radiomix.analysis.arms import INTERNAL_TUNING
    from radiomix.analysis.spec import SELF_TUNING_MODELS

    assert set(INTERNAL_TUNING) == SELF_TUNING_MODELS


@pytest.mark.parametrize(("cell", "said"), [
    ("62,5", "numbers with a decimal comma or a thousands separator are not read as numbers"),
    ("62 y", "numbers with a unit or a percent sign are not read as numbers"),
])
def test_a_single_number_like_cell_gets_the_specific_advice(cell: str, said: str) -> None:
    """One cell `62,5` among numbers got the generic "is not a number; fix the cell"; a
    whole column got the specific advice (tester 22i)."""
    from radiomix.analysis.data import to_numeric
    from radiomix.errors import InputError

    t = pd.DataFrame({"patient_id": ["A", "B", "C"], "age": ["60", "61", cell]})
    with pytest.raises(InputError, match=rf"row 4 \(patient_id C\): '{cell}' is not a plain "
                                         rf"number \({said}\); write plain numbers"):
        to_numeric(t, "age", "patient_id")


def test_a_wildcard_matching_only_a_slice_count_says_so() -> None:
    """`--columns '*n_slices'` ended in "nothing to model" without saying the count was
    matched and left out (tester 22i)."""
    from radiomix.analysis.adhoc import model_inputs
    from radiomix.errors import SettingsError

    feats, _ = _with_slice_count()
    with pytest.raises(SettingsError, match=r"--columns \*n_slices matches only "
                                            r".*n_slices.*name it whole"):
        model_inputs(feats, {"patient_id", "lesion_id", "centre"}, ["*n_slices"],
                     has_covariates=False)
