"""Paired comparison of arms scored on the same rows (same patient-grouped splits).

The analysis engine (:mod:`radiomix.analysis.engine`) evaluates every arm of a scheme on
identical splits, so their out-of-sample predictions are paired and can be compared row by
row: DeLong's test on patient-level predictions and a paired patient bootstrap of the AUC
difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from radiomix.errors import InputError
from radiomix.evaluate.bootstrap import (
    CV_INTERVAL_SCALE,
    patient_bootstrap_weights,
    percentile_interval,
    widen_interval,
)
from radiomix.evaluate.metrics import delong_test, weighted_roc_auc
from radiomix.evaluate.validate import EvaluationResult

MIN_PER_CLASS = 2
"""Patients of each class that DeLong's test needs (its variance uses the spread of each
class's structural components)."""


def not_estimable_comparison(reference: str, reason: str) -> dict[str, Any]:
    """A paired comparison that cannot be made, with its reason (same keys as one entry of
    :func:`paired_auc_tests`)."""
    return {"reference": reference,
            "auc_difference": {"estimate": None, "ci_low": None, "ci_high": None,
                               "reason": reason},
            "delong_z": None, "delong_p": None, "reason": reason}


def _patient_mean(result: EvaluationResult) -> pd.DataFrame:
    P, y, g = result.oof_matrix()
    frame = pd.DataFrame({"patient_id": g, "y": y, "p": P.mean(axis=0)})
    per = frame.groupby("patient_id").agg(y=("y", "first"), y_n=("y", "nunique"), p=("p", "mean"))
    if (per["y_n"] > 1).any():
        raise InputError("DeLong comparison needs one label per patient")
    return per[["y", "p"]]


def paired_auc_tests(
    results: Mapping[str, EvaluationResult],
    reference: str,
    *,
    n_bootstrap: int = 1000,
    random_state: int = 0,
    cross_validated: bool = True,
) -> dict[str, dict[str, Any]]:
    """Each arm's ROC AUC against ``reference`` on the same scored rows.

    The difference of the (repeat-averaged) AUCs gets a paired patient-bootstrap interval
    (the same patient draws for both arms; widened by
    :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE` for cross-validated predictions)
    and DeLong's test on the patient-level mean predictions.

    Returns
    -------
    dict
        Arm -> ``reference``, ``auc_difference`` (``estimate``, ``ci_low``, ``ci_high``),
        ``delong_z``, ``delong_p``.

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
    ref_pat = _patient_mean(ref)
    out: dict[str, dict[str, Any]] = {}
    for name, res in results.items():
        if name == reference:
            continue
        P, y_other, _ = res.oof_matrix()
        if P.shape[1] != P_ref.shape[1] or not np.array_equal(y_other, y_row):
            raise InputError(f"arms {name!r} and {reference!r} were scored on different rows")
        diff = np.mean([weighted_roc_auc(y01, p, W) for p in P], axis=0) - auc_ref
        estimate = res.estimate("roc_auc") - ref.estimate("roc_auc")
        lo, hi, _ = percentile_interval(diff)
        if cross_validated:
            lo, hi = widen_interval(estimate, lo, hi, scale=CV_INTERVAL_SCALE, bounds=(-1, 1))
        pat = _patient_mean(res).loc[ref_pat.index]
        y_pat = (ref_pat["y"] == ref.classes[1]).astype(int)
        n_pos = int(y_pat.sum())
        if min(n_pos, y_pat.size - n_pos) < MIN_PER_CLASS:
            out[name] = not_estimable_comparison(
                reference, f"not estimable: the scored patients hold {n_pos} positive and "
                f"{y_pat.size - n_pos} negative; comparing two AUCs (DeLong's test) needs at "
                f"least {MIN_PER_CLASS} of each")
            continue
        dl = delong_test(y_pat, pat["p"], ref_pat["p"])
        out[name] = {
            "reference": reference,
            "auc_difference": {"estimate": float(estimate), "ci_low": float(lo),
                               "ci_high": float(hi)},
            "delong_z": float(dl.z) if np.isfinite(dl.z) else None,
            "delong_p": float(dl.p_value) if np.isfinite(dl.p_value) else None,
        }
    return out
