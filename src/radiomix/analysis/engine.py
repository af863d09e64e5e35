"""One analysis engine for every study: outcomes × arms × validation schemes -> one document.

:func:`run_analysis` takes an :class:`~radiomix.analysis.spec.AnalysisSettings` and an
:class:`~radiomix.analysis.data.AnalysisTable` and evaluates every arm of every outcome under
every declared validation scheme, on identical patient-grouped splits, and writes the
results document (``analysis.json``, schema ``radiomix.analysis/2``, see
``docs/analysis-schema.md``), the out-of-sample predictions and the final models.
:func:`analyse_study` does the same from a study file. The CLI (``radiomix analyse``,
``radiomix model``) and the demo are thin callers.

Schemes (binary and survival alike)
-----------------------------------
``nested_cv``
    Repeated, stratified, patient-grouped nested CV; intervals widened by
    :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE`.
``holdout``
    One seeded patient-level split; scored on the test patients only.
``external``
    Trained (and tuned) on the other centres; scored on the rows of ``test_centres``
    only, so an arm comparison under "external" never includes a training-centre patient.
``training_internal_external``
    The seed studies' table, three rows per arm: *training* (apparent: the model scored on
    the patients it was fitted on; optimistic, shown for completeness), *internal*
    (nested CV within the training centres), *external* (the held-out centre).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from radiomix.analysis.arms import BuiltArm, build_arms, untuned_words
from radiomix.analysis.data import BATCH_COLUMN, AnalysisTable, Target
from radiomix.analysis.spec import AnalysisSettings, Validation
from radiomix.errors import InputError, SettingsError

log = logging.getLogger(__name__)

SCHEMA = "radiomix.analysis/2"
EPV_MIN = 10.0
"""Events per candidate variable below which an arm is flagged (Peduzzi et al. 1996; Riley
et al. BMJ 2020;368:m441 for the sample size of prediction models)."""
COST_WEIGHT: dict[str, float] = {"auto": 20.0, "nomogram": 5.0, "cox_nomogram": 5.0,
                                  "coxnet": 5.0, "knn": 3.0, "cox": 2.0}
"""Relative cost of validating an arm by model (the demo's arms, measured): the pool starts
the longest tasks first so that no worker is left with a long one at the end."""
SCHEME_TEXT: dict[str, str] = {
    "nested_cv": "Nested patient-grouped cross-validation",
    "holdout": "Patient-level hold-out",
    "external": "External validation",
    "training": "Training (apparent)",
    "internal": "Internal validation (nested CV within the training centres)",
}


@dataclass(frozen=True, slots=True)
class AnalysisProgress:
    """A progress event of :func:`run_analysis`: ``done`` of ``total`` arm evaluations."""

    message: str
    done: int
    total: int


# --------------------------------------------------------------------------- helpers


def _py(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _py(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_py(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return float(v) if np.isfinite(v) else None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray):
        return _py(v.tolist())
    return v


def _interval(est: Any, lo: Any, hi: Any, reason: str | None = None, *,
              interval_note: str | None = None) -> dict[str, Any]:
    out = {"estimate": _py(est), "ci_low": _py(lo), "ci_high": _py(hi)}
    if reason:
        out["reason"] = reason
    if interval_note:
        out["interval_method"] = interval_note
    return out


def _threshold_value(rule: str) -> float:
    return float(rule)


def _file_sha(path: Any) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None
    except OSError:
        return None


# --------------------------------------------------------------------------- binary


@dataclass
class _Scored:
    """One arm evaluated under one scheme."""

    scheme: str
    result: Any  # EvaluationResult or SurvivalEvaluation; InputError: not estimable here
    rows: np.ndarray  # positions (in the outcome's kept rows) that were scored
    notes: list[str] = field(default_factory=list)  # library warnings, in radiomix's words


def _scored(scheme: str, rows: np.ndarray | Callable[[Any], np.ndarray],
            evaluate: Callable[..., Any], *args: Any,
            check: Callable[[], None] | None = None, **kwargs: Any) -> _Scored:
    """One scheme of one arm, ``evaluate(*args, **kwargs)`` after ``check()``; ``rows`` are
    the scored rows (or give them from the result). An :class:`InputError` makes the arm
    not estimable under this scheme only (e.g. ComBat by centre under ``external``).

    The warnings the libraries raise meanwhile (scikit-learn's "least populated class",
    "only one class is present in y_true", ...) are caught: an arm that is not estimable
    says why in its own words and drops them; an estimated arm carries them as warnings
    of its entry (:func:`_warning_notes`), so none reaches the terminal unexplained and
    none is lost."""
    with warnings.catch_warnings(record=True) as caught:
        try:
            if check is not None:
                check()
            res = evaluate(*args, **kwargs)
        except InputError as exc:
            return _Scored(scheme, exc, np.arange(0))
    return _Scored(scheme, res, rows(res) if callable(rows) else rows,
                   _warning_notes(caught))


_LEAST_POPULATED = re.compile(r"least populated class in y has only (\d+) members?, which is "
                              r"less than n_splits=(\d+)")


def _warning_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    """Warnings raised while an arm was scored, deduplicated, as lines of the arm's entry:
    the known scikit-learn conditions said in terms of patients and folds, any other
    warning quoted with its category and count."""
    few: list[tuple[int, int]] = []
    one_class = 0
    other: dict[str, int] = {}
    for w in caught:
        text = str(w.message)
        m = _LEAST_POPULATED.search(text)
        if m:
            few.append((int(m.group(1)), int(m.group(2))))
        elif "Only one class is present in y_true" in text:
            one_class += 1
        else:
            key = f"{w.category.__name__}: {text.strip()}"
            other[key] = other.get(key, 0) + 1
    notes = []
    if few:
        n, k = min(few)
        notes.append(f"too few patients of a class for the folds (as few as {n} for {k} "
                     "folds, in the outer or inner splits): some folds hold none of that "
                     "class; read this arm's estimates with care")
    if one_class:
        notes.append(f"{one_class} fold-level AUC(s) undefined (outer or inner folds): the "
                     "fold's test patients held a single class")
    notes += [f"{k}" + (f" ({n} times)" if n > 1 else "") for k, n in other.items()]
    return notes


def _binary_schemes(arm: BuiltArm, X: pd.DataFrame, y: np.ndarray, g: np.ndarray,
                    centre: np.ndarray | None, v: Validation) -> list[_Scored]:
    from radiomix.evaluate.splits import centre_split
    from radiomix.evaluate.validate import (
        apparent_validation,
        external_validation,
        holdout_validation,
        nested_cv,
    )

    Xa = X[arm.columns]
    thr: float | str = _threshold_value(v.threshold) if _is_prob(v.threshold) else v.threshold
    common: dict[str, Any] = {"param_grid": arm.grid or None, "inner_splits": v.inner_splits,
              "n_bootstrap": v.bootstrap, "threshold": thr, "random_state": v.seed,
              "level": v.level}
    all_rows = np.arange(len(y))
    out: list[_Scored] = []
    for scheme in v.schemes:
        if scheme == "nested_cv":
            out.append(_scored("nested_cv", all_rows, nested_cv, arm.estimator, Xa, y, groups=g,
                               outer_splits=v.outer_splits, n_repeats=v.repeats, **common))
        elif scheme == "holdout":
            out.append(_scored("holdout", partial(_held_out_rows, g=g), holdout_validation,
                               arm.estimator, Xa, y, groups=g, test_size=v.test_size, **common))
        else:
            if centre is None:
                raise InputError(f"the {scheme} scheme needs a centre column (roles.centre)")
            tr, te = centre_split(centre, groups=g, test_centres=list(v.test_centres))
            if scheme == "training_internal_external":
                sub = Xa.iloc[tr].reset_index(drop=True)
                out.append(_scored("training", tr, apparent_validation, arm.estimator, sub,
                                   y[tr], groups=g[tr], **common))
                out.append(_scored("internal", tr, nested_cv, arm.estimator, sub, y[tr],
                                   groups=g[tr], outer_splits=v.outer_splits,
                                   n_repeats=v.repeats, **common))
            out.append(_scored("external", te, external_validation, arm.estimator, Xa, y,
                               groups=g, centre=centre, test_centres=list(v.test_centres),
                               check=partial(_check_harmonised_external, arm, v), **common))
    return out


def _held_out_rows(res: Any, g: np.ndarray) -> np.ndarray:
    """Positions of the rows a hold-out scored: every row of its test patients (the split
    keeps patients whole; patient-level predictions name their rows by patient id)."""
    return np.flatnonzero(np.isin(g, pd.unique(res.predictions["patient_id"])))


def _fold_feature_count(res: Any) -> tuple[int | None, int]:
    folds = res.folds
    fell_back = (np.array([isinstance(v, (bool, np.bool_, str)) and bool(v)
                           for v in folds["fallback"]], dtype=bool)
                 if "fallback" in folds else np.zeros(len(folds), dtype=bool))
    counted = "n_selected" in folds and not folds["n_selected"].isna().all()
    if not counted and not fell_back.any():
        return None, len(folds)
    none = ((folds["n_selected"].astype(float).fillna(1.0) == 0).to_numpy() if counted
            else np.zeros(len(folds), dtype=bool))
    return int((none | fell_back).sum()), len(folds)


def _fallbacks(res: Any) -> list[str]:
    """The distinct fallbacks the folds' selections reported (e.g. "strongest feature
    (ct.original.morph.volume_mesh)"), with the count of folds for each when it varies."""
    folds = res.folds
    if "fallback" not in folds:
        return []
    texts = [str(v) for v in folds["fallback"] if isinstance(v, str) and v]
    counts: dict[str, int] = {}
    for t in texts:
        counts[t] = counts.get(t, 0) + 1
    return [t if len(counts) == 1 else f"{t} in {n} fold(s)" for t, n in counts.items()]


def _selection_counts(res: Any) -> dict[str, int] | None:
    """In how many of an evaluation's fitted models (folds) the selection kept each column,
    for the columns kept at least once; None when the models do not report their
    selection (:func:`radiomix.evaluate.validate.selected_names`)."""
    folds = res.folds
    if "selected" not in folds or all(s is None for s in folds["selected"]):
        return None
    counts: dict[str, int] = {}
    for names in folds["selected"]:
        for name in names or ():
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _events(values: np.ndarray, groups: np.ndarray) -> tuple[int, int, str]:
    """(events, non-events, unit) of an outcome over some rows, counted per patient when
    every patient's rows share one value (a patient-level outcome: lesions of one patient
    are not independent events), per row (lesion) otherwise."""
    frame = pd.DataFrame({"g": groups, "v": np.asarray(values, dtype=float)})
    if (frame.groupby("g")["v"].nunique() <= 1).all():
        per = frame.groupby("g")["v"].first()
        return int(per.sum()), int(per.size - per.sum()), "patients"
    return int(frame["v"].sum()), int(frame["v"].size - frame["v"].sum()), "lesions"


def _patient_count(values: np.ndarray, groups: np.ndarray) -> int | None:
    """Patients with the event (``None`` when the outcome varies between a patient's
    lesions: a lesion-level outcome)."""
    events, _, unit = _events(values, groups)
    return events if unit == "patients" else None


def _class_counts(y: np.ndarray, g: np.ndarray, level: str, unit: str) -> dict[str, Any]:
    """Positives, negatives and prevalence of a binary outcome in the unit the metrics score
    (``count_unit``: ``patients`` with ``level="patient"``, else the table's rows, e.g.
    ``lesions``), beside the patient counts (``n_positive_patients``, ``n_negative_patients``:
    patients with the outcome and without it; ``None`` when the outcome varies between a
    patient's lesions, where a patient is neither).

    Examples
    --------
    >>> c = _class_counts(np.array([1, 1, 0, 0]), np.array(["a", "a", "b", "c"]), "row",
    ...                   "lesion")
    >>> c["n_positive"], c["count_unit"], c["n_positive_patients"], c["n_negative_patients"]
    (2, 'lesions', 1, 2)
    """
    pos, neg, per = _events(y, g)
    pos_pat, neg_pat = (pos, neg) if per == "patients" else (None, None)
    if level == "patient" and per == "patients":
        n_pos, n_neg, what = pos, neg, "patients"
    else:
        n_pos, n_neg = int(np.sum(y)), int(np.size(y) - np.sum(y))
        what = f"{unit}s" if unit != "patient" else "patients"
    return {"n_positive": n_pos, "n_negative": n_neg,
            "prevalence": n_pos / (n_pos + n_neg) if n_pos + n_neg else None,
            "count_unit": what, "n_positive_patients": pos_pat,
            "n_negative_patients": neg_pat}


def _epv_warning(events: int, unit: str, n_cand: int,
                 classes: tuple[int, int] | None = None) -> list[str]:
    """Events per candidate variable below :data:`EPV_MIN`. ``classes``: a binary
    outcome's (with, without) counts, of which ``events`` is the smaller (the class that
    limits a logistic model), said as such."""
    if not n_cand or events / n_cand >= EPV_MIN:
        return []
    what = "events" if unit == "lesions" else "patients with the event"
    if classes is not None:
        noun = "lesions" if unit == "lesions" else "patients"
        what = (f"{noun} in the smaller outcome class ({classes[0]} with the event, "
                f"{classes[1]} without)")
    return [f"{events} {what} for {n_cand} candidate variable(s) (EPV {events / n_cand:.2g} < "
            f"{EPV_MIN:g}): high risk of overfitting"]


def _binary_arm_doc(arm: BuiltArm, sc: _Scored, y: np.ndarray, g: np.ndarray,
                    target: Target, v: Validation) -> dict[str, Any]:
    res = sc.result
    metrics = {r["metric"]: _interval(r["estimate"], r["ci_low"], r["ci_high"],
                                      r.get("reason") if isinstance(r.get("reason"), str)
                                      else None)
               for _, r in res.metrics.iterrows()}
    for _, r in res.metrics.iterrows():  # an interval not from the bootstrap says so
        if isinstance(r.get("interval_method"), str):
            metrics[r["metric"]]["interval_method"] = r["interval_method"]
    warn: list[str] = []
    if arm.model == "prevalence":
        why = ("not meaningful: the prevalence arm predicts one value per training fold; it "
               "is the Brier-score reference")
        metrics = {k: (m if k == "brier" else _interval(None, None, None, why))
                   for k, m in metrics.items()}
    elif one_value_per_fold(res):
        why = ("not meaningful: this arm predicts one value per training fold (its inputs do "
               "not vary, e.g. a constant column), as the prevalence arm does; ranking and "
               "calibration metrics of such predictions reflect only the folds")
        metrics = {k: (m if k == "brier" else _interval(None, None, None, why))
                   for k, m in metrics.items()}
        warn.append("every training fold predicted one value for all its test patients (no "
                    "input used: constant columns, or a selection or penalty that kept no "
                    "feature); the arm is left out of the comparisons")
    n_cand = arm.n_candidates if arm.model != "prevalence" else 0
    train = _training_rows(sc, y.size)
    pos, neg, unit = _events(y[train], g[train])
    warn += _epv_warning(min(pos, neg), unit, n_cand, classes=(pos, neg))
    failed = int(res.folds.get("failed_candidates", pd.Series(dtype=float)).fillna(0).gt(0)
                 .sum()) if len(res.folds) else 0
    if failed:
        why = next((str(r) for r in res.folds.get("failed_reason", pd.Series(dtype=object))
                    if isinstance(r, str) and r), "too few patients of a class")
        warn.append(f"in {failed} training fold(s) some hyper-parameter values could not be "
                    f"fitted or scored in an inner fold ({why})"
                    "; the values were compared on the inner folds where all of them scored")
    none, n_folds = _fold_feature_count(res)
    fallbacks = _fallbacks(res)
    if none:
        how = ("; ".join(fallbacks) if fallbacks else
               "the model predicted from its intercept there")
        warn.append(f"in {none} of {n_folds} training folds the selection kept no feature by "
                    f"its own criterion ({how}); read this arm's AUC with care")
    brier_ref, brier_diff = brier_versus_prevalence(res, y, g, sc, v)
    brier = metrics.get("brier", {})
    if arm.model == "prevalence" or brier.get("estimate") is None:
        brier_diff = None  # the reference itself, or a Brier score that is not estimable
    if brier_diff is not None and brier_diff["ci_low"] > 0.0:
        warn.append(f"Brier score {brier['estimate']:.3f} is worse than predicting the "
                    f"training prevalence ({brier_ref:.3f}): difference "
                    f"{brier_diff['estimate']:+.3f} (interval {brier_diff['ci_low']:+.3f} to "
                    f"{brier_diff['ci_high']:+.3f})")
    warn += _slope_warnings(metrics.get("calibration_slope", {}), arm.model)
    records = res.folds.to_dict("records")
    chosen = [{**(f.get("best_params") or {}),
               **({"pipeline": f["chosen_pipeline"]} if f.get("chosen_pipeline") else {})}
              for f in records if not f.get("grid_tied")]
    pred = res.predictions
    # one value per fitted model, in the order of the folds (repeat, then fold) as chosen
    values = (pred.drop_duplicates(["repeat", "fold"]).sort_values(["repeat", "fold"])
              ["threshold"].round(4).tolist()
              if "threshold" in pred else [_threshold_value(v.threshold)])
    warn += _grid_edge_warnings(_tuning_grid(arm), chosen)
    warn += _tied_grid_warnings(records)
    warn += sc.notes
    return {"metrics": metrics, "brier_reference": brier_ref,
            "brier_vs_reference": _py(brier_diff) if brier_diff is not None else None,
            "threshold": {"rule": v.threshold, "values": values},
            "vs_reference": None, "folds_without_feature": none, "n_folds": n_folds,
            "fallbacks": fallbacks,
            "selected_in_folds": _selection_counts(res), "chosen": _py(chosen),
            "warnings": warn}


def one_value_per_fold(result: Any) -> bool:
    """Whether every (repeat, fold) of a binary result predicted one probability for all
    its test rows (to 1e-9): a model without usable input, which only reproduces each
    training fold's prevalence. Its AUC (below 0.5 by the leave-fold-out artefact) and
    calibration slope describe the folds, not the data."""
    pred = getattr(result, "predictions", None)
    if pred is None or len(pred) == 0 or "proba" not in pred:
        return False
    keys = [c for c in ("repeat", "fold") if c in pred]
    groups = pred.groupby(keys)["proba"]
    spread = groups.agg(lambda p: float(p.max() - p.min()))[groups.size() >= 2]
    # a fold that scored one row tells nothing (a one-patient test centre): said only when
    # some fold scored several rows, all alike
    return bool(len(spread)) and bool((spread <= 1e-9).all())


def _slope_warnings(slope: dict[str, Any], model: str) -> list[str]:
    """A calibration slope whose interval lies wholly below 0 (risks opposite to the
    outcome), wholly below 1 but not 0 (risks too extreme) or wholly above 1 (risks too
    moderate: shrunk toward the prevalence, e.g. an over-penalised model)."""
    est, lo, hi = slope.get("estimate"), slope.get("ci_low"), slope.get("ci_high")
    if model == "prevalence" or est is None or lo is None or hi is None:
        return []
    if hi < 0.0:
        return [f"calibration slope {est:.2f} (interval below 0): the predicted risks run "
                "opposite to the outcome (higher predicted risk, fewer events); do not read "
                "them as probabilities"]
    if hi < 1.0 and est < 0.0:
        return [f"calibration slope {est:.2f} (interval below 1, estimate below 0): the "
                "predicted risks are too extreme, perhaps opposite to the outcome; do not "
                "read them as probabilities"]
    if hi < 1.0:
        return [f"calibration slope {est:.2f} (interval below 1): the predicted risks are "
                "too extreme; do not read them as probabilities"]
    if lo > 1.0:
        return [f"calibration slope {est:.2f} (interval above 1): the predicted risks are "
                "too moderate (shrunk toward the prevalence, e.g. by a strong penalty); do "
                "not read them as probabilities"]
    return []


def brier_versus_prevalence(
    res: Any, y: np.ndarray, g: np.ndarray, sc: _Scored, v: Validation
) -> tuple[float | None, dict[str, Any] | None]:
    """The prevalence reference of an arm's Brier score, and the paired difference.

    The reference is the Brier score of predicting, for every scored row, the prevalence
    of the training rows of the model that scored it (of its training patients, each
    counted once, with ``level="patient"``; per outer fold and repeat under
    cross-validation; the training centres under external validation; all rows for the
    apparent scheme): the score of the prevalence arm, the honest no-information
    reference. Averaged over repeats as the Brier score is, over the rows (or patients,
    with ``level="patient"``) the metrics score.

    The difference is the arm's Brier score minus the reference, row by row (its squared
    error minus the reference's on the same row), with a patient-bootstrap interval whose
    replicates resample both sides together (:func:`radiomix.evaluate.bootstrap.
    bootstrap_mean_difference`, the seed and replicate count of the validation; widened
    under cross-validation as every cross-validated interval is). The verdict against the
    prevalence reads this interval, not the Brier interval beside a fixed number: the two
    scores share their patients, so their difference varies far less than either.

    ``y`` and ``g`` are the outcome's analysed labels (0/1) and patients; the scheme's rows
    are ``sc.rows`` for the training and internal schemes (their models saw only those),
    all rows otherwise. Splits keep patients whole, so a fold's training rows are the rows
    of the patients it did not score.

    Returns
    -------
    reference : float or None
        ``None`` without probabilities, or when a fold had no training row.
    difference : dict or None
        ``estimate``, ``ci_low``, ``ci_high``, ``n_boot`` of the difference (lower is
        better for the arm).
    """
    from radiomix.evaluate.bootstrap import bootstrap_mean_difference

    pred = res.predictions
    if "proba" not in pred or not len(pred):
        return None, None
    sub = sc.scheme in ("training", "internal")
    yu = np.asarray(y, dtype=float)[sc.rows] if sub else np.asarray(y, dtype=float)
    gu = pd.Series(g[sc.rows] if sub else g).astype(str).to_numpy()
    reference = pd.Series(np.nan, index=pred.index)
    for _, d in pred.groupby(["repeat", "fold"]):
        train = (np.ones(yu.size, dtype=bool) if sc.scheme == "training"
                 else ~np.isin(gu, d["patient_id"].astype(str).to_numpy()))
        if not train.any():
            return None, None
        # the training prevalence in the unit the metrics score: rows, or each training
        # patient once at level patient (several lesions must not weight a patient)
        reference[d.index] = (
            float(pd.Series(yu[train]).groupby(gu[train], sort=False).first().mean())
            if v.level == "patient" else float(yu[train].mean()))
    frame = pred.assign(reference=reference)
    wide = {k: frame.pivot(index="row", columns="repeat", values=k).sort_index()
            for k in ("proba", "reference")}
    meta = frame.drop_duplicates("row").set_index("row").loc[wide["proba"].index]
    y01 = (meta["y_true"].to_numpy() == res.classes[1]).astype(float)
    model_loss = (wide["proba"].to_numpy().T - y01) ** 2
    reference_loss = (wide["reference"].to_numpy().T - y01) ** 2
    difference = bootstrap_mean_difference(
        model_loss - reference_loss, groups=meta["patient_id"].to_numpy(),
        n_bootstrap=v.bootstrap, random_state=v.seed,
        cross_validated=bool(res.settings.get("cross_validated")), bounds=(-1.0, 1.0))
    return float(reference_loss.mean(axis=1).mean()), difference


def _training_rows(sc: _Scored, n: int) -> np.ndarray:
    """Rows the models of a scheme were fitted on (events per variable count there)."""
    if sc.scheme in ("nested_cv", "internal", "training"):
        return sc.rows
    return np.setdiff1d(np.arange(n), sc.rows)


def _compare(results: dict[str, Any], ref: str | None, v: Validation,
             cross_validated: bool, refusal: str | None = None) -> dict[str, dict[str, Any]]:
    """Paired AUC comparisons with ``ref``; with a ``refusal`` (too few patients of a class
    among the scored ones) every comparison is recorded as not estimable, with the reason,
    and the rest of the analysis goes on."""
    from radiomix.evaluate.arms import not_estimable_comparison, paired_auc_tests

    if ref is None or ref not in results or len(results) < 2:
        return {}
    if refusal is not None:
        return {k: not_estimable_comparison(ref, refusal) for k in results if k != ref}
    return paired_auc_tests(results, ref, n_bootstrap=v.bootstrap, random_state=v.seed,
                            cross_validated=cross_validated)


def _comparison_refusal(y: np.ndarray, g: np.ndarray, scheme: str,
                        v: Validation) -> str | None:
    """Why the scored rows ``y`` (patients ``g``) of a scheme cannot carry a paired AUC
    comparison (its paired bootstrap needs at least two positive and two negative patients), or
    ``None``."""
    from radiomix.evaluate.arms import MIN_PER_CLASS

    pos, neg, unit = _events(y, g)
    if min(pos, neg) >= MIN_PER_CLASS:
        return None
    if scheme == "external":
        where = f"the external test centre(s) {', '.join(map(str, v.test_centres))} hold"
        fix = "; choose a larger test centre, or compare the arms under nested_cv"
    else:
        where = f"the {SCHEME_TEXT.get(scheme, scheme).lower()} scored"
        fix = ""
    return (f"not estimable: {where} {pos} positive and {neg} negative {unit}; comparing "
            f"two arms' AUCs needs at least {MIN_PER_CLASS} of each{fix}")


APPARENT = "apparent (in-sample, on the patients the model was fitted on)"
"""How the curves of the training (apparent) scheme are captioned."""


def _binary_curves(results: dict[str, Any], v: Validation, cross_validated: bool,
                   order: list[str], *, apparent: bool = False) -> dict[str, Any]:
    """ROC, calibration and decision curves of a validation; of repeated CV each is the mean
    of the repeats' curves (the predictor whose metrics are reported), and says so in its
    ``legend``, as it says whether the predictions are out-of-sample or, for the apparent
    (training) scheme, of the patients the model was fitted on."""
    kind = APPARENT if apparent else "out-of-sample"
    from radiomix.evaluate.curves import (
        calibration_curve,
        decision_curves,
        mean_roc_curve,
        roc_band,
    )

    roc, cal, probas = {}, {}, {}
    y01 = None
    n_rep = 1
    for key in order:
        res = results[key]
        P, y_row, g_row = res.oof_matrix()
        y01 = (y_row == res.classes[1]).astype(int)
        if y01.min() == y01.max():
            continue
        n_rep = P.shape[0]
        curve = mean_roc_curve(y01, P)
        band = roc_band(y01, P, groups=g_row, n_bootstrap=min(v.bootstrap, 200),
                        random_state=v.seed, cross_validated=cross_validated)
        legend = (f"mean of {P.shape[0]} repeats' {kind} ROC curves" if P.shape[0] > 1
                  else f"{kind} ROC curve")
        roc[key] = {**curve, "band": {k: band[k] for k in ("fpr", "lower", "upper")},
                    "legend": legend}
        clustered = len(set(map(str, g_row))) < len(g_row)
        cal[key] = calibration_curve(y01, P, n_bins=5 if len(y01) >= 25 else 3,
                                     groups=g_row if clustered else None)
        counted = (" over each bin's effective number of patients (a patient's rows counted "
                   "as one)" if clustered else "")
        cal[key]["legend"] = (
            f"mean of {P.shape[0]} repeats' calibration curves (bins by rank of each "
            f"repeat's {kind} prediction); interval: Wilson interval of the averaged "
            f"observed fraction{counted}" if P.shape[0] > 1
            else f"calibration of the {kind} predictions; interval: Wilson interval{counted}")
        probas[key] = P
    dca = decision_curves(y01, probas) if probas and y01 is not None else None
    if dca is not None:
        dca["legend"] = (f"mean of {n_rep} repeats' net-benefit curves, each from that "
                         f"repeat's {kind} predictions; no interval is drawn"
                         if n_rep > 1 else
                         f"net benefit of the {kind} predictions; no interval is drawn")
    return {"roc": roc, "calibration": cal, "decision": dca}


@dataclass(frozen=True)
class _ArmTask:
    """One arm of one outcome, to evaluate under every scheme (picklable: runs in a worker)."""

    outcome: str
    arm: BuiltArm
    X: pd.DataFrame  # the outcome's analysed rows, the arm's columns
    g: np.ndarray
    centre: np.ndarray | None
    target: tuple[np.ndarray, ...]  # (y,) for a binary outcome, (time, event) for survival
    horizons: list[float]
    v: Validation
    final: bool = False  # refit on the training patients instead of validating


def _run_task(task: _ArmTask) -> Any:
    """A worker's job: validate one arm under every scheme, or refit it for saving (an arm
    that cannot be estimated from the table gives its reason as an error)."""
    if task.arm.not_estimable:
        return InputError(task.arm.not_estimable)
    return _fit_final(task) if task.final else _score_arm(task)


def _cost(task: _ArmTask) -> float:
    """Rough relative cost of a task, to start the longest first (scheduling only: results do
    not depend on it)."""
    weight = COST_WEIGHT.get(task.arm.model, 1.0) * (0.2 if task.arm.kind == "baseline" else 1.0)
    return weight * (0.05 if task.final else 1.0)


def _outcome_rows(table: AnalysisTable, target: Target) -> tuple[np.ndarray, np.ndarray | None]:
    """Patient ids and centres of the rows an outcome analyses."""
    g = table.groups[target.keep]
    centre = table.centre[target.keep] if table.centre is not None else None
    return g, centre


def _arm_tasks(table: AnalysisTable, target: Target, arms: list[BuiltArm],
               v: Validation) -> list[_ArmTask]:
    X = table.X.loc[target.keep].reset_index(drop=True)
    g, centre = _outcome_rows(table, target)
    o = target.outcome
    ys = ((np.asarray(target.y),) if o.kind == "binary"
          else (np.asarray(target.time_years), np.asarray(target.event)))
    horizons = list(o.horizons_years) if o.kind != "binary" else []
    return [_ArmTask(o.name, arm, X[arm.columns], g, centre, ys, horizons, v) for arm in arms]


def _check_harmonised_external(arm: BuiltArm, v: Validation) -> None:
    """ComBat by centre cannot score an external centre: the centre has no training rows to
    estimate its batch effect from (said in the centres' names, not the batch codes)."""
    external = [s for s in v.schemes if s in ("external", "training_internal_external")]
    if external and BATCH_COLUMN in arm.columns:
        raise InputError(
            f"ComBat by centre (harmonise) cannot score the external centre(s) "
            f"{', '.join(v.test_centres)}: they have no training rows to estimate their batch "
            f"effect from; harmonise by centre under nested_cv or holdout only, or leave "
            f"harmonise out of arm {arm.label!r} for the {external[0]} scheme"
        )


def _score_arm(task: _ArmTask) -> list[_Scored] | InputError:
    """Every scheme of one arm; an arm that cannot be estimated gives its error instead."""
    try:
        with warnings.catch_warnings():
            if task.arm.outcome_kind == "binary":
                warnings.simplefilter("ignore", category=RuntimeWarning)
                return _binary_schemes(task.arm, task.X, task.target[0], task.g, task.centre,
                                       task.v)
            warnings.simplefilter("ignore")
            return _survival_schemes(task.arm, task.X, task.target[0], task.target[1], task.g,
                                     task.centre, task.horizons, task.v)
    except InputError as exc:
        return exc


def _worker_setup(levels: dict[str, int], filters: list[Any]) -> None:
    """An analysis worker: one BLAS thread, the parent's log levels and warning filters."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    warnings.filters[:] = filters  # type: ignore[index]  # the parent's, as they are


def _run_tasks(fn: Callable[[Any], Any], tasks: list[Any], jobs: int,
               done: Callable[[int], None], order: list[int] | None = None) -> list[Any]:
    """``[fn(t) for t in tasks]``, on up to ``jobs`` worker processes
    (:func:`radiomix.cohort.pool_map`), started in ``order`` (default: as listed);
    ``done(i)`` as task ``i`` ends.

    Every task is computed on one thread from its own seeds, so the results do not depend on
    ``jobs`` or on the order in which the tasks run.
    """
    order = list(range(len(tasks))) if order is None else order
    results: list[Any] = [None] * len(tasks)
    if jobs <= 1 or len(tasks) <= 1:
        for i in order:
            results[i] = fn(tasks[i])
            done(i)
        return results
    from concurrent.futures.process import BrokenProcessPool

    from radiomix.cohort import pool_map

    levels = {n: logging.getLogger(n).level for n in ("radiomix", "radiomix.model")}
    setup = partial(_worker_setup, levels, list(warnings.filters))
    preload = ("radiomix.analysis.engine", "radiomix.model", "radiomix.evaluate.validate")
    with closing(pool_map(fn, tasks, jobs, order=order, setup=setup,
                          preload=preload)) as finished:
        for i, res in finished:
            if isinstance(res, BrokenProcessPool):
                raise InputError("an analysis worker process died (out of memory?); run "
                                 "again with fewer jobs (--jobs 1)")
            results[i] = res
            done(i)
    return results


def _evaluate_binary(table: AnalysisTable, target: Target, arms: list[BuiltArm],
                     spec: AnalysisSettings,
                     arm_results: dict[str, list[_Scored] | InputError]) -> dict[str, Any]:
    v = spec.validation
    g, centre = _outcome_rows(table, target)
    y = np.asarray(target.y)
    by_scheme: dict[str, dict[str, _Scored]] = {s: {} for s in _scheme_names(v)}
    failed: dict[str, str] = {}
    failed_in: dict[str, dict[str, str]] = {}  # scheme -> arm -> why (that scheme only)
    for arm in arms:
        arm_scored = arm_results[arm.key]
        if isinstance(arm_scored, InputError):
            failed[arm.key] = str(arm_scored)
            log.warning("arm %s not estimable: %s", arm.key, arm_scored)
            continue
        for sc in arm_scored:
            if isinstance(sc.result, InputError):
                failed_in.setdefault(sc.scheme, {})[arm.key] = str(sc.result)
                log.warning("arm %s not estimable under %s: %s", arm.key, sc.scheme, sc.result)
                continue
            by_scheme.setdefault(sc.scheme, {})[arm.key] = sc
    by_scheme = {k: d for k, d in by_scheme.items() if d}
    if not by_scheme:
        reasons = {**failed, **{k: m for d in failed_in.values() for k, m in d.items()}}
        if len(set(reasons.values())) == 1:  # one cause for every arm: said once
            raise InputError(f"outcome {target.outcome.name}: no arm could be evaluated: "
                             f"{next(iter(reasons.values()))}")
        raise InputError(f"outcome {target.outcome.name}: no arm could be evaluated ("
                         + "; ".join(f"{k}: {m}" for k, m in reasons.items()) + ")")
    order = [a.key for a in arms]
    ref = _reference(spec, order)
    validations = []
    preds = []
    for scheme, scored in by_scheme.items():
        any_sc = next(iter(scored.values()))
        cv = bool(any_sc.result.settings.get("cross_validated"))
        results = {k: s.result for k, s in scored.items()}
        compared = {k: r for k, r in results.items()
                    if k != "prevalence" and not one_value_per_fold(r)}
        arm_docs = {k: _binary_arm_doc(next(a for a in arms if a.key == k), s, y, g, target, v)
                    for k, s in scored.items()}
        rows = any_sc.rows
        refusal = _comparison_refusal(y[rows], g[rows], scheme, v)
        if refusal is not None and len(compared) > 1:
            log.warning("%s: %s", SCHEME_TEXT.get(scheme, scheme), refusal)
        for k, test in _compare(compared, ref, v, cv, refusal).items():
            arm_docs[k]["vs_reference"] = test
        if "volume" in compared and ref != "volume":
            # the size confound: every arm against tumour volume alone
            for k, test in _compare(compared, "volume", v, cv, refusal).items():
                arm_docs[k]["vs_arms"] = {"volume": {
                    "auc_difference": test["auc_difference"], "delong_p": test["delong_p"],
                    "p_value": test.get("p_value"), "p_method": test.get("p_method"),
                    **({"reason": test["reason"]} if test.get("reason") else {})}}
        for k, why in {**failed, **failed_in.get(scheme, {})}.items():
            arm_docs[k] = _not_estimable_binary(why)
        yy = y[rows]
        counts = _class_counts(yy, g[rows], v.level, table.unit)
        entry = {
            "scheme": scheme, "label": SCHEME_TEXT.get(scheme, scheme),
            "description": _scheme_description(scheme, v, arms),
            "cross_validated": cv, "n_patients": int(pd.unique(g[rows]).size),
            "n_rows": int(rows.size), "n_positive": counts["n_positive"],
            "n_positive_patients": counts["n_positive_patients"],
            "n_negative_patients": counts["n_negative_patients"],
            "count_unit": counts["count_unit"], "level": v.level,
            "centres": (sorted(set(centre[rows].tolist())) if centre is not None else None),
            "arms": arm_docs,
            "curves": _binary_curves(results, v, cv, [k for k in order if k in compared],
                                     apparent=scheme == "training"),
        }
        validations.append(entry)
        for k, s in scored.items():
            p = s.result.predictions.copy()
            p["row"] = _table_rows(target, p["row"].to_numpy(), s, scheme)
            preds.append(p.assign(outcome=target.outcome.name, scheme=scheme, arm=k))
    return {"validation": validations, "predictions": preds, "reference": ref}


def _scheme_names(v: Validation) -> list[str]:
    """Names of the validation entries the schemes produce, in order."""
    out: list[str] = []
    for s in v.schemes:
        out += (["training", "internal", "external"] if s == "training_internal_external"
                else [s])
    return out


def _not_estimable_reason(why: str) -> str:
    """``not estimable: <why>``, once (some reasons are written with the words already).

    Examples
    --------
    >>> _not_estimable_reason("1 positive"), _not_estimable_reason("not estimable: 1 positive")
    ('not estimable: 1 positive', 'not estimable: 1 positive')
    """
    return why if why.startswith("not estimable") else f"not estimable: {why}"


def _not_estimable_binary(why: str) -> dict[str, Any]:
    reason = _not_estimable_reason(why)
    names = ("roc_auc", "pr_auc", "accuracy", "sensitivity", "specificity", "balanced_accuracy",
             "brier", "calibration_intercept", "calibration_slope")
    return {"metrics": {m: _interval(None, None, None, reason) for m in names},
            "brier_reference": None, "brier_vs_reference": None, "threshold": None,
            "vs_reference": None,
            "folds_without_feature": None, "n_folds": 0, "chosen": [],
            "warnings": [reason]}


def _table_rows(target: Target, rows: np.ndarray, sc: _Scored, scheme: str) -> np.ndarray:
    """Map the evaluation's row positions back to rows of the analysis table (patient-level
    scoring names its rows by patient id: kept as they are)."""
    if not np.issubdtype(np.asarray(rows).dtype, np.number):
        return rows
    kept = np.flatnonzero(target.keep)
    if scheme in ("training", "internal"):
        return kept[sc.rows[rows.astype(int)]]
    return kept[rows.astype(int)]


def _reference(spec: AnalysisSettings, order: list[str]) -> str | None:
    if spec.reference_arm:
        if spec.reference_arm not in order:
            raise InputError(f"reference_arm {spec.reference_arm!r} is not among the arms "
                             f"{order}")
        return spec.reference_arm
    if "clinical" in order:
        return "clinical"
    return next((k for k in order if k != "prevalence"), None)


def _scheme_description(scheme: str, v: Validation, arms: Sequence[BuiltArm]) -> str:
    """How a validation run is done, its tuning said as it is run (:func:`~radiomix.analysis.
    arms.untuned_words`: fixed default hyper-parameters when no arm is tuned)."""
    tuned, untuned = untuned_words(arms)
    if scheme in ("nested_cv", "internal"):
        who = "the training centres' patients" if scheme == "internal" else "the patients"
        how = (f"its hyper-parameters chosen by an inner {v.inner_splits}-fold CV on those "
               "training patients only" if tuned else
               "with fixed (default) hyper-parameters (no arm is tuned)")
        return (f"{who.capitalize()} are split into {v.outer_splits} folds stratified by "
                f"outcome, every patient's rows in one fold; each fold is predicted by a model "
                f"fitted on the other folds, {how}; imputation, "
                f"scaling, selection and PCA are refitted inside every training fold. Repeated "
                f"{v.repeats} time(s) with new folds; metrics are averaged over repeats; 95 % "
                f"intervals from {v.bootstrap} patient-bootstrap replicates, widened by √2 "
                f"for the training side of cross-validation.{untuned}")
    if scheme == "holdout":
        how = ("tuned by inner patient-grouped CV" if tuned else
               "with fixed (default) hyper-parameters: no arm is tuned")
        return (f"A seeded patient-level split: {1 - v.test_size:.0%} of the patients train "
                f"({how}), {v.test_size:.0%} are scored once; "
                f"95 % intervals from {v.bootstrap} patient-bootstrap replicates.{untuned}")
    if scheme == "external":
        how = ("Trained and tuned" if tuned else
               "Trained with fixed (default) hyper-parameters (no arm is tuned)")
        return (f"{how} on every centre but {', '.join(v.test_centres)}; scored "
                "on the held-out centre's patients only (no training patient among them)."
                f"{untuned}")
    return ("Apparent performance: the model scored on the patients it was fitted on "
            f"(optimistic; shown only beside internal and external validation).{untuned}")


# --------------------------------------------------------------------------- survival


def _survival_schemes(arm: BuiltArm, X: pd.DataFrame, t: np.ndarray, e: np.ndarray,
                      g: np.ndarray, centre: np.ndarray | None, horizons: list[float],
                      v: Validation) -> list[_Scored]:
    from radiomix.evaluate.splits import centre_split
    from radiomix.evaluate.survival import (
        survival_apparent_validation,
        survival_cv,
        survival_external_validation,
        survival_holdout_validation,
    )

    Xa = X[arm.columns]
    common: dict[str, Any] = {"horizons": horizons, "n_bootstrap": v.bootstrap,
              "param_grid": arm.grid or None, "inner_splits": v.inner_splits,
              "random_state": v.seed, "on_refused_horizon": "record", "level": v.level}
    rows = np.arange(t.size)
    out: list[_Scored] = []
    for scheme in v.schemes:
        if scheme == "nested_cv":
            out.append(_scored("nested_cv", rows, survival_cv, arm.estimator, Xa, t, e, groups=g,
                               n_splits=v.outer_splits, n_repeats=v.repeats, **common))
        elif scheme == "holdout":
            out.append(_scored("holdout", partial(_held_out_rows, g=g),
                               survival_holdout_validation, arm.estimator, Xa, t, e, groups=g,
                               test_size=v.test_size, **common))
        else:
            if centre is None:
                raise InputError(f"the {scheme} scheme needs a centre column (roles.centre)")
            tr, te = centre_split(centre, groups=g, test_centres=list(v.test_centres))
            if scheme == "training_internal_external":
                sub = Xa.iloc[tr].reset_index(drop=True)
                out.append(_scored("training", tr, survival_apparent_validation, arm.estimator,
                                   sub, t[tr], e[tr], groups=g[tr], **common))
                out.append(_scored("internal", tr, survival_cv, arm.estimator, sub, t[tr],
                                   e[tr], groups=g[tr], n_splits=v.outer_splits,
                                   n_repeats=v.repeats, **common))
            out.append(_scored("external", te, survival_external_validation, arm.estimator, Xa,
                               t, e, groups=g, centre=centre,
                               test_centres=list(v.test_centres),
                               check=partial(_check_harmonised_external, arm, v), **common))
    return out


def _evaluate_survival(table: AnalysisTable, target: Target, arms: list[BuiltArm],
                       spec: AnalysisSettings,
                       arm_results: dict[str, list[_Scored] | InputError]) -> dict[str, Any]:
    v = spec.validation
    o = target.outcome
    g, centre = _outcome_rows(table, target)
    e = np.asarray(target.event)
    horizons = list(o.horizons_years)
    validations: dict[str, dict[str, Any]] = {}
    preds = []
    order = [a.key for a in arms]
    ref = _reference(spec, order) if order else None
    km_arm, km_rule = _km_arm(order, ref)
    scored_by: dict[str, dict[str, Any]] = {}
    for arm in arms:
        scored = arm_results[arm.key]
        if isinstance(scored, InputError):
            for scheme in _scheme_names(v):
                entry = validations.setdefault(scheme, _survival_entry(scheme, v, arms))
                entry["arms"][arm.key] = _not_estimable(str(scored), horizons)
            continue
        for sc in scored:
            entry = validations.setdefault(sc.scheme, _survival_entry(sc.scheme, v, arms))
            if isinstance(sc.result, InputError):  # not estimable under this scheme only
                log.warning("arm %s not estimable under %s: %s", arm.key, sc.scheme, sc.result)
                entry["arms"][arm.key] = _not_estimable(str(sc.result), horizons)
                continue
            entry["n_patients"] = int(pd.unique(g[sc.rows]).size)
            entry["n_events"] = int(e[sc.rows].sum())
            entry["n_event_patients"] = int(pd.unique(g[sc.rows][e[sc.rows] == 1]).size)
            entry["centres"] = (sorted(set(centre[sc.rows].tolist())) if centre is not None
                                else None)
            train = _training_rows(sc, e.size)
            entry["arms"][arm.key] = _survival_arm_doc(sc.result, horizons,
                                                       _events(e[train], g[train]), arm)
            p = sc.result.predictions.copy()
            p["row"] = _table_rows(target, p["row"].to_numpy(), sc, sc.scheme)
            preds.append(p.assign(outcome=o.name, scheme=sc.scheme, arm=arm.key))
            apparent = sc.scheme == "training"
            if arm.key == km_arm:
                entry["curves"]["km"] = _km_doc(sc.result, arm, o.time_unit, km_rule,
                                                apparent=apparent)
            cal = _survival_calibration_doc(sc.result, horizons, apparent=apparent)
            if cal:
                entry["curves"]["calibration"][arm.key] = cal
            scored_by.setdefault(sc.scheme, {})[arm.key] = sc.result
    for scheme, results in scored_by.items():
        _compare_survival(validations[scheme], results, ref, v)
    return {"validation": list(validations.values()), "predictions": preds, "reference": ref}


def _compare_survival(entry: dict[str, Any], results: dict[str, Any], ref: str | None,
                      v: Validation) -> None:
    """Paired C-index comparisons of a validation's survival arms: each against the
    reference arm (``vs_reference``) and, for the size confound, against tumour volume
    alone (``vs_arms``), as for binary outcomes."""
    from radiomix.evaluate.arms import paired_c_index_tests

    cv = bool(entry["cross_validated"])
    for against in dict.fromkeys([ref, "volume"]):
        if against is None or against not in results or len(results) < 2:
            continue
        tests = paired_c_index_tests(results, against, n_bootstrap=v.bootstrap,
                                     random_state=v.seed, cross_validated=cv)
        for k, test in tests.items():
            doc = entry["arms"][k]
            if against == ref:
                doc["vs_reference"] = test
            else:
                doc["vs_arms"] = {"volume": {
                    "c_index_difference": test["c_index_difference"],
                    "p_value": test.get("p_value"), "p_method": test.get("p_method"),
                    **({"reason": test["reason"]} if test.get("reason") else {})}}


def _not_estimable(why: str, horizons: list[float] | None = None) -> dict[str, Any]:
    """A survival arm that could not be evaluated: the C-index and every requested horizon's
    time-dependent AUC null with the reason (a requested horizon is never left out)."""
    reason = _not_estimable_reason(why)
    td = [{"horizon_years": h, **_interval(None, None, None), "n_at_risk": None,
           "reason": reason} for h in (horizons or [])]
    return {"metrics": {"c_index": _interval(None, None, None, reason)},
            "td_auc": td, "coefficients": None, "folds_without_feature": None,
            "warnings": [reason]}


def _km_arm(order: list[str], ref: str | None) -> tuple[str | None, str]:
    """The arm whose risk score splits the Kaplan-Meier groups, and why, in words for the
    report: the first imaging arm of the study, fixed before any result (never the
    best-scoring arm, whose split would be chosen for its p-value); the reference arm when
    the study has no imaging arm."""
    imaging = [k for k in order if k not in ("clinical", "volume")]
    if imaging:
        return imaging[0], ("the study's first imaging arm, fixed before any result; not the "
                            "arm that scored best, whose split would be chosen for its p-value")
    return ref, "the reference arm: the study has no imaging arm"


def _survival_entry(scheme: str, v: Validation, arms: Sequence[BuiltArm]) -> dict[str, Any]:
    return {"scheme": scheme, "label": SCHEME_TEXT.get(scheme, scheme),
            "description": _scheme_description(scheme, v, arms),
            "cross_validated": scheme in ("nested_cv", "internal"),
            "n_patients": 0, "n_events": 0, "centres": None, "level": v.level, "arms": {},
            "curves": {"km": None, "calibration": {}}}


def _survival_arm_doc(res: Any, horizons: list[float], events: tuple[int, int, str],
                      arm: BuiltArm) -> dict[str, Any]:
    met = res.metrics
    c = met[met["metric"] == "c_index"].iloc[0]
    td = []
    for h in horizons:
        row = met[(met["metric"] == "td_auc") & (met["horizon"] == h)]
        r = row.iloc[0] if len(row) else None
        reason = None if r is None else r.get("refused")
        reason = reason if isinstance(reason, str) else None
        method = r.get("interval_method") if r is not None else None
        td.append({"horizon_years": h,
                   **(_interval(r["estimate"], r["ci_low"], r["ci_high"],
                                interval_note=method if isinstance(method, str) else None)
                      if r is not None else _interval(None, None, None)),
                   "n_at_risk": _count(r.get("n_at_risk")) if r is not None else None,
                   "reason": reason if r is not None else (
                       f"not estimable: no time-dependent AUC at {h:g} years (no patient "
                       "with the event, or none without it, by then among the scored)")})
    warn = _epv_warning(events[0], events[2], arm.n_candidates)
    warn += _beyond_follow_up_warnings(res.predictions, horizons)
    folds = res.folds.to_dict("records") if len(res.folds) else []
    warn += _untuned_warnings(folds)
    warn += _grid_edge_warnings(arm.grid, [f.get("best_params") or {} for f in folds
                                           if not f.get("untuned") and not f.get("grid_tied")])
    warn += _tied_grid_warnings(folds)
    coefficients = None
    model = getattr(res, "model", None)
    if model is not None:
        coefficients = _coefficients(model)
        warn += _monotone_warning(coefficients)
    c_reason = c.get("refused")
    c_doc = _interval(c["estimate"], c["ci_low"], c["ci_high"],
                      c_reason if isinstance(c_reason, str) else None)
    if isinstance(c.get("interval_method"), str):  # an interval not from the bootstrap
        c_doc["interval_method"] = c["interval_method"]
    return {"metrics": {"c_index": c_doc},
            "td_auc": td, "coefficients": coefficients,
            "n_zero_coefficients": _n_zero(coefficients), "folds_without_feature": None,
            "warnings": warn}


def _beyond_follow_up_warnings(pred: pd.DataFrame, horizons: list[float]) -> list[str]:
    """Say at which horizons predicted event probabilities are missing from the
    predictions: a horizon after the last follow-up of a model's training rows has no
    Breslow estimate (:func:`radiomix.model.survival.baseline_at`), and the value of an
    earlier time is not carried forward."""
    from radiomix.evaluate.survival import event_prob_column

    out = []
    for h in horizons:
        col = event_prob_column(h)
        if col not in pred:
            continue
        n = int(pred[col].isna().sum())
        if n:
            out.append(
                f"no predicted probability of the event by {h:g} year{'' if h == 1 else 's'} "
                f"for {n} of {len(pred)} scored rows: the follow-up of their model's training "
                "rows ends before it; left empty in predictions.csv (choose an earlier "
                "horizon)")
    return out


def _untuned_warnings(folds: Sequence[Mapping[str, Any]]) -> list[str]:
    """Say in how many fitted models the inner folds could not score the tuning grid (no
    comparable pair among an inner test fold's patients: a C-index needs an event before
    another patient's time), and which value was then used untuned; and in how many some
    inner folds were left out of the tuning for that reason."""
    n = len(folds)
    untuned = [f for f in folds if f.get("untuned")]
    partial = sum(1 for f in folds
                  if not f.get("untuned") and int(f.get("unscorable_inner_folds") or 0) > 0)
    # an inner fold whose fits or scores failed (a centre its training rows lack, for a
    # ComBat step) is unscorable for another reason than its pairs: say that one
    failed = next((str(f["failed_reason"]) for f in folds
                   if isinstance(f.get("failed_reason"), str) and f["failed_reason"]), None)
    why = (f"its fits or scores failed ({failed})" if failed else
           "no inner test fold held a comparable pair of patients (an event before another "
           "patient's time)")
    out = []
    if untuned:
        used = sorted({json.dumps(f.get("best_params") or {}, sort_keys=True, default=str)
                       for f in untuned})
        out.append(
            f"tuning was impossible in {len(untuned)} of {n} fitted models: {why}, so no grid "
            f"point could be scored; the weakest penalty ({'; '.join(used)}) was used untuned "
            "there: fewer inner folds (inner_splits) or more patients")
    if partial:
        some = (f"some inner folds' fits or scores failed ({failed}) and those folds were"
                if failed else "some inner test folds held no comparable pair of patients "
                "and were")
        out.append(f"in {partial} of {n} fitted models {some} left out of the tuning (the "
                   "other inner folds chose)")
    return out


GRID_EDGE_SHARE = 0.5
"""Share of the fitted models whose tuned value is an end of its grid from which the arm says
that the best value may lie beyond the grid."""


def _tuning_grid(arm: BuiltArm) -> Mapping[str, Sequence[Any]]:
    """The values an arm's tuning chose among: its grid, or the C grid that
    ``penalised_logistic`` searches inside its own fit (recorded per fold as ``C``)."""
    if arm.grid or arm.model != "penalised_logistic":
        return arm.grid
    from radiomix.model.classifiers import PenalisedLogisticCV

    return {"C": list(PenalisedLogisticCV().Cs)}


def _grid_edge_warnings(grid: Mapping[str, Sequence[Any]],
                        chosen: Sequence[Mapping[str, Any]]) -> list[str]:
    """Say when a tuned parameter took an end of its grid in at least
    :data:`GRID_EDGE_SHARE` of the fitted models (and in more than one): the inner folds
    then chose the strongest (or weakest) value offered, and the best one may lie beyond
    it (a rad-score whose smallest C was chosen in 7 of 10 folds had a calibration slope of
    1.4 to 1.9: shrunk too much).

    Examples
    --------
    >>> _grid_edge_warnings({"model__C": [0.03, 0.1, 0.3, 1.0]},
    ...                     [{"model__C": 0.03}] * 3 + [{"model__C": 0.1}])[0][:58]
    'tuned model__C took the smallest value of its grid (0.03) '
    """
    out = []
    n = len(chosen)
    for name, values in grid.items():
        numbers = [x for x in values if isinstance(x, (int, float)) and not isinstance(x, bool)]
        if len(numbers) < 3 or len(numbers) != len(values) or n < 2:
            continue
        picked = [c.get(name) for c in chosen if c.get(name) is not None]
        for end, word in ((min(numbers), "smallest"), (max(numbers), "largest")):
            k = sum(p == end for p in picked)
            if k >= 2 and k >= GRID_EDGE_SHARE * n:
                out.append(f"tuned {name} took the {word} value of its grid ({end:g}) in {k} "
                           f"of {n} fitted models: the best value may lie beyond the grid "
                           f"({', '.join(f'{x:g}' for x in numbers)}); read the arm's "
                           "calibration with care")
    return out


def _tied_grid_warnings(folds: Sequence[Mapping[str, Any]]) -> list[str]:
    """Say in how many fitted models every grid value scored the same in the inner folds:
    the value used there is the tie rule's (the weakest penalty), not a tuned one (a single
    covariate ranks the patients the same under any ridge penalty).

    Examples
    --------
    >>> _tied_grid_warnings([{"grid_tied": True}, {"grid_tied": False}])[0][:45]
    'in 1 of 2 fitted models every value of the tu'
    """
    tied = sum(bool(f.get("grid_tied")) for f in folds)
    if not tied:
        return []
    return [f"in {tied} of {len(folds)} fitted models every value of the tuning grid scored "
            "the same in the inner folds (e.g. one covariate, whose ranking no penalty "
            "changes): the weakest penalty was taken there by the tie rule, not chosen on a "
            "score"]


def _n_zero(coefficients: list[dict[str, Any]] | None) -> int | None:
    """How many terms of a coefficient list are exactly 0 (left out by a penalty)."""
    return None if coefficients is None else sum(c.get("coef") == 0 for c in coefficients)


def _coefficients(model: Any) -> list[dict[str, Any]] | None:
    """Named coefficients with hazard ratios of a fitted survival pipeline, when it has them."""
    from radiomix.evaluate.validate import unwrap

    final = unwrap(model)[1]
    if not hasattr(final, "coefficients"):
        return None
    try:
        frame = final.coefficients()
    except (InputError, AttributeError, ValueError):
        return None
    out = []
    for r in frame.to_dict("records"):
        coef = r.get("coef_raw", r.get("coef"))
        hr = r.get("hazard_ratio_raw", r.get("hazard_ratio"))
        if hr is None and coef is not None:
            hr = np.exp(coef)
        # per SD of the training rows: comparable between terms (per unit is not: an energy
        # in the 10^5 shows HR 1.00 per unit)
        per_sd = r.get("coef_standardised", r.get("coef") if "coef_raw" in r else None)
        out.append({"term": str(r.get("term", r.get("covariate", ""))), "coef": _py(coef),
                    "hazard_ratio": _py(hr), "coef_per_sd": _py(per_sd),
                    "hr_ci_low": _py(r.get("hr_ci_low")), "hr_ci_high": _py(r.get("hr_ci_high")),
                    "monotone": bool(r.get("monotone", False)),
                    "clustered": bool(r.get("clustered", False))})
    return out


def _monotone_warning(coefficients: list[dict[str, Any]] | None) -> list[str]:
    """The warning for the terms of a final Cox model whose partial likelihood is monotone
    on its training patients (:func:`radiomix.model.survival.monotone_terms`), if any."""
    terms = [c for c in coefficients or [] if c.get("monotone")]
    if not terms:
        return []
    named = ", ".join(f"{c['term']} (hazard ratio {c['hazard_ratio']:.3g})" for c in terms)
    return [f"the final model's term(s) {named} have a monotone partial likelihood among the "
            "training patients (at every event the patient with the event has the highest, "
            "or at every event the lowest, value at risk: e.g. a level without any event), so "
            "their hazard ratios are where the fit stopped, not estimates; merge or drop the "
            "level or covariate"]


def _group_hr(hr: Any) -> dict[str, Any] | None:
    """The KM split's hazard ratio, high against low risk, as a document interval, with the
    interval's method (``interval``)."""
    if hr is None:
        return None
    out = _interval(hr.estimate, hr.ci_low, hr.ci_high, hr.reason)
    out["interval"] = ("Wald interval of the Cox model of the two groups"
                       + (", widened by √2 on the log scale for cross-validation (the groups "
                          "come from out-of-fold risk scores)" if hr.scale > 1.0 else ""))
    return out


