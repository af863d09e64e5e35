"""The report's figures draw the document's curves as given, readably and uncut.

Oracles: the curves of the synthetic documents (computed there with scikit-learn and
lifelines), the trapezoid rule (numpy), and matplotlib's own text metrics.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from synthetic import classification_document, combined_document, survival_document

from radiomix.report import figures as F


def _texts(fig):
    """Texts drawn on the figure (tick labels only of ticks inside the view)."""
    from matplotlib.text import Text

    fig.canvas.draw()
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    hidden.update({id(tick.label1), id(tick.label2)})
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and id(t) not in hidden]


def _binary():
    o = classification_document()["outcomes"][0]
    return o, o["validation"][0]


def _figures():
    """Every kind of figure, built from the synthetic documents."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    o, v = _binary()
    order = o["arm_order"]
    roc = v["curves"]["roc"]
    panels = [{"key": k, "title": o["arms"][k]["label"], "colour": F.arm_colour(i),
               "roc": roc[k]} for i, k in enumerate(order) if k in roc]
    cal = [{"title": o["arms"][k]["label"], "colour": F.arm_colour(i),
            "cal": v["curves"]["calibration"][k]}
           for i, k in enumerate(order) if k in v["curves"]["calibration"]]
    dca = v["curves"]["decision"]
    s = survival_document()["outcomes"][0]
    km = s["validation"][0]["curves"]["km"]
    groups = [{"label": g, "colour": F.arm_colour(2), "data": d}
              for g, d in km["groups"].items()]
    b = combined_document()["outcomes"][0]
    figs = {
        "roc": F.roc_figure(panels)[0],
        "calibration": F.calibration_figure(cal),
        "decision": F.decision_figure(
            dca["threshold"],
            [{"label": o["arms"][k]["label"], "colour": F.arm_colour(i),
              "net_benefit": dca["net_benefit"][k]} for i, k in enumerate(order)
             if k in dca["net_benefit"]],
            {k: dca["net_benefit"][k] for k in ("treat all", "treat none")}),
        "interval": F.interval_figure(
            [{"label": o["arms"][k]["label"], "colour": F.arm_colour(i),
              **v["arms"][k]["metrics"]["roc_auc"]} for i, k in enumerate(order)],
            xlabel="ROC AUC", reference=0.5),
        "km": F.km_figure(groups, time_label="time (years)", ylabel="event-free"),
        "importance": F.importance_figure(
            [{"label": t["name"], "value": t["coefficient"]}
             for t in b["top_features"]["items"]], xlabel="coefficient"),
        "nomogram": F.nomogram_figure(b["nomogram"]),
    }
    for fig in figs.values():
        FigureCanvasAgg(fig)
    return figs


@pytest.fixture(scope="module")
def figures():
    return _figures()


def test_roc_curve_is_the_document_curve_and_legend_its_area() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    o, v = _binary()
    roc = v["curves"]["roc"]
    keys = [k for k in o["arm_order"] if k in roc]
    panels = [{"key": k, "title": k, "colour": F.arm_colour(i), "roc": roc[k]}
              for i, k in enumerate(keys)]
    fig, legend = F.roc_figure(panels)
    FigureCanvasAgg(fig)
    for ax, k in zip(fig.axes, keys, strict=True):
        curve = [ln for ln in ax.get_lines() if ln.get_label().startswith("AUC")]
        assert len(curve) == 1
        np.testing.assert_array_equal(curve[0].get_xdata(), roc[k]["fpr"])
        np.testing.assert_array_equal(curve[0].get_ydata(), roc[k]["tpr"])
        area = float(np.trapezoid(roc[k]["tpr"], roc[k]["fpr"]))
        assert legend[k] == f"AUC {area:.2f}"
        shown = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend[k] in shown


@pytest.mark.parametrize("name", ["roc", "calibration", "decision", "interval", "km",
                                  "importance", "nomogram"])
def test_every_text_is_at_least_10_pt(figures, name: str) -> None:
    small = [(t.get_text(), t.get_fontsize()) for t in _texts(figures[name])
             if t.get_fontsize() < F.MIN_FONT_PT]
    assert small == []


