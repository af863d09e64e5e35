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

__all__ = ["MIN_PER_CLASS", "not_estimable_comparison", "paired_auc_tests"]

P_METHOD = ("paired patient bootstrap of the AUC difference (the replicates of its interval); "
            "two-sided, the smallest level at which that interval excludes 0")
P_METHOD_CV = P_METHOD + (", with the interval's cross-validation widening "
                          f"(x{CV_INTERVAL_SCALE:.4f})")


def not_estimable_comparison(reference: str, reason: str) -> dict[str, Any]:
    """A paired comparison that cannot be made, with its reason (same keys as one entry of
    :func:`paired_auc_tests`)."""
    return {"reference": reference,
            "auc_difference": {"estimate": None, "ci_low": None, "ci_high": None,
                               "reason": reason},
            "p_value": None, "p_method": None,
            "delong_z": None, "delong_p": None, "reason": reason}


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
    scale = CV_INTERVAL_SCALE if cross_validated else 1.0
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
        diff = np.mean([weighted_roc_auc(y01, p, W) for p in P], axis=0) - auc_ref
        estimate = float(np.mean([weighted_roc_auc(y01, p)[0] for p in P])) - point_ref
        lo, hi, nv = percentile_interval(diff)
        undefined = undefined_share_reason("the AUC difference", nv, n_bootstrap)
        if undefined is not None or not np.isfinite(estimate):
            out[name] = not_estimable_comparison(
                reference, undefined or "not estimable: an AUC is undefined on the scored rows")
            continue
        if cross_validated:
            lo, hi = widen_interval(estimate, lo, hi, scale=CV_INTERVAL_SCALE, bounds=(-1, 1))
        out[name] = {
            "reference": reference,
            "auc_difference": {"estimate": estimate, "ci_low": float(lo), "ci_high": float(hi)},
            "p_value": interval_p_value(diff, estimate, scale=scale),
            "p_method": P_METHOD_CV if cross_validated else P_METHOD,
            "delong_z": None,
            "delong_p": None,
        }
    return out