def _km_doc(res: Any, arm: BuiltArm, unit: str, arm_rule: str, *,
            apparent: bool = False) -> dict[str, Any] | None:
    """Kaplan-Meier entry of a survival validation: the curves of one repeat (of repeated
    CV, the one with the median log-rank p) and the log-rank p of every repeat;
    ``arm_rule`` says why this arm's risk score splits the patients (:func:`_km_arm`);
    ``apparent``: the scores are in-sample (the training scheme), which the text says."""
    from radiomix.evaluate.survival import median_logrank_repeat

    try:
        ranks = res.logrank_by_repeat()
        drawn = median_logrank_repeat(ranks)
        if drawn is None:
            return None
        km = res.km(repeat=drawn)
    except (InputError, KeyError):
        return None
    groups = {}
    for name, cur in km.curves.items():
        cens = km.censored[km.censored["group"] == name] if len(km.censored) else None
        risk = km.at_risk[km.at_risk["group"] == name] if len(km.at_risk) else None
        groups[name] = {
            "time": _py(cur["time"].to_numpy()), "survival": _py(cur["survival"].to_numpy()),
            "lower": _py(cur["ci_lower"].to_numpy()), "upper": _py(cur["ci_upper"].to_numpy()),
            "censor_times": _py(cens["time"].to_numpy()) if cens is not None else [],
            "at_risk": ({"times": _py(risk["time"].to_numpy()),
                         "n": _py(risk["n_at_risk"].to_numpy())} if risk is not None else None)}
    ps = ranks["logrank_p"].to_numpy(dtype=float)
    valid = ps[np.isfinite(ps)]
    n_rep = len(ranks)
    which = _drawn_repeat_words(valid.size)
    drawn_text = (f"the risk groups of repeat {drawn + 1} of {n_rep} repeats (column repeat "
                  f"= {drawn} of predictions.csv, which counts from 0): {which}"
                  if n_rep > 1 else "the risk groups of the scored patients"
                  + (f", {APPARENT}" if apparent else ""))
    return {"arm": arm.key, "cutoff": _py(km.cutoffs[0] if len(km.cutoffs) == 1 else None),
            "cutoff_rule": ("median predicted risk of the training patients of the model that "
                            "scored each patient (no test outcome is used)"),
            "logrank_p": _py(km.logrank_p), "hazard_ratio": _group_hr(km.hazard_ratio),
            "time_unit": "years",
            "repeat": int(drawn), "repeat_number": int(drawn) + 1, "n_repeats": n_rep,
            "drawn": drawn_text, "drawn_short": which.split(",")[0] if n_rep > 1 else None,
            "arm_rule": arm_rule,
            "logrank_p_repeats": _py(ps),
            "logrank_p_median": _py(np.median(valid)),
            "logrank_p_min": _py(valid.min()), "logrank_p_max": _py(valid.max()),
            "groups": groups}


