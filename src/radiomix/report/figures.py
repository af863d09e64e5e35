"""The report's figures, drawn with matplotlib's Agg canvas (no pyplot, no display).

The figure builders take curve data exactly as the results document holds it
(``docs/analysis-schema.md``) and draw it as given: they compute no curve and no statistic.
Each returns a matplotlib :class:`~matplotlib.figure.Figure`; :func:`render` turns it into
a :class:`Rendered` PNG with the size at which the HTML must show it.

Readability rules, checked by the tests:

- every text is at least :data:`MIN_FONT_PT` points at 100 % zoom: figures are drawn at
  :data:`DPI` = 1.5 x 96 dots per inch and shown at 96 / DPI of their pixel size
  (``width`` / ``height`` of :class:`Rendered`), so one point of the figure is one point
  on screen;
- nothing is clipped: PNGs are cropped to their drawn content (``bbox_inches="tight"``),
  markers are drawn with ``clip_on=False`` inside padded axis limits;
- one colour per arm in every figure: :func:`arm_colour` of the arm's position in the
  outcome's ``arm_order``.

matplotlib is imported inside the functions, so ``import radiomix.report`` stays light.
"""

from __future__ import annotations

import base64
import io
import struct
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from radiomix.errors import EmptyRoiError, InputError
from radiomix.types import BoolArray, FloatArray

CSS_DPI = 96
"""Pixels per inch of CSS at 100 % zoom."""
DPI = 3 * CSS_DPI // 2
"""Resolution of the PNGs: 1.5 times the CSS resolution (sharper on high-density screens)."""
MIN_FONT_PT = 10.0
"""Smallest font size of any text in a figure, in points at 100 % zoom."""
PALETTE: tuple[str, ...] = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F3C8D",
    "#000000", "#A6761D", "#666666",
)
"""Arm colours (Okabe–Ito first, colour-blind safe), taken in ``arm_order`` position."""
REFERENCE_GREY = "0.45"
FONT_RC: dict[str, Any] = {
    "font.size": 10.0, "axes.titlesize": 11.0, "axes.labelsize": 10.0,
    "xtick.labelsize": 10.0, "ytick.labelsize": 10.0, "legend.fontsize": 10.0,
    "figure.titlesize": 11.0, "legend.title_fontsize": 10.0,
}
"""matplotlib settings active while a figure is built."""
QC_WINDOWS: dict[str, tuple[float, float, str]] = {
    "CT": (-160.0, 240.0, "HU"),
    "PT": (0.0, 10.0, "SUV"),
}
"""Fixed display windows of QC thumbnails by DICOM modality: (low, high, unit). CT: a
soft-tissue window (level 40 HU, width 400 HU); PET: SUV 0–10. Other modalities have no
absolute scale and are shown from their 1st to 99th percentile."""

F = TypeVar("F", bound=Callable[..., Any])


def arm_colour(position: int) -> str:
    """Colour of the arm at ``position`` in its outcome's ``arm_order``.

    Examples
    --------
    >>> arm_colour(0), arm_colour(len(PALETTE))
    ('#0072B2', '#0072B2')
    """
    return PALETTE[int(position) % len(PALETTE)]


def _styled(func: F) -> F:
    """Build the figure under :data:`FONT_RC` (fonts of at least 10 pt)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context(FONT_RC):  # type: ignore[arg-type]  # keys are rcParams
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _wrap(text: str, width: int = 30) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


@dataclass(frozen=True)
class Rendered:
    """A figure as PNG bytes, with the CSS size at which it reads at 100 % zoom.

    Attributes
    ----------
    png : bytes
    width, height : int
        CSS pixels: the PNG's pixel size times ``CSS_DPI / DPI``.
    legend : dict
        What the figure's legends say, by arm key (e.g. the AUC text of each ROC panel).
    """

    png: bytes
    width: int
    height: int
    legend: Mapping[str, str]

    @property
    def uri(self) -> str:
        """``data:image/png;base64,...``."""
        return data_uri(self.png)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk.

    Examples
    --------
    >>> head = b"\\x89PNG\\r\\n\\x1a\\n" + b"\\x00\\x00\\x00\\rIHDR"
    >>> png_size(head + bytes([0, 0, 1, 0, 0, 0, 0, 9]))
    (256, 9)
    """
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise InputError("not a PNG file")
    w, h = struct.unpack(">II", png[16:24])
    return int(w), int(h)


