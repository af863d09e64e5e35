"""The HTML report: one self-contained ``report.html`` plus ``metrics.json``.

:func:`write_report` reads a results folder written by :func:`radiomix.demo.run_demo`
(``analysis.json``, ``qc/*.png``, ``figures/*.png``), draws the figures and renders
``templates/report.html.j2`` with jinja2. Figures are embedded as base64 PNG data URIs and
the style sheet is inline, so the file works offline and references no external URL.

Every number in the HTML comes from ``metrics.json``: the template shows numbers only
through :class:`Numbers`, which looks the value up by its JSON pointer (RFC 6901) in the
metrics document and writes it inside an element carrying ``data-metric="<pointer>"``
(and ``data-digits``, ``data-scale``), so a test can compare what the browser shows with
the JSON file.

Results folder
--------------
``analysis.json``
    The analysis document (schema ``radiomix.analysis/1``): everything ``metrics.json``
    holds, plus ``curves`` (the data of the ROC, calibration, decision and Kaplan–Meier
    figures).
``qc/<patient>_<tag>.png``
    QC thumbnails listed in ``analysis["qc"]``.
``figures/*.png``
    Figures drawn by the analysis itself (the nomogram).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from radiomix.errors import InputError

log = logging.getLogger(__name__)

SCHEMA = "radiomix.analysis/1"
ANALYSIS_FILE = "analysis.json"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"

METRIC_TEXT: dict[str, tuple[str, str]] = {
    "roc_auc": (
        "ROC AUC",
        "the probability that the model gives a higher risk to a randomly chosen patient "
        "who developed lung metastasis than to one who did not; chance level is 0.5, a "
        "perfect ranking 1.",
    ),
    "pr_auc": (
        "PR AUC",
        "average precision over all thresholds; compare it with the fraction of patients "
        "with the event (the value of a useless model).",
    ),
    "accuracy": ("accuracy", "fraction of patients classified correctly at probability 0.5."),
    "balanced_accuracy": (
        "balanced accuracy",
        "mean of sensitivity and specificity; 0.5 is chance whatever the class balance.",
    ),
    "sensitivity": ("sensitivity", "fraction of patients with lung metastasis flagged."),
    "specificity": ("specificity", "fraction of patients without lung metastasis not flagged."),
    "brier": (
        "Brier score",
        "mean squared error of the predicted probabilities; lower is better.",
    ),
    "calibration_intercept": (
        "calibration intercept",
        "calibration-in-the-large: 0 when the average predicted risk matches the observed "
        "rate; negative means risks are over-estimated.",
    ),
    "calibration_slope": (
        "calibration slope",
        "1 when predicted risks spread as much as the observed ones; below 1 means "
        "predictions are too extreme (over-fitting).",
    ),
}
"""Label and plain-language meaning of each binary metric."""

TABLE_METRICS: tuple[str, ...] = (
    "roc_auc", "balanced_accuracy", "sensitivity", "specificity", "brier",
    "calibration_intercept", "calibration_slope",
)


# --------------------------------------------------------------------------- JSON pointers


def pointer(*parts: Any) -> str:
    """JSON pointer (RFC 6901) from path parts.

    Examples
    --------
    >>> pointer("arms", "clinical", "metrics", "roc_auc", "estimate")
    '/arms/clinical/metrics/roc_auc/estimate'
    >>> pointer("features", "a/b~c", 0)
    '/features/a~1b~0c/0'
    """
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve(doc: Any, ptr: str) -> Any:
    """Value at a JSON pointer (RFC 6901).

    Raises
    ------
    InputError
        The pointer does not lead to a value.

    Examples
    --------
    >>> resolve({"a": [{"b/c": 3}]}, "/a/0/b~1c")
    3
    """
    if ptr == "":
        return doc
    if not ptr.startswith("/"):
        raise InputError(f"JSON pointer must start with '/': {ptr!r}")
    cur = doc
    for raw in ptr[1:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, list):
            try:
                cur = cur[int(key)]
            except (ValueError, IndexError):
                raise InputError(f"JSON pointer {ptr!r}: no list index {key!r}") from None
        elif isinstance(cur, Mapping):
            if key not in cur:
                raise InputError(f"JSON pointer {ptr!r}: no key {key!r}")
            cur = cur[key]
        else:
            raise InputError(f"JSON pointer {ptr!r}: {key!r} is below a scalar")
    return cur


def clean_json(value: Any) -> Any:
    """JSON-compatible copy: NaN/inf to None, numpy scalars and arrays to Python, tuples to
    lists, keys to str.

    Examples
    --------
    >>> clean_json({"a": float("nan"), "b": (1, 2.5)})
    {'a': None, 'b': [1, 2.5]}
    """
    if isinstance(value, Mapping):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return clean_json(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f if math.isfinite(f) else None


# --------------------------------------------------------------------------- numbers


def format_number(value: Any, digits: int = 2, scale: float = 1.0) -> str:
    """The text shown for a number: ``value * scale`` with ``digits`` decimals (``n/a`` for
    missing values).

    Examples
    --------
    >>> format_number(0.7149, 2), format_number(0.7149, 0, 100), format_number(None)
    ('0.71', '71', 'n/a')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    v = float(value) * scale
    text = f"{v:.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text.replace("-", "−")