def _count(value: Any) -> int | None:
    """A count as an integer (a float one from a table), None when missing."""
    if value is None or not np.isfinite(value):
        return None
    return int(value)


def _drawn_repeat_words(n_valid: int) -> str:
    """Which repeat the Kaplan-Meier figure draws, of ``n_valid`` repeats with a log-rank p
    (:func:`~radiomix.evaluate.survival.median_logrank_repeat`): only an odd count has a
    repeat at the median, and only three or more keep the best and the worst split out."""
    if n_valid <= 1:
        return "the only repeat with a log-rank p"
    if n_valid == 2:
        return ("the repeat with the higher of the two log-rank p, the less favourable split "
                "of the two")
    if n_valid % 2:
        return ("the repeat whose log-rank p is the median of the repeats', so neither the "
                "best nor the worst split is shown")
    return ("the repeat with the higher of the two middle log-rank p (the repeats' median "
            "lies between them), so neither the best nor the worst split is shown")


def _survival_calibration_doc(res: Any, horizons: list[float], *,
                              apparent: bool = False) -> dict[str, Any] | None:
    """Calibration at the first horizon that is not refused: of repeated CV, the mean of the
    repeats' calibration tables (the predictor whose metrics are reported); ``apparent``:
    in-sample predictions (the training scheme), which the legend says."""
    for h in horizons:
        try:
            cal = res.mean_calibration(h)
        except (InputError, KeyError):
            continue
        k = int(cal["n_repeats"].iloc[0])
        n_rep = len(res.repeats)
        legend = (f"risk of the event by {h:g} year{'' if h == 1 else 's'}: "
                  + (f"mean of {k} of {n_rep} repeats' calibration tables (groups by rank of "
                     "each repeat's out-of-fold prediction; bounds: the mean of the repeats' "
                     "pointwise bounds)" if n_rep > 1 else "calibration of the scored patients"
                     + (f", {APPARENT}" if apparent else "")))
        reasons = [r for r in cal["reason"] if r]
        if reasons:  # a group the horizon is beyond: not drawn, and the legend says so
            legend += "; " + "; ".join(reasons)
        return {"horizon_years": h, "predicted": _py(cal["predicted"].to_numpy()),
                "observed": _py(cal["observed"].to_numpy()),
                "lower": _py(cal["observed_ci_low"].to_numpy()),
                "upper": _py(cal["observed_ci_high"].to_numpy()),
                "reasons": list(cal["reason"]),
                "n_repeats": k, "legend": legend}
    return None


