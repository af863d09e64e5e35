"""Leakage audit: the same model under row-level (leaky) and patient-grouped splits.

With several rows per patient (CT slices, lesions), a random row-level split puts slices of
one patient on both sides; a model then recognises the *patient*, not the outcome, and its
metrics inflate (the lung study's 98.6 % accuracy on 1111 slices of 211 patients). The audit
shows this side by side. The row-level split exists only here, and every output labels it
``LEAKY (audit only)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import StratifiedKFold, train_test_split

from radiomix.errors import InputError
from radiomix.evaluate.bootstrap import (
    CV_INTERVAL_SCALE,
    patient_bootstrap_weights,
    percentile_interval,
    perfect_score_interval,
    separation_patients,
    widen_interval,
)
from radiomix.evaluate.metrics import weighted_binary_metrics, weighted_roc_auc
from radiomix.evaluate.splits import check_groups, grouped_cv_splits, patient_holdout_split
from radiomix.evaluate.validate import _rows, groups_fit_params, single_blas_thread

NAIVE_LABEL = "naive row-level split - LEAKY (audit only)"
GROUPED_LABEL = "patient-grouped split"


@dataclass
class LeakageAudit:
    """Side-by-side results of :func:`leakage_audit`.

    Attributes
    ----------
    table : DataFrame
        One row per (split, scheme): ``split`` (:data:`NAIVE_LABEL` or
        :data:`GROUPED_LABEL`), ``leaky``, ``scheme``, ``accuracy``, ``roc_auc`` (means over
        repeats; for cross-validation the AUC of each repeat's pooled out-of-fold
        predictions), ``roc_auc_sd`` (across test folds), ``roc_auc_ci_low``/``high`` (95 %
        patient bootstrap of the repeat-averaged AUC: each replicate draws patients once and
        every repeat scores the drawn patients of its test set; widened by
        :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE` for cross-validation),
        ``test_rows_with_patient_in_train`` (share of test rows whose patient also
        has training rows).
    inflation : DataFrame
        Per scheme: naive minus grouped ``accuracy`` and ``roc_auc``.
    """

    table: pd.DataFrame
    inflation: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        from radiomix.evaluate.validate import _py

        return {
            "note": "rows labelled LEAKY use row-level splits and exist only to show inflation",
            "table": [{k: _py(v) for k, v in r.items()} for r in self.table.to_dict("records")],
            "inflation": [
                {k: _py(v) for k, v in r.items()} for r in self.inflation.to_dict("records")
            ],
        }


CONSTANT_REASON = ("not meaningful: every fit predicted one value for all its test rows, so "
                   "the AUC of 0.5 reflects no ranking at all (no interval)")
"""Why the audit's AUC of a model that predicted one value in every split has no interval."""


def _fit_predict(
    est: BaseEstimator, X: Any, y: np.ndarray, g: np.ndarray, tr: np.ndarray, te: np.ndarray
) -> np.ndarray:
    # both arms fit the same model (internal folds by patient when it takes groups): only
    # the outer split differs
    model = clone(est).fit(_rows(X, tr), y[tr], **groups_fit_params(est, g[tr]))
    return np.asarray(model.predict_proba(_rows(X, te)))[:, 1]


def _overlap(g: np.ndarray, tr: np.ndarray, te: np.ndarray) -> float:
    return float(np.isin(g[te], np.unique(g[tr])).mean())


@single_blas_thread
def leakage_audit(
    estimator: BaseEstimator,
    X: Any,
    y: Any,
    *,
    groups: Any,
    test_size: float = 0.3,
    n_splits: int = 5,
    n_repeats: int = 3,
    n_bootstrap: int = 500,
    threshold: float = 0.5,
    random_state: int = 0,
) -> LeakageAudit:
    """Evaluate ``estimator`` with naive row-level and patient-grouped splits, side by side.

    Schemes: a 70/30 hold-out (``test_size``), repeated ``n_repeats`` times with seeds
    ``random_state + r`` (naive: ``train_test_split`` of rows stratified by label; grouped:
    :func:`~radiomix.evaluate.splits.patient_holdout_split`), and ``n_splits``-fold CV
    (naive: ``StratifiedKFold`` of rows; grouped: ``StratifiedGroupKFold``). No tuning: the
    estimator is fitted as given, so the contrast is due to the split alone.

    Parameters
    ----------
    estimator : binary classifier with ``predict_proba``
    X : DataFrame or array
    y : array-like of {0, 1}
    groups : array-like
        Patient ids (required, also for the naive arm: it is what the audit measures).

    Returns
    -------
    LeakageAudit

    Raises
    ------
    MissingGroupsError
        ``groups`` is None.
    """
    y = np.asarray(y).ravel()
    g = check_groups(groups, y.size)
    if len(X) != y.size:
        raise InputError(f"X has {len(X)} rows but y has {y.size}")
    classes = np.unique(y)
    if classes.size != 2:
        raise InputError(f"the leakage audit is for binary outcomes; y has {classes.size} classes")
    y01 = (y == classes[1]).astype(int)
    rows: list[dict[str, Any]] = []

    def summarise(
        split: str,
        scheme: str,
        probas: list[np.ndarray],
        tests: list[np.ndarray],
        overlaps: list[float],
        shared_rows: bool,
    ) -> None:
        accs, aucs = [], []
        for p, te in zip(probas, tests, strict=True):
            m = weighted_binary_metrics(y01[te], p, threshold=threshold)
            accs.append(m["accuracy"][0])
            aucs.append(m["roc_auc"][0])
        # one patient bootstrap shared by all repeats: replicate b draws patients once and
        # every repeat scores its test rows under those draws; the replicate is the mean
        W = patient_bootstrap_weights(g, n_bootstrap=n_bootstrap, random_state=random_state)

        def scores(yy: np.ndarray, p: np.ndarray, w: Any) -> tuple[np.ndarray, np.ndarray]:
            acc = weighted_binary_metrics(yy, p, w, threshold=threshold,
                                          metrics=["accuracy"])["accuracy"]
            return weighted_roc_auc(yy, p, w), acc

        if shared_rows:  # CV: each repeat predicts every row once
            reps, pooled = [], []
            for r in range(0, len(probas), n_splits):
                full = np.empty(y.size)
                for k in range(r, r + n_splits):
                    full[tests[k]] = probas[k]
                reps.append(scores(y01, full, W))
                pooled.append([float(v[0]) for v in scores(y01, full, None)])
            auc, acc = (float(v) for v in np.mean(pooled, axis=0))
        else:
            reps = [scores(y01[te], p, W[:, te]) for p, te in zip(probas, tests, strict=True)]
            auc, acc = float(np.mean(aucs)), float(np.mean(accs))
        scale = CV_INTERVAL_SCALE if shared_rows else 1.0  # out-of-fold: the training side too
        intervals = {}
        for i, (name, est) in enumerate((("roc_auc", auc), ("accuracy", acc))):
            lo, hi, _ = percentile_interval(np.mean([rep[i] for rep in reps], axis=0))
            note = None
            if scale != 1.0:
                lo, hi = widen_interval(est, lo, hi, scale=scale, bounds=(0, 1))
            # the patients that bound a perfect score: the smaller class for the AUC, all
            # of them for the accuracy, among those scored (every patient in CV; the test
            # patients of the hold-out, the fewest of its repeats)
            scored = [np.arange(y.size)] if shared_rows else tests
            n = min(separation_patients(name, y01[te], g[te]) for te in scored)
            exact = perfect_score_interval(
                est, lo, hi, n, scale=scale, who="patients of the smaller class"
                if name == "roc_auc" else "scored patients")
            if exact is not None:  # every replicate alike: a bound over the patients instead
                lo, hi, note = exact
            intervals[name] = (lo, hi, note)
        constant = all(np.ptp(p) == 0 for p in probas)
        if constant:  # as the engine's arms: one value per fold ranks nothing
            intervals["roc_auc"] = (np.nan, np.nan, None)
        rows.append(
            {
                "split": split,
                "leaky": split == NAIVE_LABEL,
                "scheme": scheme,
                "accuracy": acc,
                "accuracy_ci_low": intervals["accuracy"][0],
                "accuracy_ci_high": intervals["accuracy"][1],
                "accuracy_interval_note": intervals["accuracy"][2],
                "roc_auc": auc,
                "roc_auc_sd": float(np.std(aucs)),
                "roc_auc_ci_low": intervals["roc_auc"][0],
                "roc_auc_ci_high": intervals["roc_auc"][1],
                "roc_auc_interval_note": intervals["roc_auc"][2],
                "roc_auc_reason": (CONSTANT_REASON if constant else None),
                "test_rows_with_patient_in_train": float(np.mean(overlaps)),
            }
        )

    hold = f"hold-out {1 - test_size:.0%}/{test_size:.0%} x{n_repeats}"
    cv = f"{n_splits}-fold CV x{n_repeats}"
    idx = np.arange(y.size)
    for split in (NAIVE_LABEL, GROUPED_LABEL):
        probas, tests, overlaps = [], [], []
        for r in range(n_repeats):
            if split == NAIVE_LABEL:
                tr, te = train_test_split(
                    idx, test_size=test_size, stratify=y01, random_state=random_state + r
                )
            else:
                tr, te = patient_holdout_split(
                    y01, groups=g, test_size=test_size, random_state=random_state + r
                )
            probas.append(_fit_predict(estimator, X, y01, g, tr, te))
            tests.append(te)
            overlaps.append(_overlap(g, tr, te))
        summarise(split, hold, probas, tests, overlaps, shared_rows=False)
        probas, tests, overlaps = [], [], []
        if split == NAIVE_LABEL:
            splits = [
                (tr, te)
                for r in range(n_repeats)
                for tr, te in StratifiedKFold(
                    n_splits, shuffle=True, random_state=random_state + r
                ).split(idx, y01)
            ]
        else:
            splits = [
                (s.train, s.test)
                for s in grouped_cv_splits(
                    y01, groups=g, n_splits=n_splits, n_repeats=n_repeats, random_state=random_state
                )
            ]
        for tr, te in splits:
            probas.append(_fit_predict(estimator, X, y01, g, tr, te))
            tests.append(te)
            overlaps.append(_overlap(g, tr, te))
        summarise(split, cv, probas, tests, overlaps, shared_rows=True)
    table = pd.DataFrame(rows)
    infl = []
    for scheme in (hold, cv):
        a = table[(table["scheme"] == scheme) & table["leaky"]].iloc[0]
        b = table[(table["scheme"] == scheme) & ~table["leaky"]].iloc[0]
        infl.append(
            {
                "scheme": scheme,
                "accuracy_inflation": a["accuracy"] - b["accuracy"],
                "roc_auc_inflation": a["roc_auc"] - b["roc_auc"],
            }
        )
    return LeakageAudit(table, pd.DataFrame(infl))
