"""Figures of evaluation results (matplotlib ``Figure`` objects; pyplot state untouched).

Figures are built with :class:`matplotlib.figure.Figure` directly, so they work with any
backend (Agg when saved to PNG) and never open windows or leak global figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from radiomix.evaluate.metrics import decision_curve
from radiomix.evaluate.validate import EvaluationResult


def roc_figure(
    results: Mapping[str, EvaluationResult],
    *,
    n_bootstrap: int = 200,
    random_state: int = 0,
    title: str | None = None,
) -> Any:
    """ROC curves (mean out-of-fold prediction per row) with 95 % patient-bootstrap bands.

    The band is the pointwise 2.5–97.5 % range of the bootstrap ROC curves' TPR on a fixed
    FPR grid; for cross-validated results its distances from the curve are widened by
    :data:`~radiomix.evaluate.bootstrap.CV_INTERVAL_SCALE`, like the AUC interval.
    """
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_curve

    from radiomix.evaluate.bootstrap import CV_INTERVAL_SCALE

    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot()
    grid = np.linspace(0, 1, 101)
    rng = np.random.default_rng(random_state)
    for name, res in results.items():
        P, y, g = res.oof_matrix()
        y01 = (y == res.classes[1]).astype(int)
        p = P.mean(axis=0)
        fpr, tpr, _ = roc_curve(y01, p)
        codes, uniq = pd.factorize(g)
        curves = []
        for _ in range(n_bootstrap):
            pick = rng.integers(0, uniq.size, uniq.size)
            counts = np.bincount(pick, minlength=uniq.size)[codes]
            idx = np.repeat(np.arange(y01.size), counts)
            if np.unique(y01[idx]).size < 2:
                continue
            f, t, _ = roc_curve(y01[idx], p[idx])
            curves.append(np.interp(grid, f, t))
        line = ax.plot(
            fpr,
            tpr,
            label=(
                f"{name}: AUC {res.estimate('roc_auc'):.2f} "
                f"({res.ci('roc_auc')[0]:.2f}-{res.ci('roc_auc')[1]:.2f})"
            ),
        )[0]
        if curves:
            lo, hi = np.quantile(np.vstack(curves), [0.025, 0.975], axis=0)
            if res.settings.get("cross_validated"):
                mid = np.interp(grid, fpr, tpr)
                lo = np.clip(mid - CV_INTERVAL_SCALE * (mid - lo), 0.0, 1.0)
                hi = np.clip(mid + CV_INTERVAL_SCALE * (hi - mid), 0.0, 1.0)
            ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.15)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(
        title or "ROC (out-of-fold, patient-grouped) with 95 % bootstrap bands", fontsize=9
    )
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return fig


def decision_curve_figure(result: EvaluationResult, *, title: str | None = None) -> Any:
    """Decision curve (net benefit vs threshold) of the mean out-of-fold predictions."""
    from matplotlib.figure import Figure

    P, y, _ = result.oof_matrix()
    y01 = (y == result.classes[1]).astype(int)
    dc = decision_curve(y01, P.mean(axis=0))
    fig = Figure(figsize=(5.5, 4))
    ax = fig.add_subplot()
    ax.plot(dc["threshold"], dc["net_benefit"], label="model")
    ax.plot(dc["threshold"], dc["treat_all"], label="treat all", ls="--")
    ax.plot(dc["threshold"], dc["treat_none"], label="treat none", color="k", lw=0.8)
    prev = y01.mean()
    ax.set_ylim(-0.05 * max(prev, 0.05), max(prev, 0.05) * 1.1)
    ax.set_xlabel("threshold probability")
    ax.set_ylabel("net benefit")
    ax.set_title(title or "Decision curve (out-of-fold predictions)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def calibration_figure(
    result: EvaluationResult, *, n_bins: int = 5, title: str | None = None
) -> Any:
    """Calibration plot: observed frequency vs mean predicted probability in quantile bins."""
    from matplotlib.figure import Figure

    P, y, _ = result.oof_matrix()
    y01 = (y == result.classes[1]).astype(int)
    p = P.mean(axis=0)
    bins = pd.qcut(p, q=min(n_bins, np.unique(p).size), duplicates="drop")
    frame = pd.DataFrame({"p": p, "y": y01, "bin": bins}).groupby("bin", observed=True).mean()
    fig = Figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.8)
    ax.plot(frame["p"], frame["y"], marker="o")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(title or "Calibration (out-of-fold)", fontsize=9)
    fig.tight_layout()
    return fig