# --------------------------------------------------------------------------- document


def _percent(k: int, n: int) -> str:
    """``k`` of ``n`` as a whole percentage, halves rounded up (exact fractions: binary
    floating point and Python's half-to-even rounding showed 17/40 as 42 %).

    Examples
    --------
    >>> _percent(17, 40), _percent(23, 40), _percent(20, 32), _percent(12, 32)
    ('43%', '58%', '63%', '38%')
    """
    if n <= 0:
        return "–"
    return f"{(200 * k + n) // (2 * n)}%"


def _table1(table: AnalysisTable, spec: AnalysisSettings) -> dict[str, Any] | None:
    """Patient characteristics by the first binary outcome (one row per patient).

    A numeric covariate is tested by :func:`rank_test` on its values, an ordinal one by
    :func:`rank_test` on its level codes (its order counts), a categorical one by
    :func:`categorical_test`; each row names its test.
    """
    binary = next((t for t in table.targets.values() if t.y is not None), None)
    raw = table.raw
    group = spec.roles.group
    per = raw.drop_duplicates(group).reset_index(drop=True)
    by = None
    labels: list[str] = []
    if binary is not None:
        o = binary.outcome
        ymap = dict(zip(table.groups[binary.keep], np.asarray(binary.y), strict=True))
        by = per[group].map(ymap)
        labels = [f"{o.title}: {' / '.join(binary.negative)}", f"{o.title}: {o.positive or '1'}"]
    rows = []
    for cov in spec.roles.covariates:
        s = per[cov.name]
        if cov.kind == "numeric":
            x = pd.to_numeric(s.astype(str).str.strip(), errors="coerce")

            def fmt(v: pd.Series) -> str:
                v = v.dropna()
                return (f"{v.median():.3g} ({v.quantile(.25):.3g}–{v.quantile(.75):.3g})"
                        if len(v) else "–")
            r: dict[str, Any] = {"variable": cov.name, "level": "median (IQR)", "kind": "numeric",
                 "overall": fmt(x), "missing": int(x.isna().sum()), "by_group": {},
                 "test": None, "p_value": None}
            if by is not None:
                parts = [x[by == k] for k in (0, 1)]
                r["by_group"] = {labels[k]: fmt(parts[k]) for k in (0, 1)}
                ok = by.notna() & x.notna()
                if (ok & (by == 0)).sum() > 1 and (ok & (by == 1)).sum() > 1:
                    r["test"], r["p_value"] = rank_test(x[ok].to_numpy(), by[ok].to_numpy())
            rows.append(r)
            continue
        from radiomix.analysis.data import _text

        text = _text(s)
        n_missing = int(text.isna().sum())
        text = text.fillna("(missing)")
        levels = list(cov.levels) if cov.levels else sorted(
            v for v in text.unique().tolist() if v != "(missing)")
        extra = [lv for lv in sorted(text.unique()) if lv not in levels]
        p = test = None
        if by is not None:
            ok = by.notna() & (text != "(missing)")
            if text[ok].nunique() > 1 and by[ok].nunique() == 2:
                if cov.kind == "ordinal":  # the levels' order counts: ranks of their codes
                    codes = text[ok].map({lv: float(k) for k, lv in enumerate(levels)})
                    test, p = rank_test(codes.to_numpy(), by[ok].to_numpy())
                    test = f"{test} (ordered levels)"
                else:
                    test, p = categorical_test(text[ok].to_numpy(), by[ok].to_numpy())
        for i, lv in enumerate([*levels, *extra]):
            m = text == lv
            r = {"variable": cov.name, "level": lv, "kind": cov.kind,
                 "overall": f"{int(m.sum())} ({_percent(int(m.sum()), m.size)})",
                 # the count on the "(missing)" row itself (every row of the variable
                 # shows one; the others 0)
                 "missing": n_missing if lv == "(missing)" else 0,
                 "by_group": {}, "test": None, "p_value": None}
            if by is not None:
                for k in (0, 1):
                    sub = m[by == k]
                    r["by_group"][labels[k]] = (f"{int(sub.sum())} "
                                                f"({_percent(int(sub.sum()), sub.size)})")
                if i == 0 and p is not None:
                    r["test"] = test
                    r["p_value"] = p
            rows.append(r)
    return {"by": binary.outcome.name if binary is not None else None, "groups": labels,
            "rows": rows}


