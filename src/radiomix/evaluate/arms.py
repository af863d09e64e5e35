"""Paired comparison of arms scored on the same rows (same patient-grouped splits).

The analysis engine (:mod:`radiomix.analysis.engine`) evaluates every arm of a scheme on
identical splits, so their out-of-sample predictions are paired and can be compared row by
row: a paired patient bootstrap of the AUC difference gives its interval and its p-value,
from the same replicates and under the same cross-validation correction, so the two never
disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from radiomix.errors import InputError
from radiomix.evaluate.bootstrap import (
    CV_INTERVAL_SCALE,
    MIN_PER_CLASS,
    binary_estimability,
    interval_p_value,
    patient_bootstrap_weights,
    percentile_interval,
    undefined_share_reason,
    widen_interval,
)
from radiomix.evaluate.metrics import weighted_roc_auc
from radiomix.evaluate.validate import EvaluationResult

__all__ = ["MIN_PER_CLASS", "not_estimable_comparison", "paired_auc_tests",
           "paired_c_index_tests"]

P_METHOD = ("paired patient bootstrap of the AUC difference (the replicates of its interval); "
            "two-sided, the smallest level at which that interval excludes 0")
P_METHOD_CV = P_METHOD + (", with the interval's cross-validation widening "
                          f"(x{CV_INTERVAL_SCALE:.4f})")
P_METHOD_C = P_METHOD.replace("the AUC difference", "the C-index difference")
P_METHOD_C_CV = P_METHOD_CV.replace("the AUC difference", "the C-index difference")


def not_estimable_comparison(reference: str, reason: str, *,
                             key: str = "auc_difference") -> dict[str, Any]:
    """A paired comparison that cannot be made, with its reason (same keys as one entry of
    :func:`paired_auc_tests`, or of :func:`paired_c_index_tests` with
    ``key="c_index_difference"``)."""
    return {"reference": reference,
            key: {"estimate": None, "ci_low": None, "ci_high": None, "reason": reason},
            "p_value": None, "p_method": None,
            "delong_z": None, "delong_p": None, "reason": reason}


def _paired_difference(reference: str, point: float, replicates: np.ndarray,
                       ref_point: float, ref_replicates: np.ndarray, *, n_bootstrap: int,
                       cross_validated: bool, key: str, measure: str,
                       methods: tuple[str, str]) -> dict[str, Any]:
    """One arm against the reference from the two arms' point estimates and their bootstrap
    replicates on the same patient draws: the difference, its percentile interval (widened
    when cross-validated) and the p-value read from the same replicates."""
    diff = replicates - ref_replicates
    estimate = point - ref_point
    lo, hi, nv = percentile_interval(diff)
    undefined = undefined_share_reason(f"the {measure} difference", nv, n_bootstrap)
    if undefined is not None or not np.isfinite(estimate):
        return not_estimable_comparison(
            reference, undefined or f"not estimable: a {measure} is undefined on the scored "
                                    "rows", key=key)
    scale = CV_INTERVAL_SCALE if cross_validated else 1.0
    if cross_validated:
        lo, hi = widen_interval(estimate, lo, hi, scale=CV_INTERVAL_SCALE, bounds=(-1, 1))
    return {
        "reference": reference,
        key: {"estimate": float(estimate), "ci_low": float(lo), "ci_high": float(hi)},
        "p_value": interval_p_value(diff, estimate, scale=scale),
        "p_method": methods[1] if cross_validated else methods[0],
        "delong_z": None,
        "delong_p": None,
    }


def paired_auc_tests(
    results: Mapping[str, EvaluationResult],
    reference: str,
    *,
    n_bootstrap: int = 1000,
    random_state: int = 0,
    cross_validated: bool = True,
) -> dict[str, dict[str, Any]]:
    """Each arm's ROC AUC against ``reference`` on the same scored rows.

    The estimate is the difference of the arms' AUCs as reported (each the mean of the
    per-repeat AUCs). Its interval is a paired patient-bootstrap percentile interval (the
    same patient draws for both arms, every replicate averaged over repeats as the
    estimate is; widened by :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE` for
    cross-validated predictions), and its p-value is read from the same replicates and the
    same widening (:func:`~radiomix.evaluate.bootstrap.interval_p_value`): ``p < 0.05``
    exactly when the 95 % interval excludes 0.

    DeLong's test is not used here: it tests the AUCs of one prediction vector with no
    allowance for the training side of cross-validation, so beside the widened interval of
    the repeat-averaged estimate it could call a difference significant that the interval
    does not support (``delong_z`` and ``delong_p`` stay ``None`` for the document's
    schema). :func:`radiomix.evaluate.metrics.delong_test` remains for single predictions.

    Returns
    -------
    dict
        Arm -> ``reference``, ``auc_difference`` (``estimate``, ``ci_low``, ``ci_high``),
        ``p_value``, ``p_method``; not estimable (with ``reason``) when the scored rows hold
        fewer than :data:`~radiomix.evaluate.bootstrap.MIN_PER_CLASS` patients of a class,
        or when too many replicates are undefined
        (:data:`~radiomix.evaluate.bootstrap.MAX_UNDEFINED_SHARE`).

    Raises
    ------
    InputError
        The arms were not scored on the same rows.
    """
    ref = results[reference]
    P_ref, y_row, g_row = ref.oof_matrix()
    W = patient_bootstrap_weights(g_row, n_bootstrap=n_bootstrap, random_state=random_state)
    y01 = (y_row == ref.classes[1]).astype(int)
    auc_ref = np.mean([weighted_roc_auc(y01, p, W) for p in P_ref], axis=0)
    point_ref = float(np.mean([weighted_roc_auc(y01, p)[0] for p in P_ref]))
    too_few = binary_estimability(y01, g_row, "roc_auc")
    out: dict[str, dict[str, Any]] = {}
    for name, res in results.items():
        if name == reference:
            continue
        P, y_other, _ = res.oof_matrix()
        if P.shape[1] != P_ref.shape[1] or not np.array_equal(y_other, y_row):
            raise InputError(f"arms {name!r} and {reference!r} were scored on different rows")
        if too_few is not None:
            out[name] = not_estimable_comparison(
                reference, too_few.replace("roc_auc needs", "comparing two AUCs needs"))
            continue
        out[name] = _paired_difference(
            reference, float(np.mean([weighted_roc_auc(y01, p)[0] for p in P])),
            np.mean([weighted_roc_auc(y01, p, W) for p in P], axis=0), point_ref, auc_ref,
            n_bootstrap=n_bootstrap, cross_validated=cross_validated, key="auc_difference",
            measure="AUC", methods=(P_METHOD, P_METHOD_CV))
    return out


def _risk_matrix(res: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                    np.ndarray]:
    """A survival evaluation's risks as a (repeats, rows) matrix with the rows' times,
    events, patients and row ids; of an evaluation at ``level="patient"``, one column per
    patient (:func:`~radiomix.evaluate.survival.per_patient_risks`), named by patient id,
    as its own C-index counts them."""
    from radiomix.evaluate.survival import per_patient_risks

    pred = res.predictions
    wide = pred.pivot(index="row", columns="repeat", values="risk").sort_index()
    meta = pred.drop_duplicates("row").set_index("row").loc[wide.index]
    R, t = wide.to_numpy().T, meta["time"].to_numpy(dtype=float)
    e, g = meta["event"].to_numpy(dtype=int), meta["patient_id"].to_numpy()
    if (getattr(res, "settings", None) or {}).get("level") == "patient":
        t, e, g, R = per_patient_risks(t, e, g, R)
        return R, t, e, g, g
    return R, t, e, g, wide.index.to_numpy()


def paired_c_index_tests(
    results: Mapping[str, Any],
    reference: str,
    *,
    n_bootstrap: int = 1000,
    random_state: int = 0,
    cross_validated: bool = True,
) -> dict[str, dict[str, Any]]:
    """Each survival arm's Harrell C-index against ``reference`` on the same scored rows.

    As :func:`paired_auc_tests` for :class:`~radiomix.evaluate.survival.SurvivalEvaluation`
    results: the difference of the repeat-averaged C-indices, a paired patient-bootstrap
    percentile interval (the draws of the arms' own C-index intervals, widened when
    cross-validated) and the p-value read from the same replicates. Not estimable under the
    C-index's own rule (:func:`~radiomix.evaluate.survival.survival_estimability`).

    Returns
    -------
    dict
        Arm -> ``reference``, ``c_index_difference`` (``estimate``, ``ci_low``,
        ``ci_high``), ``p_value``, ``p_method`` (or a ``reason``).

    Raises
    ------
    InputError
        The arms were not scored on the same rows.
    """
    from radiomix.evaluate.survival import concordance_index, survival_estimability

    R_ref, t, e, g, rows = _risk_matrix(results[reference])
    W = patient_bootstrap_weights(g, n_bootstrap=n_bootstrap, random_state=random_state)

    def c_index(R: np.ndarray) -> tuple[float, np.ndarray]:
        return (float(np.mean([concordance_index(t, r, e) for r in R])),
                np.mean([concordance_index(t, r, e, W) for r in R], axis=0))

    point_ref, reps_ref = c_index(R_ref)
    too_few = survival_estimability(e, g, t)
    out: dict[str, dict[str, Any]] = {}
    for name, res in results.items():
        if name == reference:
            continue
        R, t_other, e_other, _, rows_other = _risk_matrix(res)
        if R.shape != R_ref.shape or not (np.array_equal(rows_other, rows)
                                          and np.array_equal(t_other, t)
                                          and np.array_equal(e_other, e)):
            raise InputError(f"arms {name!r} and {reference!r} were scored on different rows")
        if too_few is not None:
            out[name] = not_estimable_comparison(reference, too_few,
                                                 key="c_index_difference")
            continue
        point, reps = c_index(R)
        out[name] = _paired_difference(
            reference, point, reps, point_ref, reps_ref, n_bootstrap=n_bootstrap,
            cross_validated=cross_validated, key="c_index_difference", measure="C-index",
            methods=(P_METHOD_C, P_METHOD_C_CV))
    return out
