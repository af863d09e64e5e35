"""Compare model arms (clinical, radiomics, deep, fused, clinical + rad-score) in one call.

All arms are evaluated by :func:`~radiomix.evaluate.validate.nested_cv` with the *same*
patient-grouped outer splits, so their out-of-fold predictions are paired and can be
compared row by row: DeLong's test on patient-level predictions and a paired patient
bootstrap of the AUC difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from radiomix.errors import InputError
from radiomix.evaluate.bootstrap import (
    CV_INTERVAL_SCALE,
    patient_bootstrap_weights,
    percentile_interval,
    widen_interval,
)
from radiomix.evaluate.figures import roc_figure
from radiomix.evaluate.metrics import delong_test, weighted_roc_auc
from radiomix.evaluate.validate import EvaluationResult, nested_cv
from radiomix.model.columns import split_blocks


@dataclass
class ArmsComparison:
    """Result of :func:`compare_arms`.

    Attributes
    ----------
    table : DataFrame
        Tidy: ``arm``, ``metric``, ``estimate``, ``ci_low``, ``ci_high``.
    tests : DataFrame
        Each arm against ``reference``: ``auc_difference`` and its paired patient-bootstrap
        CI (widened for cross-validation by
        :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE`), DeLong ``z`` and
        ``p_value`` (on mean out-of-fold predictions per patient).
    results : dict of str to EvaluationResult
    reference : str
    """

    table: pd.DataFrame
    tests: pd.DataFrame
    results: dict[str, EvaluationResult]
    reference: str

    def plot_roc(self, *, n_bootstrap: int = 200, random_state: int = 0) -> Any:
        """ROC curves of every arm with 95 % patient-bootstrap bands (matplotlib Figure)."""
        return roc_figure(
            dict(self.results.items()),
            n_bootstrap=n_bootstrap,
            random_state=random_state,
        )


def _patient_mean(result: EvaluationResult) -> pd.DataFrame:
    P, y, g = result.oof_matrix()
    frame = pd.DataFrame({"patient_id": g, "y": y, "p": P.mean(axis=0)})
    per = frame.groupby("patient_id").agg(y=("y", "first"), y_n=("y", "nunique"), p=("p", "mean"))
    if (per["y_n"] > 1).any():
        raise InputError("DeLong comparison needs one label per patient")
    return per[["y", "p"]]


def compare_arms(
    arms: Mapping[str, BaseEstimator],
    X: Any,
    y: Any,
    *,
    groups: Any,
    param_grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    reference: str | None = None,
    outer_splits: int = 5,
    inner_splits: int = 3,
    n_repeats: int = 1,
    n_bootstrap: int = 1000,
    random_state: int = 0,
) -> ArmsComparison:
    """Evaluate several arms on identical patient-grouped nested-CV splits and compare them.

    Parameters
    ----------
    arms : mapping of name to estimator
        E.g. from :func:`standard_arms`.
    X : DataFrame
        Whole table (each arm picks its columns, e.g. with ``BlockFuser(blocks=...)``).
    y, groups : array-like
        Binary labels and patient ids (required).
    param_grids : mapping of arm name to grid, optional
    reference : str, optional
        Arm the others are tested against (default: the first).

    Returns
    -------
    ArmsComparison
    """
    if not arms:
        raise InputError("give at least one arm")
    names = list(arms)
    ref = reference or names[0]
    if ref not in arms:
        raise InputError(f"reference arm {ref!r} not among {names}")
    grids = dict(param_grids or {})
    results = {
        name: nested_cv(
            est,
            X,
            y,
            groups=groups,
            param_grid=grids.get(name),
            outer_splits=outer_splits,
            inner_splits=inner_splits,
            n_repeats=n_repeats,
            n_bootstrap=n_bootstrap,
            random_state=random_state,
        )
        for name, est in arms.items()
    }
    table = pd.concat(
        [r.metrics.assign(arm=name) for name, r in results.items()], ignore_index=True
    )[["arm", "metric", "estimate", "ci_low", "ci_high"]]
    if len(results[ref].classes) != 2:
        return ArmsComparison(table, pd.DataFrame(), results, ref)
    tests = paired_auc_tests(
        results, ref, n_bootstrap=n_bootstrap, random_state=random_state, cross_validated=True
    )
    rows = [
        {
            "arm": name,
            "reference": ref,
            "auc_difference": t["auc_difference"]["estimate"],
            "diff_ci_low": t["auc_difference"]["ci_low"],
            "diff_ci_high": t["auc_difference"]["ci_high"],
            "delong_z": t["delong_z"],
            "delong_p": t["delong_p"],
        }
        for name, t in tests.items()
    ]
    return ArmsComparison(table, pd.DataFrame(rows), results, ref)


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
        dl = delong_test((ref_pat["y"] == ref.classes[1]).astype(int), pat["p"], ref_pat["p"])
        out[name] = {
            "reference": reference,
            "auc_difference": {"estimate": float(estimate), "ci_low": float(lo),
                               "ci_high": float(hi)},
            "delong_z": float(dl.z) if np.isfinite(dl.z) else None,
            "delong_p": float(dl.p_value) if np.isfinite(dl.p_value) else None,
        }
    return out


def standard_arms(
    columns: Sequence[str],
    *,
    clinical: Sequence[str],
    model: str = "knn",
    clinical_model: str = "logistic",
    deep_pca: int | None = 10,
    random_state: int | None = None,
) -> dict[str, BaseEstimator]:
    """The five arms of the reference studies, built from a table's columns.

    ``clinical`` (clinical covariates, ``clinical_model``), ``radiomics`` (radiomic block,
    ``model``), ``deep`` (deep block with PCA, ``model``), ``fused`` (radiomic + deep,
    blocks balanced, ``model``) and ``clinical+radscore`` (logistic nomogram on a LASSO
    rad-score of the radiomic block + clinical covariates). Arms whose block is absent are
    left out.
    """
    from radiomix.model.classifiers import build_pipeline
    from radiomix.model.nomogram import Nomogram

    blocks = split_blocks(columns)
    clin = list(clinical)
    arms: dict[str, BaseEstimator] = {}
    if clin:
        arms["clinical"] = build_pipeline(
            clinical_model, blocks={"clinical": clin}, random_state=random_state
        )
    if blocks["radiomic"]:
        arms["radiomics"] = build_pipeline(
            model, blocks={"radiomic": blocks["radiomic"]}, random_state=random_state
        )
    if blocks["deep"]:
        arms["deep"] = build_pipeline(
            model, blocks={"deep": blocks["deep"]}, deep_pca=deep_pca, random_state=random_state
        )
    if blocks["radiomic"] and blocks["deep"]:
        arms["fused"] = build_pipeline(
            model,
            blocks={"radiomic": blocks["radiomic"], "deep": blocks["deep"]},
            deep_pca=deep_pca,
            balance_blocks=True,
            random_state=random_state,
        )
    if clin and blocks["radiomic"]:
        from sklearn.pipeline import Pipeline

        from radiomix.model.fuse import BlockFuser

        keep = BlockFuser(
            blocks={"radiomic": blocks["radiomic"], "clinical": clin}, scale=None
        ).set_output(transform="pandas")
        arms["clinical+radscore"] = Pipeline(
            [
                ("columns", keep),
                ("model", Nomogram(radiomic_columns=blocks["radiomic"], random_state=random_state)),
            ]
        )
    return arms