TABLE1_PERMUTATIONS = 10_000
"""Label permutations of the Monte Carlo χ² test of a sparse Table 1 variable."""


def rank_test(values: np.ndarray, groups: np.ndarray) -> tuple[str, float]:
    """The rank test of a numeric or ordinal variable (its level codes) across groups, and
    its p-value.

    The two-sided Mann–Whitney U test for two groups, the Kruskal–Wallis H test for more
    (:func:`scipy.stats.mannwhitneyu`, :func:`scipy.stats.kruskal`; ties share their mean
    rank, with the tie correction). An ordinal variable's levels are compared by their
    order, which a χ² test of its levels as unordered categories ignores.

    Parameters
    ----------
    values : (n,) ndarray of float
        The variable (an ordinal one as its level codes 0, 1, ...), without missing values.
    groups : (n,) ndarray
        The group of each value; two or more groups, each with a value.

    Examples
    --------
    >>> grade = np.array([0., 0., 1., 0., 1., 2., 1., 2., 2., 2.])
    >>> test, p = rank_test(grade, np.array([0] * 5 + [1] * 5))
    >>> test, round(p, 3)
    ('Mann–Whitney U', 0.015)
    >>> rank_test(grade, np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2]))[0]
    'Kruskal–Wallis H'
    """
    from scipy import stats

    parts = [values[groups == g] for g in pd.unique(groups)]
    if len(parts) == 2:
        return "Mann–Whitney U", float(stats.mannwhitneyu(parts[0], parts[1]).pvalue)
    return "Kruskal–Wallis H", float(stats.kruskal(*parts).pvalue)


def categorical_test(levels: np.ndarray, groups: np.ndarray) -> tuple[str, float]:
    """The test of a categorical variable against two groups, and its p-value.

    Pearson's χ² (with Yates' correction for a 2 × 2 table, as
    :func:`scipy.stats.chi2_contingency`) when every expected count is 5 or more; else
    Fisher's exact test for a 2 × 2 table, and for more levels the χ² statistic's Monte
    Carlo p-value over :data:`TABLE1_PERMUTATIONS` permutations of the group labels (seed
    0: the same table gives the same p), since the χ² approximation fails with small
    expected counts.

    Examples
    --------
    >>> levels = np.array(["a"] * 10 + ["b"] * 10)
    >>> categorical_test(levels, np.array([0] * 8 + [1] * 2 + [0] * 3 + [1] * 7))[0]
    'Fisher exact'
    """
    from scipy import stats

    codes, lv = pd.factorize(pd.Series(levels), sort=True)
    grp = (pd.Series(groups) == pd.Series(groups).iloc[0]).to_numpy().astype(int)
    table = np.zeros((lv.size, 2))
    np.add.at(table, (codes, grp), 1.0)
    _, p, _, expected = stats.chi2_contingency(table)
    if (expected >= 5).all():
        return ("χ² (Yates)" if table.shape == (2, 2) else "χ²"), float(p)
    if table.shape == (2, 2):
        return "Fisher exact", float(stats.fisher_exact(table.astype(int))[1])
    observed = stats.chi2_contingency(table, correction=False)[0]
    rng = np.random.default_rng(0)
    totals = table.sum(axis=0)
    row = table.sum(axis=1)
    exp = np.outer(row, totals) / table.sum()
    hits = 0
    for _ in range(TABLE1_PERMUTATIONS):
        ones = np.bincount(codes, weights=rng.permutation(grp), minlength=lv.size)
        sim = np.column_stack([row - ones, ones])
        hits += float((((sim - exp) ** 2) / exp).sum()) >= observed - 1e-12
    return (f"χ², Monte Carlo p ({TABLE1_PERMUTATIONS:,} permutations; expected count < 5)",
            (hits + 1.0) / (TABLE1_PERMUTATIONS + 1.0))


def _check_centres(v: Validation, table: AnalysisTable) -> None:
    """Refuse a centre-based scheme without a centre column or with an unknown test centre
    before any arm runs (a settings error: the same for every arm)."""
    schemes = [s for s in v.schemes if s in ("external", "training_internal_external")]
    if not schemes:
        return
    if table.centre is None:
        raise SettingsError(f"the {schemes[0]} validation needs a centre column: roles.centre "
                            "in the study file, --centre on the command line")
    known = sorted(set(table.centre.tolist()))
    unknown = [c for c in v.test_centres if c not in known]
    if unknown:
        raise SettingsError(f"test centre(s) {unknown} are not in the centre column; its "
                            f"centres: {', '.join(known)}")
    if set(known) <= set(v.test_centres):
        raise SettingsError(f"every centre of the centre column ({', '.join(known)}) is a test "
                            f"centre, so the {schemes[0]} validation has no training centre: "
                            "keep at least one centre for training "
                            "(analysis.validation.test_centres, --test-centre)")