class Numbers:
    """Template helpers that show values of the metrics document with their pointer.

    Parameters
    ----------
    doc : mapping
        The metrics document (``metrics.json``).
    """

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc

    def get(self, ptr: str, default: Any = None) -> Any:
        """Raw value at ``ptr`` (``default`` when absent)."""
        try:
            return resolve(self.doc, ptr)
        except InputError:
            return default

    def num(self, ptr: str, digits: int = 2, scale: float = 1.0) -> Any:
        """``<span class="num" data-metric=ptr ...>text</span>`` for a numeric value."""
        from markupsafe import Markup, escape

        value = resolve(self.doc, ptr)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InputError(f"metric {ptr!r} is not a number: {value!r}")
        attrs = f'data-metric="{escape(ptr)}" data-digits="{digits}"'
        if scale != 1:
            attrs += f' data-scale="{scale:g}"'
        return Markup(f'<span class="num" {attrs}>{escape(format_number(value, digits, scale))}'
                      "</span>")

    def text(self, ptr: str) -> Any:
        """``<span data-metric=ptr data-kind="text">value</span>`` for a string value."""
        from markupsafe import Markup, escape

        value = resolve(self.doc, ptr)
        shown = "n/a" if value is None else str(value)
        return Markup(f'<span class="txt" data-metric="{escape(ptr)}" data-kind="text">'
                      f"{escape(shown)}</span>")

    def interval(self, ptr: str, digits: int = 2) -> Any:
        """``low–high`` of a metric object at ``ptr`` (``low to high`` when a bound is
        negative; empty when both bounds are missing)."""
        from markupsafe import Markup

        lo_v, hi_v = self.get(ptr + "/ci_low"), self.get(ptr + "/ci_high")
        if lo_v is None and hi_v is None:
            return Markup("")
        sep = " to " if any(v is not None and v < 0 for v in (lo_v, hi_v)) else "–"
        lo, hi = self.num(ptr + "/ci_low", digits), self.num(ptr + "/ci_high", digits)
        return Markup(f"{lo}{sep}{hi}")

    def ci(self, ptr: str, digits: int = 2) -> Any:
        """``estimate (95 % CI low–high)`` of a metric object at ``ptr``."""
        from markupsafe import Markup

        est = self.num(ptr + "/estimate", digits)
        if self.get(ptr + "/ci_low") is None and self.get(ptr + "/ci_high") is None:
            return est
        level = self.num("/reference/ci_percent", 0)
        return Markup(f'{est} <span class="ci">({level} % CI {self.interval(ptr, digits)})'
                      "</span>")


# --------------------------------------------------------------------------- plain language