@pytest.mark.parametrize("name", ["roc", "calibration", "decision", "interval", "km",
                                  "importance", "nomogram"])
def test_no_text_outside_the_saved_image(figures, name: str) -> None:
    """Every text lies inside the PNG that is saved (tight crop) and inside the figure."""
    fig = figures[name]
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    tight = fig.get_tightbbox(renderer)  # inches
    for t in _texts(fig):
        bb = t.get_window_extent(renderer).transformed(fig.dpi_scale_trans.inverted())
        assert bb.x0 >= tight.x0 - 0.02
        assert bb.x1 <= tight.x1 + 0.02
        assert bb.y0 >= tight.y0 - 0.02
        assert bb.y1 <= tight.y1 + 0.02


@pytest.mark.parametrize("name", ["roc", "calibration", "interval", "km"])
def test_markers_not_clipped_at_the_axes(figures, name: str) -> None:
    """Every drawn point lies inside its axes' limits (or is drawn unclipped)."""
    fig = figures[name]
    for ax in fig.axes:
        x0, x1 = sorted(ax.get_xlim())
        y0, y1 = sorted(ax.get_ylim())
        for ln in ax.get_lines():
            if ln.get_marker() in (None, "None", "", " ") or not ln.get_clip_on():
                continue
            x = np.asarray(ln.get_xdata(), float)
            y = np.asarray(ln.get_ydata(), float)
            ok = np.isfinite(x) & np.isfinite(y)
            assert np.all((x[ok] >= x0) & (x[ok] <= x1) & (y[ok] >= y0) & (y[ok] <= y1))


def test_decision_curve_keeps_every_arm_inside(figures) -> None:
    ax = figures["decision"].axes[0]
    y0, y1 = ax.get_ylim()
    for ln in ax.get_lines():
        if ln.get_label() in ("treat all",):
            continue  # stated in the caption: it may leave the plot below
        y = np.asarray(ln.get_ydata(), float)
        assert np.all((y >= y0) & (y <= y1)), ln.get_label()


def test_km_draws_censoring_marks_and_numbers_at_risk(figures) -> None:
    s = survival_document()["outcomes"][0]
    km = s["validation"][0]["curves"]["km"]
    fig = figures["km"]
    marks = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "|"]
    assert sorted(len(m.get_xdata()) for m in marks) == sorted(
        len(g["censor_times"]) for g in km["groups"].values())
    numbers = {t.get_text() for t in fig.axes[1].texts}
    expected = {str(n) for g in km["groups"].values() for n in g["at_risk"]["n"]}
    assert numbers == expected


def test_render_reports_css_size() -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2), dpi=F.DPI)
    fig.add_subplot().plot([0, 1], [0, 1])
    r = F.render(fig)
    w, h = F.png_size(r.png)
    assert r.width == round(w * F.CSS_DPI / F.DPI)
    assert r.height == round(h * F.CSS_DPI / F.DPI)
    assert r.uri.startswith("data:image/png;base64,")


def test_qc_thumbnail_fixed_window_maps_values_alike() -> None:
    """With the CT window, 40 HU is mid-grey whatever else the image holds."""
    from PIL import Image

    lo, hi, unit = F.modality_window("ct")
    assert unit == "HU"
    img = np.full((3, 60, 60), 40.0)
    mask = np.zeros(img.shape, bool)
    mask[1, 25:35, 25:35] = True
    bright = img.copy()
    bright[1, 28:32, 28:32] = 3000.0  # inside the ROI: would stretch a percentile window
    grey = []
    for arr in (img, bright):
        png = F.qc_thumbnail(arr, mask, (1.0, 1.0, 1.0), window=(lo, hi), size_in=2.0)
        im = np.asarray(Image.open(io.BytesIO(png)).convert("L"), float)
        grey.append(im[5, 5])  # a corner far from the contour
    expected = 255 * (40 - lo) / (hi - lo)
    assert grey[0] == pytest.approx(expected, abs=2)
    assert grey[1] == pytest.approx(expected, abs=2)