def _check_fold_counts(v: Validation, table: AnalysisTable) -> None:
    """Refuse more outer folds than a cross-validation can make, and more inner (tuning)
    folds than the smallest training set of a scheme can hold, before any arm runs (settings
    errors, the same for every arm; the libraries would otherwise fail inside an arm).

    The folds are stratified by the outcome (the event indicator for survival): scikit-learn
    cannot make more folds than the larger class has patients (4 patients of each class
    make no 5 folds, whatever the total). Per outcome (its patients with a value): the
    nested cross-validation runs on all of them, that of ``training_internal_external`` on
    the training centres' patients; the training sets counted are the outer folds'
    smallest (``L - ceil(L / outer_splits)`` of the larger class's ``L`` patients), the
    hold-out's (``floor(L (1 - test_size))``) and the training centres' patients under
    external validation."""
    from radiomix.evaluate.splits import patient_labels

    schemes = set(v.schemes)
    for name, target in table.targets.items():
        groups = pd.Series(np.asarray(table.groups)[target.keep]).astype(str).to_numpy()
        label = target.y if target.y is not None else target.event
        n = pd.unique(groups).size

        def larger(rows: np.ndarray, label: Any = label, groups: np.ndarray = groups) -> int:
            """Patients of the larger class among ``rows``."""
            if label is None or not rows.any():
                return int(pd.unique(groups[rows]).size)
            _, labs = patient_labels(np.asarray(label)[rows], groups[rows])
            return int(pd.Series(labs).value_counts().max())

        everyone = np.ones(groups.size, dtype=bool)
        cross: dict[str, tuple[int, int]] = {}  # (patients, of the larger class) per CV
        sizes: dict[str, int] = {}  # larger class's patients in each inner-split training set
        if "nested_cv" in schemes:
            cross[f"outcome {name}"] = (n, larger(everyone))
        if "holdout" in schemes:
            sizes["the hold-out training set"] = int(np.floor(larger(everyone)
                                                              * (1 - v.test_size)))
        if table.centre is not None and schemes & {"external", "training_internal_external"}:
            centre = np.asarray(table.centre)[target.keep]
            train = ~np.isin(centre, list(v.test_centres))
            m, big = int(pd.unique(groups[train]).size), larger(train)
            sizes["the training centres"] = big
            if "training_internal_external" in schemes:
                cross[f"the training centres of outcome {name}"] = (m, big)
        for where, (m, big) in cross.items():
            if v.outer_splits > m:
                raise SettingsError(
                    f"analysis.validation.outer_splits ({v.outer_splits}) is more than the {m} "
                    f"patients of {where}: choose at most {m} outer folds (--outer)")
            if v.outer_splits > big:
                raise SettingsError(
                    f"analysis.validation.outer_splits ({v.outer_splits}) is more than the "
                    f"{big} patients of the larger outcome class of {where} ({m} patients; "
                    f"folds are stratified by the outcome): choose at most {big} outer folds "
                    "(--outer)")
            sizes["the smallest outer training fold"] = min(
                sizes.get("the smallest outer training fold", big), big - -(-big // v.outer_splits))
        if sizes:
            where, smallest = min(sizes.items(), key=lambda kv: kv[1])
            if v.inner_splits > smallest and smallest < 2:
                raise SettingsError(
                    f"analysis.validation.inner_splits: {where} holds {smallest} patient(s) "
                    f"of the larger outcome class (outcome {name}, {n} patients; folds are "
                    "stratified by the outcome), too few for any inner split (2 or more "
                    "folds): use more outer folds (--outer) so that each training fold is "
                    "larger, or more patients")
            if v.inner_splits > smallest:
                raise SettingsError(
                    f"analysis.validation.inner_splits ({v.inner_splits}) is more than the "
                    f"{smallest} patients of the larger outcome class in {where} (outcome "
                    f"{name}, {n} patients; folds are stratified by the outcome): choose at "
                    f"most {smallest} inner folds (--inner)"
                    + (", or more outer folds" if where.endswith("outer training fold")
                       else ""))


def _imputation_doc(plan: dict[str, list[BuiltArm]], table: AnalysisTable) -> dict[str, Any]:
    """How missing model inputs were imputed, read from the arms' estimators (the
    ``impute`` parameter of their steps): ``columns`` (missing cells per column),
    ``methods`` and ``text``, one sentence for the report."""
    methods = sorted({str(v) for arms in plan.values() for a in arms
                      for k, v in a.estimator.get_params(deep=True).items()
                      if (k == "impute" or k.endswith("__impute")) and v is not None})
    cols = {str(k): int(n) for k, n in table.missing.items()}
    if not cols:
        text = "No model input had a missing value: nothing was imputed."
    else:
        listed = ", ".join(f"{k} ({n} cell{'s' if n != 1 else ''})" for k, n in cols.items())
        how = (" or ".join(methods) + " of the column's training rows") if methods \
            else "a method not recorded"
        levels = " (a categorical covariate, by its most frequent level)" if any(
            "=" in k for k in cols) and methods else ""
        text = (f"Missing values of {len(cols)} input column(s) were imputed: {listed}; each by "
                f"the {how}{levels}, fitted inside every training fold and applied to its test "
                "rows (never from test patients).")
    return {"columns": cols, "methods": methods, "text": text}


def _baseline_warnings(spec: AnalysisSettings, table: AnalysisTable) -> list[str]:
    """A declared baseline the table cannot build, said once (the tumour-volume baseline
    needs a volume column: without one it would otherwise be missing from every comparison
    without a word)."""
    from radiomix.model.columns import FeatureName
    from radiomix.model.confound import VOLUME_FEATURES

    out = []
    if "volume" in spec.baselines and not table.blocks["volume"]:
        # image tags only from columns named as radiomix names them (another tool's
        # columns, e.g. "fu_days", are no image tag)
        parsed = [FeatureName.parse(str(c)) for c in table.blocks["radiomic"]]
        tags = sorted({p.tag for p in parsed if p is not None})
        looked = " or ".join(f"{t}.original.morph.{f}" for f in VOLUME_FEATURES
                             for t in (tags or ["<tag>"]))
        named = "" if tags else (
            " (no column of the table follows radiomix's naming "
            "<tag>.<filter>.<family>.<feature>, so none can be recognised as the volume)")
        text = ("the tumour volume only baseline (the size confound) is not in this analysis: "
                f"the feature table has no tumour-volume column (looked for {looked}){named}; "
                "extract the morphology family (morph.volume_mesh) to compare every arm with "
                "tumour volume")
        log.warning(text)
        out.append(text)
    return out


def _single_training_batch(spec: AnalysisSettings, table: AnalysisTable) -> dict[str, str]:
    """Harmonised arms whose training rows hold a single batch, with the reason they are not
    estimable: with the external test centres set aside, one training centre (or one value
    of ``harmonise_batch``) leaves ComBat nothing to harmonise, and every fold of the arm
    would fail with a fitting message instead (keyed by the arm's key)."""
    from radiomix.analysis.data import _text

    v = spec.validation
    train = np.ones(len(table.groups), dtype=bool)
    if table.centre is not None and v.test_centres and (
            {"external", "training_internal_external"} & set(v.schemes)):
        train = ~np.isin(table.centre, list(v.test_centres))
    out = {}
    for arm in spec.arms:
        col = arm.harmonise_batch or spec.roles.centre
        if not arm.harmonise or col is None or col not in table.raw.columns:
            continue
        levels = sorted(set(_text(table.raw[col]).fillna("(missing)").to_numpy()[train]
                            .tolist()))
        if len(levels) == 1:
            where = ("without the test centres, the training rows" if not train.all()
                     else "the rows")
            out[arm.name] = (
                f"not estimable: harmonise needs two or more batches in the training rows, "
                f"but {where} hold one value of {col!r} ({levels[0]}), so ComBat has nothing "
                "to harmonise; remove harmonise from the arm, or name a batch column that "
                "varies within the training centres (harmonise_batch)")
    return out


def _batch_warnings(spec: AnalysisSettings, table: AnalysisTable) -> list[str]:
    """Harmonised arms whose batch column (``harmonise_batch``, else the centre) has no value
    for some rows: ComBat harmonises those rows together as one batch, ``(missing)``, which
    may hold several scanners; said once per column."""
    from radiomix.analysis.data import _text

    out = []
    seen: set[str] = set()
    for arm in spec.arms:
        if not arm.harmonise:
            continue
        col = arm.harmonise_batch or spec.roles.centre
        if col is None or col in seen or col not in table.raw.columns:
            continue
        seen.add(col)
        missing = _text(table.raw[col]).isna().to_numpy()
        if not missing.any():
            continue
        patients = pd.Series(table.groups[missing]).nunique()
        text = (f"batch column {col}: {patients} patient(s) ({int(missing.sum())} row(s)) have "
                "no value, and ComBat harmonises them together as one batch, '(missing)', "
                "which may mix scanners or centres; give every row its value")
        log.warning(text)
        out.append(text)
    return out


def _unseen_level_warnings(spec: AnalysisSettings, table: AnalysisTable) -> list[str]:
    """Levels of a categorical or ordinal covariate that only the external test centre(s)
    have: no model of a centre-based scheme was trained on them, so their patients are
    scored as the reference level (categorical: every indicator 0) or by extrapolation
    (ordinal), said once per covariate."""
    from radiomix.analysis.data import _text

    v = spec.validation
    if table.centre is None or not v.test_centres or not (
            {"external", "training_internal_external"} & set(v.schemes)):
        return []
    test = np.isin(table.centre, list(v.test_centres))
    out = []
    for cov in spec.roles.covariates:
        if cov.kind == "numeric" or cov.name not in table.raw.columns:
            continue
        values = _text(table.raw[cov.name])
        seen = set(values[~test].dropna())
        only = values[test].dropna()
        only = only[~only.isin(seen)]
        if only.empty:
            continue
        patients = pd.Series(table.groups[only.index.to_numpy()]).nunique()
        how = ("scored as the reference level" if cov.kind == "categorical"
               else "scored by extrapolating the ordinal scale")
        levels = ", ".join(repr(str(x)) for x in sorted(set(only)))
        text = (f"covariate {cov.name}: level(s) {levels} occur only in the external test "
                f"centre(s) {', '.join(v.test_centres)} ({patients} patient(s)); no model of the "
                f"external validation was trained on them, so these patients are {how}")
        log.warning(text)
        out.append(text)
    return out


def run_analysis(
    spec: AnalysisSettings,
    table: AnalysisTable,
    out_dir: str | Path,
    *,
    progress: Callable[[AnalysisProgress], None] | None = None,
    banners: list[dict[str, str]] | None = None,
    study: dict[str, Any] | None = None,
    flow: list[dict[str, Any]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    untrained_deep: bool = False,
    artefacts: dict[str, str] | None = None,
    save_models: bool = True,
    base_dir: str | Path | None = None,
    slices: pd.DataFrame | None = None,
    qc: dict[str, Any] | None = None,
    jobs: int = 1,
    input_warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """Evaluate every arm of every outcome; write ``analysis.json``, ``predictions.csv`` and
    ``model.joblib`` into ``out_dir``.

    Parameters
    ----------
    spec : AnalysisSettings
    table : AnalysisTable
        From :func:`radiomix.analysis.data.build_table`.
    out_dir : path
    progress : callable, optional
        Receives :class:`AnalysisProgress` events.
    banners, study, flow, errors : optional
        Banners, provenance, cohort flow and extraction errors for the document.
    untrained_deep : bool
        The deep features come from random weights (flagged on every deep arm).
    artefacts : dict, optional
        Further files of the analysis folder, by name.
    save_models : bool
        Refit every arm on all analysed patients (tuned by inner CV) and save them.
    base_dir : path, optional
        Folder that relative paths of the arms (stability tables) start from (the study
        file's folder).
    slices : DataFrame, optional
        The slice-level table of ``spec.leakage_audit`` (required when it is declared).
    qc : dict, optional
        The ``qc`` section (:func:`radiomix.analysis.qc.qc_section`).
    jobs : int
        Worker processes: the arms (and the final refits) are spread over them, each
        computed on one thread from its own seeds, so the document does not depend on
        ``jobs``.
    input_warnings : sequence of str
        Warnings raised while the inputs were read (a lesion listed twice in the manifest,
        feature rows without a clinical row), listed first in the document's warnings.

    Returns
    -------
    dict
        The results document (also written to ``analysis.json``).
    """
    _check_centres(spec.validation, table)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = Path(base_dir) if base_dir is not None else None
    plan = {o.name: build_arms(spec, table, o, untrained_deep=untrained_deep, base_dir=base)
            for o in spec.outcomes}
    for name, arms in plan.items():
        if not arms:
            raise InputError(f"outcome {name}: no arm can be built from the table (no "
                             "covariate, feature or volume column for any arm)")
    _check_fold_counts(spec.validation, table)
    one_batch = _single_training_batch(spec, table)
    plan = {name: [replace(a, not_estimable=one_batch[a.key]) if a.key in one_batch
                   and not a.not_estimable else a for a in arms]
            for name, arms in plan.items()}
    if spec.leakage_audit is not None and slices is None:
        raise InputError(f"leakage_audit: the slice table {spec.leakage_audit.table} was not "
                         "given")
    n_arms = sum(len(a) for a in plan.values())
    total = n_arms * (2 if save_models else 1)
    state = {"done": 0}
    if progress is not None:
        progress(AnalysisProgress("evaluating the arms", 0, total))
    outcome_docs: list[dict[str, Any]] = []
    preds: list[pd.DataFrame] = []
    warnings_all: list[str] = [*input_warnings, *_baseline_warnings(spec, table),
                               *_unseen_level_warnings(spec, table),
                               *_batch_warnings(spec, table)]
    from threadpoolctl import threadpool_limits

    tasks = [t for o in spec.outcomes
             for t in _arm_tasks(table, table.targets[o.name], plan[o.name], spec.validation)]
    finals = _final_tasks(tasks) if save_models else []
    every = tasks + finals

    def done(i: int) -> None:
        state["done"] += 1
        if progress is not None:
            t = every[i]
            progress(AnalysisProgress(f"{'final model' if t.final else t.outcome}: "
                                      f"{t.arm.label}", state["done"], total))

    with threadpool_limits(limits=1):
        results = _run_tasks(_run_task, every, jobs, done, order=sorted(
            range(len(every)), key=lambda i: -_cost(every[i])))
        scored, fitted = results[:len(tasks)], results[len(tasks):]
        by_outcome: dict[str, dict[str, Any]] = {o.name: {} for o in spec.outcomes}
        for task, res in zip(tasks, scored, strict=True):
            by_outcome[task.outcome][task.arm.key] = res
        for o in spec.outcomes:
            target = table.targets[o.name]
            arms = plan[o.name]
            run = (_evaluate_binary if o.kind == "binary" else _evaluate_survival)(
                table, target, arms, spec, by_outcome[o.name])
            preds.extend(run["predictions"])
            doc = _outcome_doc(o, target, table, arms, run, spec)
            outcome_docs.append(doc)
            few = _few_events_warning(doc)
            doc["exploratory"] = few  # the headline makes no claim of such an outcome
            if few:
                log.warning(few)
                warnings_all.append(few)
            for val in doc["validation"]:  # a small test centre, even of a large outcome
                flag = _few_events_warning({**val, "kind": doc["kind"], "validation_of": True,
                                            "name": f"{doc['name']} · {val['label']}"}) \
                    if val.get("n_patients") else None
                val["exploratory"] = flag
                if flag and not few:
                    log.warning(flag)
                    warnings_all.append(flag)
            if doc["n_patients_without_outcome"]:
                text = (f"{o.name}: {doc['n_patients_without_outcome']} patient(s) "
                        f"({doc['n_rows_without_outcome']} row(s)) without a value of the "
                        "outcome (an empty cell, or no row in the clinical table) are left out "
                        "of its analysis")
                log.warning(text)
                warnings_all.append(text)
            for val in doc["validation"]:
                for k, a in val["arms"].items():
                    warnings_all.extend(f"{o.name} · {val['label']} · {doc['arms'][k]['label']}:"
                                        f" {w}" for w in a.get("warnings", []))
        leakage = None
        if spec.leakage_audit is not None:
            assert slices is not None
            if progress is not None:
                progress(AnalysisProgress("leakage audit", state["done"], total))
            leakage = leakage_doc(spec, table, slices)
        files: dict[str, str] = {}
        # the earlier analysis's document and report go first: should a write below fail
        # (a full disk), no analysis.json describes other predictions than the folder's
        _remove_stale_report(out)
        (out / "analysis.json").unlink(missing_ok=True)
        for name, written in (("predictions.csv", bool(preds)), ("model.joblib", save_models)):
            if not written and (out / name).is_file():  # an earlier analysis's, not this one's
                (out / name).unlink()
        if preds:  # none when no arm of any outcome could be evaluated
            pd.concat(preds, ignore_index=True).to_csv(out / "predictions.csv", index=False)
            files["predictions"] = "predictions.csv"
        files["analysis"] = "analysis.json"
        if save_models:
            final = _save_models(finals, fitted, spec.validation, out)
            files["models"] = "model.joblib"
            warnings_all.extend(_final_coefficients(outcome_docs, final))
            for odoc in outcome_docs:
                if odoc["kind"] == "binary":
                    odoc["top_features"] = _top_features(odoc, final.get(odoc["name"], {}),
                                                         table, spec)
                    odoc["nomogram"] = nomogram_doc(odoc, final.get(odoc["name"], {}), table)
                    if odoc["nomogram"] and odoc["nomogram"].get("separation"):
                        warnings_all.append(f"{odoc['name']}: {odoc['nomogram']['separation']}")
                odoc["confounding"] = confounding_doc(odoc, final.get(odoc["name"], {}), table)
                _stability_counts(odoc, final.get(odoc["name"], {}))
                for text in _harmonise_warnings(odoc, final.get(odoc["name"], {})):
                    log.warning(text)
                    warnings_all.append(text)
    if progress is not None:
        progress(AnalysisProgress("done", total, total))
    doc = {
        "schema": SCHEMA,
        "title": spec.title or "Analysis of " + ", ".join(o.title for o in spec.outcomes),
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seed": spec.validation.seed,
        "study": study or {},
        "banners": [*(banners or []), *_table_banners(table)],
        "warnings": warnings_all,
        "cohort": {
            "unit": table.unit, "n_rows": len(table.X), "n_patients": table.n_patients,
            "centres": (pd.Series(table.centre).groupby(table.groups).first().value_counts()
                        .to_dict() if table.centre is not None else None),
            "flow": _outcome_flow(flow or [{"step": "patients analysed",
                                            "n": table.n_patients}], outcome_docs),
            "table1": _table1(table, spec),
            "missing_imputed": table.missing,
            "imputation": _imputation_doc(plan, table),
        },
        "roles": table.roles,
        "errors": errors or [],
        "outcomes": outcome_docs,
        "leakage": leakage,
        "qc": qc,
        "artefacts": {**files, **(artefacts or {})},
    }
    doc = _py(doc)
    (out / "analysis.json").write_text(json.dumps(doc, indent=1, allow_nan=False,
                                                  ensure_ascii=False) + "\n", encoding="utf-8")
    return doc


def _remove_stale_report(out: Path) -> None:
    """Delete the report files an earlier analysis left in ``out`` (``report.html``,
    ``metrics.json``, ``report.pdf``): they describe that analysis, not the one written now,
    and a run without a report (``--no-report``) would leave them beside the new
    ``analysis.json``. The report of this analysis is written after it, or by
    ``radiomix report``."""
    from radiomix.report.html import METRICS_FILE, PDF_FILE, REPORT_FILE

    stale = [name for name in (REPORT_FILE, METRICS_FILE, PDF_FILE) if (out / name).is_file()]
    for name in stale:
        (out / name).unlink()
    if stale:
        log.info("removed the earlier analysis's %s from %s", ", ".join(stale), out.name)


def _outcome_flow(flow: list[dict[str, Any]],
                  outcome_docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cohort flow, ending with the patients each outcome analyses: when an outcome
    leaves patients without a value out, "patients analysed" of the table is said as the
    patients in the table, followed by those left out and those analysed for the outcome
    (the flow never states more patients analysed than any outcome had)."""
    short = [d for d in outcome_docs if d.get("n_patients_without_outcome")]
    if not short:
        return [dict(s) for s in flow]
    out = [({**s, "step": "patients in the analysed table"}
            if s.get("step") == "patients analysed" else dict(s)) for s in flow]
    for d in short:
        out += [{"step": f"{d['name']}: patients without a value of the outcome (an empty "
                         "cell, or no row in the clinical table; left out)",
                 "n": int(d["n_patients_without_outcome"])},
                {"step": f"{d['name']}: patients analysed", "n": int(d["n_patients"])}]
    return out


def leakage_doc(spec: AnalysisSettings, table: AnalysisTable,
                slices: pd.DataFrame) -> dict[str, Any]:
    """The slice-level leakage audit of ``spec.leakage_audit`` as the document's ``leakage``.

    Each slice takes its patient's label (patients outside the analysis, or without a
    label, are left out); the same model (standardisation, PCA, kNN or logistic regression)
    is scored with naive slice-level splits and with patient-grouped splits by
    :func:`radiomix.evaluate.audit.leakage_audit` (hold-out with ``validation.test_size``
    and ``validation.outer_splits``-fold CV, each ``leakage_audit.repeats`` times).

    Raises
    ------
    InputError
        No ``patient_id`` column, no column matching the patterns, non-finite values, a
        patient with two labels, or fewer than two classes among the slices.
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from radiomix.analysis.arms import match_columns
    from radiomix.evaluate.audit import NAIVE_LABEL, leakage_audit

    la = spec.leakage_audit
    assert la is not None
    v = spec.validation
    if "patient_id" not in slices.columns:
        raise InputError(f"leakage_audit: {la.table} has no patient_id column")
    cols = match_columns([str(c) for c in slices.columns], la.columns)
    if not cols:
        raise InputError(f"leakage_audit: no column of {la.table} matches {list(la.columns)}")
    tags = list(dict.fromkeys(c.split(".")[0] for c in cols))
    several = ""
    if "tag" in slices.columns and tags[0] in set(slices["tag"].astype(str)):
        # the cohort's slice table stacks the deep tags: each row holds its own tag's
        # columns only, so one audit reads one tag's rows (the first tag's), and says so
        cols = [c for c in cols if c.split(".")[0] == tags[0]]
        slices = slices[slices["tag"].astype(str) == tags[0]]
        if len(tags) > 1:
            several = (f" The table holds the slices of {len(tags)} image tags "
                       f"({', '.join(tags)}); the audit reads {tags[0]}'s "
                       f"(leakage_audit.columns: ['{tags[1]}.deep.*'] audits {tags[1]}'s).")
            log.warning("leakage audit: %s", several.strip())
    target = table.targets[la.outcome]
    labels = pd.DataFrame({"patient_id": table.groups[target.keep].astype(str),
                           "y": np.asarray(target.y)})
    per = labels.groupby("patient_id")["y"].nunique()
    if (per > 1).any():
        raise InputError(f"leakage_audit: patients {list(per.index[per > 1])[:5]} carry both "
                         f"labels of {la.outcome}; a slice cannot take its patient's label")
    labels = labels.drop_duplicates("patient_id")
    ids = slices["patient_id"].astype(str)
    lacking = _check_audit_ids(ids, labels["patient_id"], Path(la.table).name)
    rows = slices.assign(patient_id=ids).merge(labels, on="patient_id", how="inner")
    X = rows[cols].to_numpy(dtype=float)
    if not np.isfinite(X).all():
        raise InputError(f"leakage_audit: {la.table} has missing or infinite values in "
                         f"{int((~np.isfinite(X)).any(axis=0).sum())} feature column(s) of "
                         "the analysed patients' slices; choose complete columns with "
                         "leakage_audit.columns")
    y = rows["y"].to_numpy(dtype=int)
    if np.unique(y).size < 2:
        raise InputError(f"leakage_audit: the slices of the analysed patients hold one class "
                         f"of {la.outcome} only")
    steps: list[Any] = [StandardScaler()]
    if la.pca is not None:
        steps.append(PCA(n_components=min(la.pca, X.shape[1]), svd_solver="full"))
    clf = (KNeighborsClassifier(n_neighbors=la.n_neighbors) if la.model == "knn"
           else LogisticRegression(max_iter=5000))
    model_text = (("standardisation, " + (f"PCA to {la.pca} components, " if la.pca else ""))
                  + (f"kNN (k = {la.n_neighbors})" if la.model == "knn"
                     else "L2 logistic regression"))
    res = leakage_audit(make_pipeline(*steps, clf), X, y, groups=rows["patient_id"].to_numpy(),
                        test_size=v.test_size, n_splits=v.outer_splits, n_repeats=la.repeats,
                        n_bootstrap=v.bootstrap, random_state=v.seed)
    schemes = []
    for scheme, part in res.table.groupby("scheme", sort=False):
        sides = {}
        for r in part.to_dict("records"):
            sides["naive" if r["leaky"] else "grouped"] = {
                "label": r["split"],
                "roc_auc": _interval(r["roc_auc"], r["roc_auc_ci_low"], r["roc_auc_ci_high"],
                                     r.get("roc_auc_reason"),
                                     interval_note=r.get("roc_auc_interval_note")),
                "accuracy": _interval(r["accuracy"], r["accuracy_ci_low"],
                                      r["accuracy_ci_high"],
                                      interval_note=r.get("accuracy_interval_note")),
                "test_rows_with_patient_in_train": _py(r["test_rows_with_patient_in_train"])}
        inf = res.inflation[res.inflation["scheme"] == scheme].iloc[0]
        schemes.append({"scheme": str(scheme), **sides,
                        "inflation": {"roc_auc": _py(inf["roc_auc_inflation"]),
                                      "accuracy": _py(inf["accuracy_inflation"])}})
    n_pat = int(rows["patient_id"].nunique())
    return {
        "description": (f"{len(rows)} slices of {n_pat} patients from {Path(la.table).name} "
                        f"({len(cols)} columns), each slice labelled with its patient's "
                        f"{la.outcome}; the same model scored with splits by slice and by "
                        "patient." + (f" {lacking} analysed patient(s) have no slice in the "
                                      "table and are not in the audit." if lacking else "")
                        + several),
        "interpretation": (f"Rows marked '{NAIVE_LABEL}' put slices of one patient on both "
                           "sides of the split: the model recognises the patient, not the "
                           "outcome. Only the patient-grouped rows estimate performance on "
                           "new patients."),
        "model": model_text, "n_rows": len(rows), "n_patients": n_pat,
        "n_patients_without_slices": lacking, "schemes": schemes,
    }


def _check_audit_ids(ids: pd.Series, analysed: pd.Series, name: str) -> int:
    """Refuse a slice table none of whose patients is analysed (naming the nearest id),
    and say how many analysed patients it lacks (returned): the audit covers the others
    only."""
    have = set(ids)
    known = set(analysed)
    if not have & known:
        first = str(ids.iloc[0]) if len(ids) else ""
        from radiomix.text_keys import id_key

        folded = {id_key(k.strip()): k for k in known}
        near = folded.get(id_key(first.strip()))
        hint = f"; did you mean {near!r}?" if near else ""
        raise InputError(
            f"leakage_audit: no patient_id of {name} is among the {len(known)} analysed "
            f"patients (e.g. {first!r}{hint}): the table belongs to another study or its ids "
            "were changed; write it with the study's deep: {mode: slices, keep_slices: true}")
    lacking = known - have
    if lacking:
        log.warning("leakage_audit: %d of the %d analysed patients have no slice in %s (e.g. "
                    "%r); the audit covers the other %d", len(lacking), len(known), name,
                    sorted(lacking)[0], len(known) - len(lacking))
    return len(lacking)


def _outcome_doc(o: Any, target: Target, table: AnalysisTable, arms: list[BuiltArm],
                 run: dict[str, Any], spec: AnalysisSettings) -> dict[str, Any]:
    g = table.groups[target.keep]
    dropped = table.groups[~target.keep]
    base = {"name": o.name, "kind": o.kind, "label": o.title,
            "n_patients": int(pd.unique(g).size), "n_rows": int(target.keep.sum()),
            "n_rows_without_outcome": int(dropped.size),
            "n_patients_without_outcome": int(np.setdiff1d(pd.unique(dropped), g).size),
            "reference_arm": run["reference"], "arm_order": [a.key for a in arms],
            "arms": {a.key: a.to_doc() for a in arms}, "validation": run["validation"]}
    if o.kind == "binary":
        y = np.asarray(target.y)
        return {**base, "column": o.column, "positive": o.positive or "1",
                "negative": target.negative,
                **_class_counts(y, g, spec.validation.level, table.unit),
                "threshold": {"rule": spec.validation.threshold,
                              "text": _threshold_text(spec.validation.threshold)}}
    e = np.asarray(target.event)
    t = np.asarray(target.time_years)
    return {**base, "time": o.time, "event": o.event, "time_unit": o.time_unit,
            "event_definition": o.event_definition or f"{o.event} = {o.event_value}",
            "horizons_years": list(o.horizons_years), "n_events": int(e.sum()),
            "n_event_patients": _patient_count(e, g),
            "median_follow_up_years": median_follow_up(t, e, g)}


def median_follow_up(time: np.ndarray, event: np.ndarray, groups: np.ndarray) -> float | None:
    """Median follow-up by the reverse Kaplan–Meier method, over patients.

    The censoring distribution is estimated with censoring as the event and the outcome's
    event as censoring (Schemper & Smith 1996), one row per patient (a patient's lesions
    share its time and event; counted per lesion, patients with more lesions weighed more).
    The median of the censored times alone is biased down (a patient censored early by the
    event is not followed less). ``None`` when the estimate never falls to one half (fewer
    than half of the patients' follow-up ends in censoring).

    Examples
    --------
    >>> t = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0])
    >>> median_follow_up(t, np.array([1, 0, 0, 0, 1, 0]), np.array(list("abbcde")))
    3.0
    """
    from lifelines import KaplanMeierFitter

    frame = pd.DataFrame({"g": groups, "t": time, "e": event}).drop_duplicates("g")
    km = KaplanMeierFitter().fit(frame["t"], 1 - frame["e"].astype(int))
    median = float(km.median_survival_time_)
    return median if np.isfinite(median) else None


def _table_banners(table: AnalysisTable) -> list[dict[str, str]]:
    """A banner per alert of the table (:attr:`AnalysisTable.alerts`): an input that holds
    an outcome itself (image columns are exempt from the leak guard's refusal, since a
    strong feature can separate a small cohort, so an exact copy under a feature name runs
    and every arm reading it reports the outcome predicting itself), a centre column that
    separates an outcome, one lesion under two patient ids. Each says why the results it
    touches cannot be read as they stand."""
    why = {"An input holds the outcome": (
        ": the arms that read it predict the outcome from itself, so their results say "
        "nothing about the images; if the column was recorded after the outcome, declare it "
        "derived (roles.derived / --derived)")}
    return [{"level": "error", "title": title, "text": text + why.get(title, "")}
            for title, text in table.alerts]


FEW_EVENTS = 10
"""Patients of the smaller class (binary) or with the event (survival) below which every
estimate of an outcome is flagged as exploratory."""


def _few_events_warning(doc: dict[str, Any]) -> str | None:
    """The warning of an outcome with fewer than :data:`FEW_EVENTS` patients of its smaller
    class, or with the event: with so few, a cross-validated estimate moves a lot with the
    split, and its patient-bootstrap interval (which resamples the scored patients only)
    covers less than it states (in a null simulation with 3 events of 35 patients, 22 of
    72 nominal 95 % intervals of AUC and C-index excluded chance)."""
    if doc["kind"] == "binary":
        counts = [doc.get("n_positive_patients"), doc.get("n_negative_patients")]
        if None in counts:
            counts = [doc.get("n_positive"), doc.get("n_negative")]
        smallest, what = min(int(c or 0) for c in counts), "of its smaller class"
    else:
        events = doc.get("n_event_patients")
        smallest = int(events if events is not None else doc.get("n_events") or 0)
        what = "with the event"
    if smallest >= FEW_EVENTS:
        return None
    scope = ("of this validation" if doc.get("validation_of") else "of this outcome")
    return (f"{doc['name']}: only {smallest} patient(s) {what}; with fewer than {FEW_EVENTS} "
            "the estimates vary widely between splits and their intervals cover less than "
            f"they state: read every result {scope} as exploratory")


def _threshold_text(rule: str) -> str:
    if _is_prob(rule):
        return f"a predicted probability ≥ {rule} is called positive"
    what = ("the threshold maximising sensitivity + specificity (Youden)" if rule == "youden"
            else f"the threshold reaching {rule.replace('=', ' ≥ ')}")
    return (f"{what}, fixed in each training fold on its inner cross-validated predictions "
            "(never on test patients); the values used are listed per arm")


def _is_prob(rule: str) -> bool:
    try:
        float(rule)
    except ValueError:
        return False
    return True


def feature_identity(column: str) -> dict[str, Any]:
    """IBSI identity of a feature column: name, IBSI code, family, aggregation.

    Examples
    --------
    >>> feature_identity("ct.original.glcm.joint_max.3d_merged")["ibsi"]
    'GYBY'
    >>> feature_identity("age")["ibsi"] is None
    True
    """
    from radiomix.features import get_feature
    from radiomix.features.aggregation import Aggregation
    from radiomix.model.columns import FeatureName

    out: dict[str, Any] = {"name": None, "ibsi": None, "family": None, "family_code": None,
                           "aggregation": None, "aggregation_code": None}
    parsed = FeatureName.parse(column)
    if parsed is None or parsed.block == "deep":
        return out
    try:
        spec = get_feature(f"{parsed.family}.{parsed.feature}")
    except (InputError, KeyError):
        return {**out, "family": parsed.family}
    out.update(name=spec.doc.split(" (IBSI")[0].rstrip(".") or spec.name, ibsi=spec.ibsi,
               family=parsed.family, family_code=spec.family_code)
    if parsed.aggregation:
        try:
            agg = Aggregation.from_token(parsed.aggregation)
            out.update(aggregation=agg.printed, aggregation_code=agg.ibsi)
        except InputError:
            pass
    return out


def _final_of_kind(odoc: dict[str, Any], final: dict[str, Any],
                   model: str) -> tuple[str | None, Any]:
    """(key, last pipeline step) of the first final model whose arm uses ``model``."""
    from radiomix.evaluate.validate import unwrap

    key = next((k for k in odoc["arm_order"] if odoc["arms"][k]["model"] == model
                and k in final), None)
    if key is None:
        return None, None
    return key, unwrap(final[key]["model"])[1]


def _top_features(odoc: dict[str, Any], final: dict[str, Any], table: AnalysisTable,
                  spec: AnalysisSettings, n_top: int = 15) -> dict[str, Any] | None:
    """The final rad-score's kept features: IBSI identity, standardised coefficient, the
    feature's own AUC with a patient-bootstrap interval, Spearman correlation with volume,
    and the share of the cross-validation's training folds (every repeat) whose rad-score
    kept it (``selection_frequency``; None without a cross-validation of the arm)."""
    from scipy.stats import rankdata, spearmanr

    from radiomix.evaluate.bootstrap import patient_bootstrap_weights, percentile_interval
    from radiomix.evaluate.metrics import weighted_roc_auc

    key, rs = _final_of_kind(odoc, final, "radscore")
    if key is None or not hasattr(rs, "coefficients"):
        return None
    cf = rs.coefficients()
    cf = cf[(cf["term"] != "(intercept)") & cf["selected"]]
    cf = cf.reindex(cf["coef_standardised"].abs().sort_values(ascending=False).index).head(n_top)
    target = table.targets[odoc["name"]]
    y = np.asarray(target.y)
    g = table.groups[target.keep]
    X = table.X.loc[target.keep].reset_index(drop=True)
    vol = table.blocks["volume"][0] if table.blocks["volume"] else None
    kept = next(((a["selected_in_folds"], a["n_folds"]) for val in odoc["validation"]
                 if val["scheme"] in ("nested_cv", "internal")
                 for a in [val["arms"].get(key) or {}]
                 if a.get("selected_in_folds") is not None and a.get("n_folds")), None)
    W = patient_bootstrap_weights(g, n_bootstrap=min(spec.validation.bootstrap, 500),
                                  random_state=spec.validation.seed)
    items = []
    for r in cf.to_dict("records"):
        col = str(r["term"])
        x = X[col].to_numpy(dtype=float) if col in X else np.full(len(y), np.nan)
        ok = np.isfinite(x)
        auc: dict[str, Any] | None = None
        if ok.sum() > 2 and len(np.unique(y[ok])) == 2:
            rk = rankdata(x[ok])
            rk = (rk - rk.min()) / (rk.max() - rk.min()) if rk.max() > rk.min() else rk * 0.0
            est_auc = float(weighted_roc_auc(y[ok], rk)[0])
            lo, hi, _ = percentile_interval(weighted_roc_auc(y[ok], rk, W[:, ok]))
            auc = _interval(est_auc, lo, hi)
        rho = None
        if vol is not None and col != vol:
            v = X[vol].to_numpy(dtype=float)
            both = ok & np.isfinite(v)
            if both.sum() > 2:
                rho = float(spearmanr(x[both], v[both])[0])
        items.append({"column": col, **feature_identity(col),
                      "coefficient": _py(r["coef_standardised"]), "univariate_auc": auc,
                      "volume_correlation": _py(rho),
                      "selection_frequency": (None if kept is None
                                              else kept[0].get(col, 0) / kept[1])})
    return {"arm": key, "items": items, "description": (
        "Features kept by the rad-score refitted on the training patients (penalty chosen by "
        "inner cross-validation), largest standardised coefficient first; each feature's own "
        "AUC (of its raw value: above 0.5 when higher values go with the positive class, below "
        "when lower values do) with a patient-bootstrap interval on all patients (descriptive, "
        "not validated), and its Spearman correlation with tumour volume. Which features are "
        "kept varies between folds: a description of one model, not a discovery.")}


def nomogram_doc(odoc: dict[str, Any], final: dict[str, Any],
                 table: AnalysisTable) -> dict[str, Any] | None:
    """The document's ``nomogram`` entry: the final logistic nomogram of the first arm with
    ``model: nomogram`` (refitted on the training patients), in the units a clinician
    enters: numeric covariates over their training range, categorical and ordinal ones by
    their level names (one term per covariate, its reference level at 0), and the
    rad-score with every one of its terms (standardised coefficients with the mean and SD
    of each feature) so the chart can be applied to a new patient.

    Returns None when no such arm was fitted.
    """
    key, nomo = _final_of_kind(odoc, final, "nomogram")
    if key is None or not hasattr(nomo, "coef_raw_"):
        return None
    covs = {c["name"]: c for c in table.roles.get("covariates", [])}
    terms: list[dict[str, Any]] = []
    by_cov: dict[str, dict[str, Any]] = {}
    for j, term in enumerate(nomo.terms_):
        coef, lo, hi = (float(nomo.coef_raw_[j]), float(nomo.term_min_[j]),
                        float(nomo.term_max_[j]))
        if term == "radscore":
            terms.append({"term": "radscore", "label": "rad-score", "kind": "numeric",
                          "coef": coef, "range": [lo, hi], "unit": None, "levels": None})
            continue
        source = table.sources.get(term, term)
        cov = covs.get(source, {})
        levels = cov.get("levels")
        if cov.get("kind") == "ordinal" and levels:
            terms.append({"term": term, "label": source, "kind": "categorical", "coef": None,
                          "range": None, "unit": None,
                          "levels": [{"level": str(lv), "coef": coef * k}
                                     for k, lv in enumerate(levels)]})
        elif cov.get("kind") == "categorical" and levels:
            entry = by_cov.get(source)
            if entry is None:
                entry = {"term": source, "label": source, "kind": "categorical", "coef": None,
                         "range": None, "unit": None,
                         "levels": [{"level": str(lv), "coef": 0.0} for lv in levels]}
                by_cov[source] = entry
                terms.append(entry)
            level = term.split("=", 1)[1] if "=" in term else term
            for lv in entry["levels"]:
                if lv["level"] == level:
                    lv["coef"] = coef
        else:
            terms.append({"term": term, "label": source, "kind": "numeric", "coef": coef,
                          "range": [lo, hi], "unit": None, "levels": None})
    radscore = None
    rs = getattr(nomo, "radscore_", None)
    if rs is not None and hasattr(rs, "coef_"):
        cols = list(nomo.radiomic_columns_)
        radscore = {"intercept": float(rs.intercept_), "terms": [
            {"column": c, "coef": float(rs.coef_[i]), "mean": float(rs.mean_[i]),
             "sd": float(rs.scale_[i])}
            for i, c in enumerate(cols) if rs.coef_[i] != 0]}
    outcome = odoc.get("label") or odoc["name"]
    separated = list(getattr(nomo, "separated_", []))
    separation = None
    if separated:
        ors = ", ".join(f"{t} (odds ratio {np.exp(nomo.coef_raw_[nomo.terms_.index(t)]):.3g})"
                        for t in separated)
        separation = (
            f"the nomogram's term(s) {ors} separate the outcome among the training patients "
            "on their own (complete or quasi-complete separation: e.g. every patient of a "
            "level in one class), so their coefficients are where the fit stopped, not "
            "estimates, and the points of those axes mean nothing; merge or drop the "
            "level or covariate, or read the chart without them")
    return {
        "arm": key, "link": "logit", "intercept": float(nomo.intercept_raw_),
        "separation": separation,
        "risk_label": f"predicted probability of {outcome} ({odoc.get('positive', '1')})",
        "terms": terms, "radscore": radscore,
        "description": (
            f"Logistic nomogram of the arm '{odoc['arms'][key]['label']}' refitted on the "
            "training patients (its validated performance is in the tables above, not on "
            "these patients). Each covariate's points are read on its axis (categorical and "
            "ordinal covariates by level; on every axis the lowest-risk value or level scores "
            "0 points), summed, and the "
            "total is read on the probability axis. The rad-score is intercept + sum of "
            "coef x (value - mean) / SD over the terms listed."),
    }


def _harmonise_warnings(odoc: dict[str, Any], final: dict[str, Any]) -> list[str]:
    """Harmonised arms whose final ComBat step left features unchanged (constant overall or
    within a batch of the training patients: no location or scale to estimate there), so
    their batch differences stay: named, with the arm."""
    from radiomix.evaluate.validate import unwrap

    out = []
    for key, fitted in final.items():
        est = unwrap(fitted["model"])[0]
        step = dict(getattr(est, "steps", [])).get("combat")
        kept = list(getattr(step, "passthrough_features_", []) or [])
        if not kept or key not in odoc["arms"]:
            continue
        names = ", ".join(kept[:5]) + (f" and {len(kept) - 5} more" if len(kept) > 5 else "")
        out.append(f"{odoc['name']} · {odoc['arms'][key]['label']}: ComBat leaves "
                   f"{len(kept)} feature(s) unharmonised in the final model ({names}): each is "
                   "constant overall or within a batch of the training patients, so no batch "
                   "effect can be estimated for it and its batch differences stay")
    return out


def _stability_counts(odoc: dict[str, Any], final: dict[str, Any]) -> None:
    """Arms with a stability filter get ``stability``: the table, the threshold and the
    features kept per family by the final model's filter (the ICC uses no outcome)."""
    from radiomix.evaluate.validate import unwrap

    for key, fitted in final.items():
        est = unwrap(fitted["model"])[0]
        step = dict(getattr(est, "steps", [])).get("stable")
        counts = getattr(step, "family_counts_", None)
        if step is None or counts is None or key not in odoc["arms"]:
            continue
        odoc["arms"][key]["stability"] = {
            "table": Path(str(step.stability)).name, "threshold": float(step.threshold),
            "by_family": [{k: _py(v) for k, v in r.items()}
                          for r in counts.to_dict("records")]}


def _radiomic_inputs(model: Any, table: AnalysisTable) -> list[str]:
    """Radiomic columns a fitted arm model reads after its own selection: the rad-score's
    (or the nomogram rad-score's) kept terms, else the fuser's kept radiomic columns."""
    from radiomix.evaluate.validate import unwrap

    est = unwrap(model)[0]
    steps = dict(est.steps) if hasattr(est, "steps") else {"model": est}
    last = list(steps.values())[-1]
    rad = set(table.blocks["radiomic"])
    rs = getattr(last, "radscore_", None)
    inner = rs if rs is not None else last
    if hasattr(inner, "coefficients") and hasattr(inner, "coef_"):
        cf = inner.coefficients()
        if "selected" in cf:
            return [str(t) for t in cf.loc[cf["selected"], "term"] if str(t) in rad]
    fuse = steps.get("fuse")
    if fuse is not None and hasattr(fuse, "get_feature_names_out"):
        return [str(c) for c in fuse.get_feature_names_out() if str(c) in rad]
    return []


def confounding_doc(odoc: dict[str, Any], final: dict[str, Any], table: AnalysisTable, *,
                    strong: float = 0.7, n_top: int = 10) -> dict[str, Any] | None:
    """Per arm: how strongly the radiomic features its final model reads go with tumour
    volume (Spearman) and with the centre (Kruskal-Wallis eta squared), by
    :func:`radiomix.model.confound.volume_confounding` on the analysed patients.

    Descriptive, on all analysed rows (no outcome is used). Returns None without a volume
    column or without an arm that reads radiomic features.
    """
    from radiomix.model.confound import volume_confounding

    vol = table.blocks["volume"][0] if table.blocks["volume"] else None
    if vol is None:
        return None
    target = table.targets[odoc["name"]]
    X = table.X.loc[target.keep].reset_index(drop=True)
    centre = table.centre[target.keep] if table.centre is not None else None
    if centre is not None and np.unique(centre).size < 2:
        centre = None
    arms: dict[str, Any] = {}
    for key in odoc["arm_order"]:
        if key not in final:
            continue
        read = _radiomic_inputs(final[key]["model"], table)
        cols = [c for c in read if c != vol]
        if not cols:
            if vol in read and odoc["arms"].get(key, {}).get("kind") != "baseline":
                # an imaging arm whose final model reads tumour volume alone (a selection
                # that fell back to it): the size confound itself, said as such
                arms[key] = {"n_features": 0, "n_strong_volume": 0,
                             "median_abs_volume_rho": None, "max_centre_eta2": None,
                             "items": [], "reads_volume_only": True}
            continue
        cf = volume_confounding(X[cols], X[vol].to_numpy(dtype=float), centre, strong=strong)
        rho = cf["volume_abs_rho"].to_numpy(dtype=float)
        top = cf.reindex(cf["volume_abs_rho"].sort_values(ascending=False).index).head(n_top)
        arms[key] = {
            "n_features": len(cols),
            "n_strong_volume": int(np.nansum(rho >= strong)),
            "median_abs_volume_rho": _py(np.nanmedian(rho)) if np.isfinite(rho).any() else None,
            "max_centre_eta2": (_py(np.nanmax(cf["centre_eta2"])) if centre is not None
                                and np.isfinite(cf["centre_eta2"]).any() else None),
            "items": [{"column": str(r["feature"]), "volume_rho": _py(r["volume_rho"]),
                       "centre_eta2": _py(r["centre_eta2"])} for r in top.to_dict("records")],
        }
    if not arms:
        return None
    return {"volume_column": vol, "strong": strong, "arms": arms, "description": (
        "For each arm, the radiomic features its final model reads (after its own selection): "
        f"Spearman correlation with tumour volume ({vol}); |rho| >= {strong:g} counts as "
        "strong, i.e. the feature largely re-measures size" + (
            ", and the Kruskal-Wallis eta squared between centres (near 1: the feature "
            "identifies the centre)" if centre is not None else "")
        + ". Compare each arm with the volume-only baseline. Descriptive, on all analysed "
        "patients; no outcome is used.")}


def _final_coefficients(outcome_docs: list[dict[str, Any]],
                        final: dict[str, dict[str, Any]]) -> list[str]:
    """Cross-validated entries of survival arms get the coefficients of the final model
    (refitted on the training patients), labelled as such; returns the warnings of their
    monotone terms (also added to the arm's warnings)."""
    said: list[str] = []
    for doc in outcome_docs:
        if doc["kind"] != "survival":
            continue
        for val in doc["validation"]:
            for key, arm in val["arms"].items():
                fitted = final.get(doc["name"], {}).get(key)
                if arm.get("coefficients") is None and fitted is not None:
                    arm["coefficients"] = _coefficients(fitted["model"])
                    arm["n_zero_coefficients"] = _n_zero(arm["coefficients"])
                    arm["coefficients_from"] = "final model refitted on the training patients"
                    monotone = _monotone_warning(arm["coefficients"])
                    arm.setdefault("warnings", []).extend(monotone)
                    said.extend(f"{doc['name']} · {val['label']} · {doc['arms'][key]['label']}:"
                                f" {w}" for w in monotone)
    return said


def _fit_final(task: _ArmTask) -> Any:
    """One arm refitted on its training patients (tuned by inner CV), or its error."""
    from radiomix.evaluate.survival import fit_survival_tuned
    from radiomix.evaluate.validate import fit_tuned

    v, arm = task.v, task.arm
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if arm.outcome_kind == "binary":
                return fit_tuned(arm.estimator, task.X, task.target[0], groups=task.g,
                                 param_grid=arm.grid or None, inner_splits=v.inner_splits,
                                 random_state=v.seed)
            return fit_survival_tuned(arm.estimator, task.X, task.target[0], task.target[1],
                                      groups=task.g,
                                      param_grid=arm.grid or None,
                                      inner_splits=v.inner_splits, random_state=v.seed)
    except InputError as exc:
        return exc


def _final_tasks(tasks: list[_ArmTask]) -> list[_ArmTask]:
    """Every validated arm again, to refit on its training patients: all analysed patients,
    or those outside the test centres when a scheme holds centres out."""
    out = []
    for t in tasks:
        v = t.v
        train = np.ones(len(t.g), dtype=bool)
        if t.centre is not None and v.test_centres and any(
                s in ("external", "training_internal_external") for s in v.schemes):
            train = ~np.isin(t.centre, list(v.test_centres))
        out.append(replace(t, X=t.X.loc[train].reset_index(drop=True), g=t.g[train],
                           centre=None, target=tuple(a[train] for a in t.target), final=True))
    return out


_TIMING_KEYS = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")
"""Wall-clock times a scikit-learn search records in ``cv_results_``."""


def _clear_run_details(obj: Any, seen: set[int]) -> None:
    """Remove from fitted estimators, in place, what belongs to the run and not the model:
    the wall-clock times they record (a search's ``refit_time_`` and the fit and score
    times of its ``cv_results_``), which differ between two identical runs
    (``model.joblib`` is promised to be the same file for the same inputs and settings),
    and the folder of a stability filter's table (the file's name is kept: a folder can
    name a user or a patient, and differs between checkouts). Walks dicts, lists and the
    attributes of scikit-learn (and radiomix, scikit-survival, lifelines) objects."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, dict):
        for value in obj.values():
            _clear_run_details(value, seen)
    elif isinstance(obj, list | tuple):
        for value in obj:
            _clear_run_details(value, seen)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith(
            ("sklearn", "radiomix", "sksurv", "lifelines")):
        table = getattr(obj, "stability", None)  # StabilitySelector (fitted ones read no
        if isinstance(table, str | os.PathLike):  # more; a search's template is not refitted)
            obj.stability = Path(table).name
        if hasattr(obj, "refit_time_"):
            obj.refit_time_ = 0.0
        results = getattr(obj, "cv_results_", None)
        if isinstance(results, dict):
            for key in _TIMING_KEYS:
                if key in results:
                    results[key] = np.zeros_like(results[key])
        for value in vars(obj).values():
            _clear_run_details(value, seen)


def _save_models(tasks: list[_ArmTask], fitted: list[Any], v: Validation,
                 out: Path) -> dict[str, dict[str, Any]]:
    import joblib

    from radiomix.table import ANALYSIS_PACKAGES, package_versions

    models: dict[str, dict[str, Any]] = {t.outcome: {} for t in tasks}
    for task, m in zip(tasks, fitted, strict=True):
        if isinstance(m, InputError):
            log.warning("final model %s/%s not fitted: %s", task.outcome, task.arm.key, m)
            continue
        models[task.outcome][task.arm.key] = {"model": m, "columns": list(task.arm.columns)}
    _clear_run_details(models, set())
    joblib.dump({"models": models, "seed": v.seed,
                 "versions": package_versions(ANALYSIS_PACKAGES),
                 "note": "each arm refitted on the training patients (hyper-parameters by "
                         "patient-grouped inner CV); its expected performance is the "
                         "validated estimate in analysis.json, not a score on these "
                         "patients"}, out / "model.joblib")
    return models