def to_png(fig: Any, *, tight: bool = True) -> bytes:
    """Render a matplotlib ``Figure`` to PNG bytes with the Agg canvas at :data:`DPI`.

    ``tight`` crops the PNG to everything drawn (nothing is cut at the figure's edge).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    if tight:
        fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.06)
    else:
        fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def render(fig: Any, legend: Mapping[str, str] | None = None) -> Rendered:
    """PNG of ``fig`` and its CSS size (its pixel size times ``CSS_DPI / DPI``)."""
    png = to_png(fig)
    w, h = png_size(png)
    return Rendered(png=png, width=round(w * CSS_DPI / DPI), height=round(h * CSS_DPI / DPI),
                    legend=dict(legend or {}))


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` URI of PNG bytes (self-contained HTML, no files).

    Examples
    --------
    >>> data_uri(b"\\x89PNG")[:22]
    'data:image/png;base64,'
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _grid(n: int, ncols: int, panel: float, extra_h: float = 0.0) -> tuple[Any, list[Any]]:
    n = max(n, 1)
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    fig = _figure(panel * ncols, (panel + extra_h) * nrows)
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(n)]
    return fig, axes


def _arr(v: Any) -> FloatArray:
    return np.asarray([np.nan if x is None else x for x in (v or [])], dtype=float)


# --------------------------------------------------------------------------- binary outcome


@_styled
def roc_figure(
    panels: Sequence[Mapping[str, Any]], *, ncols: int = 3
) -> tuple[Any, dict[str, str]]:
    """ROC curves, one panel per arm (small multiples), each with its band.

    Parameters
    ----------
    panels : sequence of dict
        ``key``, ``title``, ``colour`` and ``roc``: the document's
        ``curves.roc[key]`` (``fpr``, ``tpr``, ``auc``, ``band`` or null). The curve is
        drawn through exactly the points ``fpr``/``tpr``; the legend shows ``auc``.
    ncols : int
        Panels per row.

    Returns
    -------
    Figure, dict
        The figure and the legend text of each key (``"AUC 0.71"``).
    """
    fig, axes = _grid(len(panels), ncols, 3.3, 0.35)
    legend: dict[str, str] = {}
    for i, (ax, p) in enumerate(zip(axes, panels, strict=False)):
        roc, col = p["roc"], p["colour"]
        ax.plot([0, 1], [0, 1], ls=":", color=REFERENCE_GREY, lw=1)
        band = roc.get("band")
        if band:
            ax.fill_between(_arr(band["fpr"]), _arr(band["lower"]), _arr(band["upper"]),
                            color=col, alpha=0.2, lw=0, label="95 % band")
        auc = roc.get("auc")
        text = "AUC n/a" if auc is None else f"AUC {auc:.2f}"
        legend[p["key"]] = text
        ax.plot(_arr(roc["fpr"]), _arr(roc["tpr"]), color=col, lw=2, label=text,
                drawstyle="default")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_aspect("equal")
        ax.set_title(_wrap(p["title"], 30))
        ax.legend(loc="lower right", frameon=True)
        ax.set_xlabel("1 − specificity")
        if i % max(1, min(ncols, len(panels))) == 0:
            ax.set_ylabel("sensitivity")
    return fig, legend


@_styled
def calibration_figure(panels: Sequence[Mapping[str, Any]], *, ncols: int = 3,
                       xlabel: str = "predicted probability",
                       ylabel: str = "observed fraction") -> Any:
    """Calibration, one panel per arm: observed fraction (with its interval) against the
    mean predicted probability of each group of cases, and the diagonal.

    Parameters
    ----------
    panels : sequence of dict
        ``title``, ``colour`` and ``cal``: the document's calibration entry
        (``predicted``, ``observed``, ``lower``, ``upper``).
    """
    fig, axes = _grid(len(panels), ncols, 3.3, 0.35)
    for i, (ax, p) in enumerate(zip(axes, panels, strict=False)):
        cal, col = p["cal"], p["colour"]
        x, y = _arr(cal.get("predicted")), _arr(cal.get("observed"))
        lo, hi = _arr(cal.get("lower")), _arr(cal.get("upper"))
        ax.plot([0, 1], [0, 1], ls=":", color=REFERENCE_GREY, lw=1)
        if lo.size == y.size and hi.size == y.size and y.size:
            err = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
            ax.errorbar(x, y, yerr=err, fmt="none", ecolor=col, elinewidth=1.4, capsize=3,
                        clip_on=False)
        ax.plot(x, y, marker="o", ms=5, color=col, lw=1.4, clip_on=False)
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
        ax.set_aspect("equal")
        ax.set_title(_wrap(p["title"], 30))
        ax.set_xlabel(xlabel)
        if i % max(1, min(ncols, len(panels))) == 0:
            ax.set_ylabel(ylabel)
    return fig


@_styled
def decision_figure(
    threshold: Sequence[float],
    curves: Sequence[Mapping[str, Any]],
    references: Mapping[str, Sequence[float]],
) -> Any:
    """Decision curves: net benefit against threshold probability.

    Parameters
    ----------
    threshold : sequence of float
        The document's ``curves.decision.threshold``.
    curves : sequence of dict
        ``label``, ``colour``, ``net_benefit`` per arm, in ``arm_order``.
    references : mapping
        ``treat all`` / ``treat none`` net benefits (grey). The vertical axis spans the
        arms' curves and the reference lines from their lowest arm value; the treat-all
        line may leave the plot below (it falls steeply at high thresholds).
    """
    fig = _figure(8.2, 4.2)
    ax = fig.add_subplot()
    t = _arr(threshold)
    arm_vals = [_arr(c["net_benefit"]) for c in curves]
    finite = [v[np.isfinite(v)] for v in arm_vals]
    low = min([float(v.min()) for v in finite if v.size] + [0.0])
    ref_top = [float(np.nanmax(_arr(v))) for v in references.values() if len(v)]
    high = max([float(v.max()) for v in finite if v.size] + ref_top + [0.02])
    pad = 0.05 * (high - low) + 0.01
    for name, vals in references.items():
        ax.plot(t, _arr(vals), color=REFERENCE_GREY, lw=1.3,
                ls="--" if name == "treat all" else "-", label=name)
    for c, v in zip(curves, arm_vals, strict=True):
        ax.plot(t, v, color=c["colour"], lw=2, label=_wrap(c["label"], 34))
    ax.set_ylim(low - pad, high + pad)
    ax.set_xlim(float(np.nanmin(t)) if t.size else 0, float(np.nanmax(t)) if t.size else 1)
    ax.set_xlabel("threshold probability")
    ax.set_ylabel("net benefit")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    return fig


@_styled
def interval_figure(
    rows: Sequence[Mapping[str, Any]], *, xlabel: str, reference: float | None = None,
    xlim: tuple[float, float] = (0.0, 1.0), log: bool = False,
) -> Any:
    """Point estimates with confidence intervals, one row each (a forest plot).

    Parameters
    ----------
    rows : sequence of dict
        ``label``, ``estimate``, ``ci_low``, ``ci_high``, ``colour`` (top to bottom).
    xlabel : str
    reference : float, optional
        A vertical reference line (chance AUC 0.5, hazard ratio 1).
    xlim : (float, float)
        Axis range; widened to every drawn value (nothing is clipped).
    log : bool
        Logarithmic axis (hazard ratios).
    """
    n = max(len(rows), 1)
    labels = [_wrap(r["label"], 38) for r in rows]
    lines = sum(lab.count("\n") + 1 for lab in labels) if labels else 1
    fig = _figure(7.6, 0.32 * max(lines, n) + 0.55 * n ** 0 + 0.9)
    ax = fig.add_subplot()
    vals: list[float] = []
    for i, r in enumerate(rows):
        y = n - 1 - i
        est, lo, hi = (np.nan if r.get(k) is None else float(r[k])
                       for k in ("estimate", "ci_low", "ci_high"))
        col = r.get("colour", PALETTE[0])
        if np.isfinite(lo) and np.isfinite(hi):
            ax.hlines(y, lo, hi, color=col, lw=3, alpha=0.55, clip_on=False)
            vals += [lo, hi]
        if np.isfinite(est):
            ax.plot([est], [y], "o", color=col, ms=7, clip_on=False)
            vals.append(est)
    if reference is not None:
        ax.axvline(reference, color=REFERENCE_GREY, ls=":", lw=1.2)
    lo_x = min([xlim[0], *vals])
    hi_x = max([xlim[1], *vals])
    if log:
        ax.set_xscale("log")
        ax.set_xlim(lo_x / 1.15, hi_x * 1.15)
    else:
        pad = 0.03 * (hi_x - lo_x)
        ax.set_xlim(lo_x - pad, hi_x + pad)
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels[::-1])
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel(xlabel)
    return fig


@_styled
def importance_figure(rows: Sequence[Mapping[str, Any]], *, xlabel: str) -> Any:
    """Horizontal bars of signed values (e.g. standardised coefficients), first row on top.

    Parameters
    ----------
    rows : sequence of dict
        ``label`` and ``value``.
    """
    n = max(len(rows), 1)
    fig = _figure(8.0, 0.34 * n + 1.0)
    ax = fig.add_subplot()
    vals = [0.0 if r["value"] is None else float(r["value"]) for r in rows]
    cols = [PALETTE[1] if v > 0 else PALETTE[0] for v in vals]
    ax.barh(range(len(rows))[::-1], vals, color=cols)
    ax.set_yticks(range(len(rows))[::-1])
    ax.set_yticklabels([_wrap(r["label"], 60) for r in rows])
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel(xlabel)
    return fig


# --------------------------------------------------------------------------- survival


def _step_value(times: FloatArray, surv: FloatArray, at: FloatArray) -> FloatArray:
    """Value of a right-continuous step function at ``at`` (for placing censoring marks)."""
    if times.size == 0:
        return np.full(at.size, np.nan)
    k = np.searchsorted(times, at, side="right") - 1
    return np.where(k >= 0, surv[np.clip(k, 0, None)], 1.0)


@_styled
def km_figure(
    groups: Sequence[Mapping[str, Any]], *, time_label: str, ylabel: str,
    title: str | None = None,
) -> Any:
    """Kaplan–Meier curves with pointwise bands, censoring marks and numbers at risk.

    Parameters
    ----------
    groups : sequence of dict
        ``label``, ``colour``, ``linestyle`` and the document's group entry (``time``,
        ``survival``, ``lower``, ``upper``, ``censor_times``, ``at_risk``).
    time_label : str
        Label of the time axis (with its unit).
    ylabel : str
    title : str, optional
        What is drawn, when the groups are one of several (e.g. "repeat 2 of 5 (median
        log-rank p)" of a repeated cross-validation).
    """
    n = max(len(groups), 1)
    fig = _figure(8.0, 4.2 + 0.3 * n)
    gs = fig.add_gridspec(2, 1, height_ratios=[4.0, 0.3 * n + 0.55])
    ax = fig.add_subplot(gs[0])
    tab = fig.add_subplot(gs[1], sharex=ax)
    t_max = 0.0
    for g in groups:
        d = g["data"]
        t, s = _arr(d.get("time")), _arr(d.get("survival"))
        col, ls = g["colour"], g.get("linestyle", "-")
        if t.size:
            t_max = max(t_max, float(np.nanmax(t)))
        lo, hi = _arr(d.get("lower")), _arr(d.get("upper"))
        if lo.size == t.size and hi.size == t.size and t.size:
            ax.fill_between(t, lo, hi, step="post", color=col, alpha=0.15, lw=0)
        ax.step(t, s, where="post", color=col, lw=2, ls=ls, label=_wrap(g["label"], 40))
        ct = _arr(d.get("censor_times"))
        if ct.size:
            t_max = max(t_max, float(np.nanmax(ct)))
            ax.plot(ct, _step_value(t, s, ct), ls="none", marker="|", ms=9, mew=1.6,
                    color=col, clip_on=False)
    ax.set_ylim(-0.02, 1.04)
    t_max = t_max if t_max > 0 else 1.0
    ax.set_xlim(-0.04 * t_max, t_max * 1.04)  # the first numbers at risk clear the axis
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(_wrap(title, 70), fontsize=11)
    ax.legend(loc="lower left", frameon=True)
    ax.tick_params(labelbottom=False)
    ax.set_xlabel("")
    # numbers at risk, read from the document
    tab.set_ylim(-0.5, n - 0.5)
    tab.set_yticks(range(n))
    tab.set_yticklabels([_wrap(g["label"], 22) for g in groups][::-1])
    for i, g in enumerate(groups):
        ar = g["data"].get("at_risk") or {}
        for tt, nn in zip(ar.get("times") or [], ar.get("n") or [], strict=False):
            if tt is None or nn is None:
                continue
            tab.text(float(tt), n - 1 - i, str(int(nn)), ha="center", va="center",
                     color=g["colour"], fontsize=10, clip_on=False)
    ticks: list[float] = []
    for g in groups:
        ticks = [v for v in (g["data"].get("at_risk") or {}).get("times") or [] if v is not None]
        if ticks:
            break
    if ticks:  # the numbers at risk sit under the ticks of the time axis
        ax.set_xticks(ticks)
        tab.set_xticks(ticks)
        tab.set_xticklabels([f"{v:g}" for v in ticks])
    tab.set_xlabel(time_label)
    tab.set_title("numbers at risk", loc="left", fontsize=10)
    for side in ("top", "right", "left"):
        tab.spines[side].set_visible(False)
    tab.tick_params(axis="y", length=0, pad=12)
    return fig


# --------------------------------------------------------------------------- nomogram


@_styled
def nomogram_figure(nomogram: Mapping[str, Any]) -> Any:
    """A points nomogram drawn from the document's ``nomogram`` entry.

    Each term gets a horizontal axis: a numeric term from ``range`` (low, high) in its own
    unit, a categorical term one tick per level; the term with the widest span of linear
    predictor gets 0–100 points. Below: total points and the predicted risk read from the
    linear predictor (``intercept`` + sum of terms) through ``link``. Only a linear
    rescaling of the document's coefficients is done here: no model is fitted.

    Parameters
    ----------
    nomogram : mapping
        ``intercept``, ``link`` ("logit"), ``terms`` with ``label``, ``kind`` and either
        ``coef`` and ``range`` (numeric) or ``levels`` of ``{"level", "coef"}``.
    """
    from matplotlib.ticker import MaxNLocator

    terms = list(nomogram.get("terms") or [])
    spans = []
    for t in terms:
        if t.get("kind") == "categorical":
            cs = [float(lv["coef"]) for lv in t.get("levels") or []] or [0.0]
            spans.append((min(cs), max(cs)))
        else:
            lo, hi = (float(v) for v in t["range"])
            a, b = float(t["coef"]) * lo, float(t["coef"]) * hi
            spans.append((min(a, b), max(a, b)))
    widest = max((hi - lo for lo, hi in spans), default=1.0) or 1.0
    per_point = widest / 100.0
    n_rows = len(terms) + 3
    fig = _figure(9.0, 0.62 * n_rows + 0.6)
    ax = fig.add_subplot()
    ax.set_axis_off()
    left = 0.0
    width = 100.0

    def axis(y: float, label: str, ticks: Sequence[tuple[float, str]],
             span: tuple[float, float] | None = None) -> None:
        # the line covers the whole range the term is drawn over (``span``, with a cap at
        # each end), not only the rounded ticks inside it
        xs = [x for x, _ in ticks] + (list(span) if span is not None else [])
        if xs:
            ax.plot([min(xs), max(xs)], [y, y], color="0.2", lw=1.2, clip_on=False)
        for x in span or ():
            ax.plot([x, x], [y - 0.06, y + 0.06], color="0.2", lw=1, clip_on=False)
        for x, lab in ticks:
            ax.plot([x, x], [y, y + 0.12], color="0.2", lw=1, clip_on=False)
            ax.text(x, y + 0.18, lab, ha="center", va="bottom", fontsize=10, clip_on=False)
        ax.text(left - 3, y, label, ha="right", va="center", fontsize=10, clip_on=False)

    y = n_rows - 1.0
    axis(y, "points", [(x, f"{x:g}") for x in range(0, 101, 20)])
    total_min = 0.0
    total_max = 0.0
    for t, (lo_lp, hi_lp) in zip(terms, spans, strict=True):
        y -= 1
        if t.get("kind") == "categorical":
            ticks = [((float(lv["coef"]) - lo_lp) / per_point, str(lv["level"]))
                     for lv in t.get("levels") or []]
        else:
            lo, hi = (float(v) for v in t["range"])
            vals = [v for v in MaxNLocator(nbins=6).tick_values(lo, hi)
                    if lo - 1e-9 <= v <= hi + 1e-9]
            ticks = [((float(t["coef"]) * v - lo_lp) / per_point, f"{v:g}") for v in vals]
            ends = ((float(t["coef"]) * lo - lo_lp) / per_point,
                    (float(t["coef"]) * hi - lo_lp) / per_point)
        axis(y, _wrap(t.get("label", t.get("term", "")), 28), ticks,
             span=None if t.get("kind") == "categorical" else ends)
        total_max += (hi_lp - lo_lp) / per_point
        total_min += 0.0
    # total points and risk
    y -= 1
    tot_ticks = [v for v in MaxNLocator(nbins=6).tick_values(0, total_max)
                 if 0 <= v <= total_max + 1e-9]
    scale = width / total_max if total_max > 0 else 1.0
    axis(y, "total points", [(v * scale, f"{v:g}") for v in tot_ticks])
    y -= 1
    base = float(nomogram.get("intercept") or 0.0) + sum(lo for lo, _ in spans)
    probs = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95)
    risk_ticks = []
    for p in probs:
        lp = np.log(p / (1 - p))
        pts = (lp - base) / per_point
        if 0 <= pts <= total_max:
            risk_ticks.append((pts * scale, f"{p:g}"))
    axis(y, _wrap(nomogram.get("risk_label", "predicted risk"), 28), risk_ticks)
    ax.set_xlim(left - 2, width + 2)
    ax.set_ylim(y - 0.6, n_rows - 0.4)
    return fig


# --------------------------------------------------------------------------- QC thumbnails


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


def modality_window(modality: str | None) -> tuple[float, float, str] | None:
    """Fixed QC display window of a DICOM modality (:data:`QC_WINDOWS`), or None.

    Examples
    --------
    >>> modality_window("CT"), modality_window("MR")
    ((-160.0, 240.0, 'HU'), None)
    """
    return QC_WINDOWS.get(str(modality or "").upper())


def qc_thumbnail(
    image: FloatArray,
    mask: BoolArray,
    spacing: Sequence[float],
    *,
    title: str = "",
    margin_mm: float = 15.0,
    window: tuple[float, float] | None = None,
    size_in: float = 2.2,
    scale_bar_mm: float | None = None,
) -> bytes:
    """Quality-control thumbnail: the mask contour over the image at the largest ROI slice.

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Intensities.
    mask : (Z, Y, X) ndarray of bool
        ROI on the image grid.
    spacing : (z, y, x) in mm
        Voxel spacing (sets the pixel aspect ratio and the scale bar).
    title : str
        Caption drawn above the image.
    margin_mm : float
        Field of view around the ROI's in-plane bounding box, in mm.
    window : (low, high), optional
        Display range, the same for every patient of a modality (:func:`modality_window`:
        CT in HU, PET in SUV); default the 1st–99th percentile of the shown region (for
        modalities without an absolute scale).
    size_in : float
        Width of the thumbnail in inches.
    scale_bar_mm : float, optional
        Length of a white scale bar drawn in the lower-left corner, in mm.

    Returns
    -------
    bytes
        PNG.
    """
    import matplotlib

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
    height = min(max(size_in * aspect * sl.shape[0] / max(sl.shape[1], 1), 1.0), 3 * size_in)
    title_in = 0.3 if title else 0.0
    with matplotlib.rc_context(FONT_RC):  # type: ignore[arg-type]  # keys are rcParams
        from matplotlib.figure import Figure

        fig = Figure(figsize=(size_in, height + title_in), dpi=DPI)
        ax = fig.add_axes((0, 0, 1, height / (height + title_in)))
        ax.imshow(sl, cmap="gray", vmin=lo, vmax=hi, aspect=aspect, interpolation="nearest")
        if ms.any() and not ms.all():
            ax.contour(ms.astype(float), levels=[0.5], colors="#ff3030", linewidths=1.0)
        if scale_bar_mm:
            px = float(scale_bar_mm) / float(spacing[2])
            yb = sl.shape[0] - 0.08 * sl.shape[0]
            xb = 0.06 * sl.shape[1]
            ax.plot([xb, xb + px], [yb, yb], color="white", lw=3, solid_capstyle="butt")
            ax.text(xb, yb - 0.04 * sl.shape[0], f"{scale_bar_mm:g} mm", color="white",
                    fontsize=10, va="bottom", ha="left")
        ax.set_axis_off()
        if title:
            fig.suptitle(title, fontsize=10, y=0.995, va="top")
        return to_png(fig, tight=False)