def auc_words(m: Mapping[str, Any] | None, *, chance: float = 0.5) -> str:
    """Plain-language reading of an AUC (or C-index) with its interval (no numbers).

    Examples
    --------
    >>> for part in auc_words({"estimate": 0.75, "ci_low": 0.6, "ci_high": 0.88}).split(", but "):
    ...     print(part)
    better than chance (the whole interval lies above the chance level)
    uncertain: the interval is wide
    >>> auc_words({"estimate": 0.55, "ci_low": 0.4, "ci_high": 0.7})[:38]
    'not distinguishable from chance (the i'
    """
    if not m or m.get("estimate") is None:
        return "not available"
    lo, hi = m.get("ci_low"), m.get("ci_high")
    if lo is None or hi is None:
        return "no interval available"
    if lo > chance:
        where = "better than chance (the whole interval lies above the chance level)"
    elif hi < chance:
        where = "worse than chance (the whole interval lies below the chance level)"
    else:
        where = "not distinguishable from chance (the interval includes the chance level)"
    width = hi - lo
    if width > 0.3:
        how = "very uncertain: the interval is very wide for a cohort this small"
    elif width > 0.15:
        how = "uncertain: the interval is wide"
    else:
        how = "fairly precise"
    joiner = ", but " if lo > chance else "; "
    return f"{where}{joiner}{how}"


def p_words(p: float | None, *, alpha: float = 0.05) -> str:
    """Plain-language reading of a p-value of a comparison (no numbers).

    Examples
    --------
    >>> p_words(0.3)
    'no evidence of a difference'
    """
    if p is None:
        return "not tested"
    if p < alpha:
        return "a difference unlikely to be due to chance alone (one test among several)"
    return "no evidence of a difference"


# --------------------------------------------------------------------------- figures


def _figures(analysis: Mapping[str, Any], results: Path) -> dict[str, str]:
    """Data URIs of the report's figures (missing data -> no figure)."""
    from radiomix.report import figures as F

    curves = analysis.get("curves") or {}
    arms = analysis.get("arms") or {}
    order = [k for k in analysis.get("arm_order", list(arms)) if k in arms]
    out: dict[str, str] = {}

    def label(key: str) -> str:
        arm = arms[key]
        auc = (arm.get("metrics") or {}).get("roc_auc") or {}
        return f"{arm.get('label', key)} (AUC {format_number(auc.get('estimate'))})"

    roc = curves.get("roc") or {}
    if roc:
        out["roc"] = F.data_uri(F.roc_figure({label(k): roc[k] for k in order if k in roc}))
    cal = curves.get("calibration") or {}
    if cal:
        out["calibration"] = F.data_uri(F.calibration_figure(
            {arms[k].get("label", k): cal[k] for k in order if k in cal}))
    dca = curves.get("decision") or {}
    if dca:
        named = {arms[k].get("label", k) if k in arms else k: v for k, v in dca.items()}
        out["decision"] = F.data_uri(F.decision_curve_figure(named))
    km = curves.get("km") or {}
    if km:
        out["km"] = F.data_uri(F.km_figure(km, time_label="years"))
    if order:
        rows = [{"label": arms[k].get("label", k), **((arms[k].get("metrics") or {})
                 .get("roc_auc") or {"estimate": None, "ci_low": None, "ci_high": None})}
                for k in order]
        out["arms_auc"] = F.data_uri(F.interval_figure(rows, xlabel="ROC AUC", reference=0.5))
    leak = analysis.get("leakage") or {}
    if leak.get("schemes"):
        rows = []
        for sc in leak["schemes"]:
            for side, col in (("grouped", F.PALETTE[0]), ("naive", F.PALETTE[1])):
                auc = (sc.get(side) or {}).get("roc_auc") or {}
                kind = "grouped" if side == "grouped" else "naive (leaky)"
                rows.append({"label": f"{sc['scheme']} · {kind}",
                             "estimate": auc.get("estimate"), "ci_low": auc.get("ci_low"),
                             "ci_high": auc.get("ci_high"), "color": col})
        out["leakage"] = F.data_uri(F.interval_figure(rows, xlabel="ROC AUC", reference=0.5))
    top = (analysis.get("features") or {}).get("top") or []
    if top:
        out["importance"] = F.data_uri(F.importance_figure(
            [{"label": t["column"], "value": t["coefficient"]} for t in top],
            xlabel="standardised rad-score coefficient (log-odds per SD)"))
    for name, rel in (analysis.get("figure_files") or {}).items():
        path = results / rel
        if path.is_file():
            out[name] = F.data_uri(path.read_bytes())
        else:
            log.warning("figure file %s is missing; left out of the report", path)
    return out