def test_qc_thumbnail_scale_bar_length() -> None:
    """The scale bar spans scale_bar_mm / spacing pixels of the image."""
    from matplotlib.lines import Line2D

    img = np.zeros((3, 50, 50))
    mask = np.zeros(img.shape, bool)
    mask[1, 20:30, 20:30] = True
    captured = {}
    orig = F.to_png

    def spy(fig, *, tight=True):
        lines = [ln for ln in fig.axes[0].get_lines() if isinstance(ln, Line2D)]
        captured["x"] = lines[-1].get_xdata()
        return orig(fig, tight=tight)

    F.to_png, saved = spy, F.to_png
    try:
        F.qc_thumbnail(img, mask, (2.0, 0.5, 0.5), scale_bar_mm=10, window=(-1, 1))
    finally:
        F.to_png = saved
    x = captured["x"]
    assert x[1] - x[0] == pytest.approx(10 / 0.5)


def test_nomogram_reads_the_logistic_risk() -> None:
    """Read a patient off the drawn axes (tick positions only) and compare the risk with
    the logistic model of the document's coefficients."""
    nomo = combined_document()["outcomes"][0]["nomogram"]
    fig = F.nomogram_figure(nomo)
    ax = fig.axes[0]
    rows: dict[float, dict[str, float]] = {}
    names: dict[float, str] = {}
    for t in ax.texts:
        x, y = t.get_position()
        if t.get_ha() == "right":
            names[round(y, 6)] = t.get_text()
        else:
            rows.setdefault(round(y - 0.18, 6), {})[t.get_text()] = x
    axes = {names[y]: ticks for y, ticks in rows.items()}

    def at(axis: str, value: float) -> float:
        pts = sorted((float(k), x) for k, x in axes[axis].items())
        return float(np.interp(value, [p for p, _ in pts], [x for _, x in pts]))

    age, radscore = 60.0, 0.5
    points = at("age", age) + axes["sex"]["male"] + at("rad-score", radscore)
    total = sorted((float(k), x) for k, x in axes["total points"].items())
    x_total = float(np.interp(points, [k for k, _ in total], [x for _, x in total]))
    probs = sorted((float(k), x) for k, x in axes[nomo["risk_label"]].items())
    logits = [np.log(p / (1 - p)) for p, _ in probs]
    read = float(np.interp(x_total, [x for _, x in probs], logits))
    lp = nomo["intercept"] + 0.03 * age + 0.4 + 1.1 * radscore  # the document's coefficients
    assert read == pytest.approx(lp, abs=1e-9)


def test_a_numeric_nomogram_axis_spans_its_whole_range() -> None:
    """Round 18: the age axis was drawn over its rounded ticks only (40 to 72) while the
    table said "drawn from 36.00 to 79.00"; the line now covers the range."""
    nomo = {"intercept": -1.0, "link": "logit", "risk_label": "risk",
            "terms": [{"label": "age", "kind": "numeric", "coef": 0.05, "range": [36.0, 79.0]},
                      {"label": "rad-score", "kind": "numeric", "coef": 1.0,
                       "range": [-4.87, 3.31]}]}
    fig = F.nomogram_figure(nomo)
    ax = fig.axes[0]
    ys = {round(t.get_position()[1], 6): t.get_text() for t in ax.texts if t.get_ha() == "right"}
    lines = {}
    for line in ax.lines:
        x, y = line.get_xdata(), line.get_ydata()
        if len(x) == 2 and y[0] == y[1] and x[0] != x[1]:  # an axis line
            lines[ys.get(round(float(y[0]), 6))] = (min(x), max(x))
    widest = 1.0 * (3.31 + 4.87)  # the rad-score spans 0 to 100 points
    per_point = widest / 100
    assert lines["age"] == pytest.approx((0.0, 0.05 * (79 - 36) / per_point))
    assert lines["rad-score"] == pytest.approx((0.0, 100.0))
