"""The report's figures, drawn with matplotlib's Agg canvas (no pyplot, no display).

Every function returns PNG bytes, ready to be embedded in the HTML report as a
``data:image/png;base64`` URI (:func:`data_uri`). matplotlib is imported inside the
functions, so ``import radiomix.report`` stays light.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from radiomix.errors import EmptyRoiError, InputError
from radiomix.types import BoolArray, FloatArray

DPI = 110
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


def to_png(fig: Any) -> bytes:
    """Render a matplotlib ``Figure`` to PNG bytes with the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` URI of PNG bytes (self-contained HTML, no files).

    Examples
    --------
    >>> data_uri(b"\\x89PNG")[:22]
    'data:image/png;base64,'
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def largest_slice(mask: BoolArray) -> int:
    """Index of the axial slice (axis 0) with the most ROI voxels (the lowest on ties).

    Raises
    ------
    EmptyRoiError
        The mask holds no ROI voxel.

    Examples
    --------
    >>> m = np.zeros((3, 4, 4), bool); m[1, :2, :2] = True; m[2, :3, :3] = True
    >>> largest_slice(m)
    2
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 3:
        raise InputError(f"mask must be a (Z, Y, X) array, got shape {m.shape}")
    counts = m.reshape(m.shape[0], -1).sum(axis=1)
    if counts.max() == 0:
        raise EmptyRoiError("the mask holds no ROI voxel; nothing to show")
    return int(np.argmax(counts))


def qc_thumbnail(
    image: FloatArray,
    mask: BoolArray,
    spacing: Sequence[float],
    *,
    title: str = "",
    margin_mm: float = 15.0,
    window: tuple[float, float] | None = None,
    size_in: float = 2.2,
) -> bytes:
    """Quality-control thumbnail: the mask contour over the image at the largest ROI slice.

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Intensities.
    mask : (Z, Y, X) ndarray of bool
        ROI on the image grid.
    spacing : (z, y, x) in mm
        Voxel spacing (sets the pixel aspect ratio).
    title : str
        Caption drawn above the image.
    margin_mm : float
        Field of view around the ROI's in-plane bounding box, in mm.
    window : (low, high), optional
        Display range; default the 1st–99th percentile of the shown region.
    size_in : float
        Width of the thumbnail in inches.

    Returns
    -------
    bytes
        PNG.
    """
    img = np.asarray(image, dtype=float)
    m = np.asarray(mask, dtype=bool)
    if img.shape != m.shape:
        raise InputError(f"image {img.shape} and mask {m.shape} differ in shape")
    k = largest_slice(m)
    sl, ms = img[k], m[k]
    ys, xs = np.nonzero(ms)
    my = int(np.ceil(margin_mm / float(spacing[1])))
    mx = int(np.ceil(margin_mm / float(spacing[2])))
    y0, y1 = max(ys.min() - my, 0), min(ys.max() + my + 1, sl.shape[0])
    x0, x1 = max(xs.min() - mx, 0), min(xs.max() + mx + 1, sl.shape[1])
    sl, ms = sl[y0:y1, x0:x1], ms[y0:y1, x0:x1]
    lo, hi = window if window is not None else np.percentile(sl, [1, 99])
    if not hi > lo:
        hi = lo + 1.0
    aspect = float(spacing[1]) / float(spacing[2])
    height = size_in * aspect * sl.shape[0] / max(sl.shape[1], 1)
    fig = _figure(size_in, min(max(height, 1.0), 3 * size_in) + 0.3)
    ax = fig.add_axes((0, 0, 1, 1 - 0.3 / (min(max(height, 1.0), 3 * size_in) + 0.3)))
    ax.imshow(sl, cmap="gray", vmin=lo, vmax=hi, aspect=aspect, interpolation="nearest")
    if ms.any() and not ms.all():
        ax.contour(ms.astype(float), levels=[0.5], colors="#ff3030", linewidths=1.0)
    ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=8, y=0.995, va="top")
    return to_png(fig)


def roc_figure(curves: Mapping[str, Mapping[str, Sequence[float]]], *, ncols: int = 3) -> bytes:
    """ROC curves with their confidence bands, one panel per model (small multiples).

    Parameters
    ----------
    curves : mapping of label to dict
        ``fpr``, ``tpr``, ``tpr_low``, ``tpr_high`` (see
        :func:`radiomix.report.curves.roc_band`), in drawing order.
    ncols : int
        Panels per row.
    """
    n = max(len(curves), 1)
    ncols = min(ncols, n)
    nrows = (n + ncols - 1) // ncols
    fig = _figure(3.2 * ncols, 3.3 * nrows)
    for i, (label, c) in enumerate(curves.items()):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        col = PALETTE[i % len(PALETTE)]
        ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1)
        ax.fill_between(c["fpr"], c["tpr_low"], c["tpr_high"], color=col, alpha=0.2, lw=0)
        ax.plot(c["fpr"], c["tpr"], color=col, lw=1.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_aspect("equal")
        ax.set_title(label, fontsize=8)
        ax.tick_params(labelsize=7)
        if i % ncols == 0:
            ax.set_ylabel("sensitivity", fontsize=8)
        if i >= n - ncols:
            ax.set_xlabel("1 − specificity", fontsize=8)
    fig.tight_layout()
    return to_png(fig)


def calibration_figure(tables: Mapping[str, Mapping[str, Sequence[float]]]) -> bytes:
    """Observed event rate against mean predicted probability per bin, one line per model."""
    fig = _figure(5.2, 4.6)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1, label="perfect calibration")
    for i, (label, t) in enumerate(tables.items()):
        col = PALETTE[i % len(PALETTE)]
        ax.plot(t["predicted"], t["observed"], marker="o", ms=4, color=col, lw=1.4, label=label)
    ax.set_xlabel("mean predicted probability (bin)")
    ax.set_ylabel("observed fraction with lung metastasis (bin)")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    return to_png(fig)


def decision_curve_figure(curves: Mapping[str, Mapping[str, Sequence[float]]]) -> bytes:
    """Net benefit against threshold probability (decision-curve analysis).

    Parameters
    ----------
    curves : mapping of label to dict
        ``threshold`` and ``net_benefit``; include ``treat all`` / ``treat none`` as labels
        to draw the reference strategies (grey).
    """
    fig = _figure(5.6, 4.0)
    ax = fig.add_subplot()
    lows = []
    i = 0
    for label, c in curves.items():
        if label in ("treat all", "treat none"):
            ax.plot(c["threshold"], c["net_benefit"], color="0.45",
                    ls="--" if label == "treat all" else "-", lw=1, label=label)
            continue
        ax.plot(c["threshold"], c["net_benefit"], color=PALETTE[i % len(PALETTE)], lw=1.5,
                label=label)
        lows.append(np.nanmin(c["net_benefit"]))
        i += 1
    top = max(max((np.nanmax(c["net_benefit"]) for c in curves.values()), default=0.1), 0.05)
    ax.set_ylim(max(min(lows, default=0) - 0.05, -0.15), top + 0.05)
    ax.set_xlabel("threshold probability")
    ax.set_ylabel("net benefit")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return to_png(fig)


def km_figure(
    curves: Mapping[str, Mapping[str, Sequence[float]]], *, time_label: str = "years"
) -> bytes:
    """Kaplan–Meier curves with pointwise confidence bands.

    Parameters
    ----------
    curves : mapping of label to dict
        ``time``, ``survival``, ``ci_lower``, ``ci_upper``.
    """
    fig = _figure(5.6, 4.2)
    ax = fig.add_subplot()
    for i, (label, c) in enumerate(curves.items()):
        col = PALETTE[(i + 2) % len(PALETTE)]
        ax.step(c["time"], c["survival"], where="post", color=col, lw=1.8, label=label)
        ax.fill_between(c["time"], c["ci_lower"], c["ci_upper"], step="post", color=col,
                        alpha=0.15, lw=0)
    ax.set_xlabel(f"time since diagnosis ({time_label})")
    ax.set_ylabel("free of lung metastasis")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return to_png(fig)


def interval_figure(
    rows: Sequence[Mapping[str, Any]], *, xlabel: str, reference: float | None = None
) -> bytes:
    """Point estimates with confidence intervals, one horizontal bar per row.

    Parameters
    ----------
    rows : sequence of dict
        ``label``, ``estimate``, ``ci_low``, ``ci_high`` (top to bottom), optional ``color``.
    xlabel : str
    reference : float, optional
        A vertical reference line (e.g. chance AUC 0.5).
    """
    n = len(rows)
    fig = _figure(5.6, 0.45 * n + 1.1)
    ax = fig.add_subplot()
    for i, r in enumerate(rows):
        y = n - 1 - i
        est, lo, hi = (np.nan if r[k] is None else float(r[k])
                       for k in ("estimate", "ci_low", "ci_high"))
        col = r.get("color", PALETTE[i % len(PALETTE)])
        if np.isfinite(lo) and np.isfinite(hi):
            ax.hlines(y, lo, hi, color=col, lw=2.5, alpha=0.6)
        ax.plot([est], [y], "o", color=col, ms=6)
    if reference is not None:
        ax.axvline(reference, color="0.5", ls=":", lw=1)
    ax.set_yticks(range(n))
    ax.set_yticklabels([str(r["label"]) for r in rows][::-1], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, n - 0.4)
    fig.tight_layout()
    return to_png(fig)


def importance_figure(rows: Sequence[Mapping[str, Any]], *, xlabel: str) -> bytes:
    """Horizontal bars of signed importances (e.g. standardised rad-score coefficients).

    Parameters
    ----------
    rows : sequence of dict
        ``label`` and ``value``, most important first.
    """
    n = max(len(rows), 1)
    fig = _figure(6.4, 0.32 * n + 1.0)
    ax = fig.add_subplot()
    vals = [float(r["value"]) for r in rows]
    cols = [PALETTE[1] if v > 0 else PALETTE[0] for v in vals]
    ax.barh(range(len(rows))[::-1], vals, color=cols)
    ax.set_yticks(range(len(rows))[::-1])
    ax.set_yticklabels([str(r["label"]) for r in rows], fontsize=7)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel(xlabel)
    fig.tight_layout()
    return to_png(fig)