def _qc_images(analysis: Mapping[str, Any], results: Path) -> list[str | None]:
    from radiomix.report.figures import data_uri

    uris: list[str | None] = []
    for item in analysis.get("qc") or []:
        path = results / str(item.get("image", ""))
        if item.get("image") and path.is_file():
            uris.append(data_uri(path.read_bytes()))
        else:
            log.warning("QC thumbnail %s is missing; left out of the report", path)
            uris.append(None)
    return uris


# --------------------------------------------------------------------------- entry point


def read_analysis(results_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``analysis.json`` of a results folder.

    Raises
    ------
    InputError
        Missing or unreadable file, or another schema.
    """
    path = Path(results_dir) / ANALYSIS_FILE
    if not path.is_file():
        raise InputError(
            f"{path} not found: pass the folder written by `radiomix demo` (it holds "
            f"{ANALYSIS_FILE}, qc/ and figures/)"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise InputError(f"{path} has schema {found!r}; expected {SCHEMA!r}")
    return doc


def build_metrics(analysis: Mapping[str, Any]) -> dict[str, Any]:
    """The ``metrics.json`` document: the analysis without its curve data, plus the
    checklist and the report's own metadata."""
    from radiomix.report.checklist import build_checklist
    from radiomix.table import package_versions

    metrics = {k: v for k, v in analysis.items() if k != "curves"}
    metrics.setdefault("reference", {"chance_auc": 0.5, "ci_percent": 95, "alpha": 0.05})
    metrics["glossary"] = {k: {"label": v[0], "meaning": v[1]} for k, v in METRIC_TEXT.items()}
    metrics["checklist"] = build_checklist(analysis)
    metrics["report"] = {
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "radiomix_version": package_versions(("radiomix",))["radiomix"],
    }
    return dict(clean_json(metrics))


def render_html(
    metrics: Mapping[str, Any], figures: Mapping[str, str], qc_images: list[str | None]
) -> str:
    """Render the report template."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("radiomix.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    nums = Numbers(metrics)
    template = env.get_template("report.html.j2")
    return template.render(
        m=metrics,
        N=nums,
        p=pointer,
        fig=figures,
        qc_images=qc_images,
        METRIC_TEXT=METRIC_TEXT,
        TABLE_METRICS=TABLE_METRICS,
        auc_words=auc_words,
        p_words=p_words,
    )


def write_report(
    results_dir: str | os.PathLike[str], *, out_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Write ``report.html`` and ``metrics.json`` for a results folder.

    Parameters
    ----------
    results_dir : path
        Folder written by :func:`radiomix.demo.run_demo` (``analysis.json``, ``qc/``,
        ``figures/``).
    out_dir : path, optional
        Where to write the two files (default: ``results_dir``).

    Returns
    -------
    Path
        The written ``report.html``: self-contained (figures as base64 PNG, inline style,
        no external URL), every number taken from the written ``metrics.json``.

    Raises
    ------
    InputError
        ``analysis.json`` is missing, unreadable or of another schema.

    Examples
    --------
    >>> path = write_report("out/demo")  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'report.html'
    """
    results = Path(results_dir)
    analysis = read_analysis(results)
    out = Path(out_dir) if out_dir is not None else results
    out.mkdir(parents=True, exist_ok=True)
    metrics = build_metrics(analysis)
    html = render_html(metrics, _figures(analysis, results), _qc_images(analysis, results))
    (out / METRICS_FILE).write_text(
        json.dumps(metrics, indent=1, allow_nan=False, ensure_ascii=False), encoding="utf-8"
    )
    path = out / REPORT_FILE
    path.write_text(html, encoding="utf-8")
    log.info("report written to %s", path)
    return path
