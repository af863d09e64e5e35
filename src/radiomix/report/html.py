"""The HTML report of a results document: one self-contained ``report.html`` plus
``metrics.json`` (and ``report.pdf`` on request).

:func:`write_report` reads ``DIR/analysis.json`` (schema ``radiomix.analysis/2``,
``docs/analysis-schema.md``), draws its curves as given (:mod:`radiomix.report.figures`),
and renders ``templates/report.html.j2`` with jinja2. Figures are embedded as base64 PNG
data URIs and the style sheet is inline, so the file works offline and references no
external URL. The report computes no statistic and no curve: every number comes from the
document, and every word that judges a number follows one interval rule
(:mod:`radiomix.report.words`).

Every number in the HTML comes from ``metrics.json`` (the document without its curves, plus
the checklists, the glossary and the headline choices): the template shows numbers only
through :class:`Numbers`, which looks the value up by its JSON pointer (RFC 6901) and writes
it inside an element carrying ``data-metric="<pointer>"`` (and ``data-digits``,
``data-scale``), so a test can compare what the browser shows with the JSON file.

Names (outcome label, positive class, arm labels, modality tags) all come from the
document; the package holds no study-specific word.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from radiomix.errors import DependencyError, InputError

log = logging.getLogger(__name__)

SCHEMA = "radiomix.analysis/2"
ANALYSIS_FILE = "analysis.json"
METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"
PDF_FILE = "report.pdf"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
"""Executables tried, in order, to print the PDF (headless Chromium)."""

METRIC_TEXT: dict[str, tuple[str, str]] = {
    "roc_auc": (
        "ROC AUC",
        "the probability that the model gives a higher risk to a randomly chosen case of the "
        "positive class than to a randomly chosen other case; 0.5 is chance, 1 a perfect "
        "ranking.",
    ),
    "pr_auc": (
        "PR AUC",
        "average precision over all thresholds; a useless model scores the prevalence.",
    ),
    "accuracy": ("accuracy", "fraction of cases classified correctly at the stated threshold."),
    "balanced_accuracy": (
        "balanced accuracy",
        "mean of sensitivity and specificity at the stated threshold; 0.5 is chance whatever "
        "the class balance.",
    ),
    "sensitivity": ("sensitivity", "fraction of positive cases flagged at the stated threshold."),
    "specificity": ("specificity",
                    "fraction of negative cases not flagged at the stated threshold."),
    "brier": (
        "Brier score",
        "mean squared error of the predicted probabilities; lower is better. The prevalence "
        "reference is the Brier score of predicting the training prevalence of the model "
        "that scored each row (the prevalence of that fold's training rows under "
        "cross-validation, of the training centres under external validation; each "
        "training patient counted once when the analysis scores patients), the score "
        "of the prevalence arm: a model scoring above it predicts worse than knowing the "
        "base rate of its own training data. The verdict reads the paired difference (the "
        "model's squared error minus the reference's, patient by patient, resampled "
        "together), not the model's interval beside the reference's value.",
    ),
    "calibration_intercept": (
        "calibration intercept",
        "calibration-in-the-large: 0 when the average predicted risk matches the observed "
        "rate; negative means risks are over-estimated.",
    ),
    "calibration_slope": (
        "calibration slope",
        "1 when predicted risks spread as much as the observed ones; between 0 and 1 "
        "means predictions are too extreme (over-fitting); below 0, they run opposite to "
        "the outcome.",
    ),
    "c_index": (
        "C-index",
        "Harrell's concordance: the fraction of comparable pairs of patients in which the "
        "one with the higher predicted risk had the event first; 0.5 is chance.",
    ),
    "td_auc": (
        "time-dependent AUC",
        "the AUC at a fixed horizon: patients with the event before the horizon against "
        "those still event-free at it (inverse-probability-of-censoring weights); refused "
        "when too few patients remain at risk.",
    ),
    "hazard_ratio": (
        "hazard ratio",
        "the ratio of event rates between the high- and the low-risk group (Cox model); 1 "
        "means no difference.",
    ),
    "confidence_interval": (
        "95 % confidence interval",
        "an interval built by a procedure that, over many repetitions of the study, contains "
        "the true value 95 % of the time. It is not a 95 % probability that the true value "
        "lies in this particular interval. Here intervals are percentile intervals of "
        "patient-bootstrap replicates (patients, not rows, are resampled), except those "
        "marked †: where the bootstrap cannot give an interval (a perfect or a zero score, "
        "whose every replicate is the same) they are exact binomial (Clopper–Pearson) "
        "bounds, and the mark's tooltip and the analysis document (interval_method) say "
        "over which patients.",
    ),
    "cv_widening": (
        "widened cross-validated intervals",
        "a bootstrap of out-of-fold predictions holds the fold models fixed: it resamples "
        "each patient's label as a test case but not its role in training the models that "
        "scored the other patients. Writing the cross-validated AUC as a sum over pairs of "
        "patients in different folds, each pair enters once through each patient's label; "
        "with exchangeable labels the two sides carry equal variance and no covariance, so "
        "the variance of the estimate is twice the fixed-model one (Bengio and Grandvalet, "
        "J Mach Learn Res 2004;5:1089-1105, on the between-fold covariance). Intervals of "
        "cross-validated estimates are therefore widened by the square root of 2 around the "
        "estimate (conservative when the signal is real). Hold-out and external intervals "
        "are not widened: their model never saw the scored patients.",
    ),
    "p_value": (
        "p-value of a difference between arms (paired bootstrap)",
        "two-sided p-value of no difference between two arms scored on the same patients, "
        "read from the same paired patient-bootstrap replicates as the interval of the "
        "difference (of the ROC AUCs, or of the C-indices), with the same widening for "
        "cross-validated estimates: the smallest level at which that interval excludes "
        "zero. So p < 0.05 exactly when the 95 % interval excludes zero; the p-value adds "
        "nothing to the interval, on which the report's words are based.",
    ),
    "net_benefit": (
        "net benefit (decision curve)",
        "true positives minus false positives weighted by the odds of the threshold "
        "probability, per unit of the analysis: per patient, or per lesion when the rows "
        "are lesions (Vickers and Elkin, Med Decis Making 2006;26:565-574). "
        "A model helps at a threshold where its curve lies above both treating everyone and "
        "treating no one.",
    ),
}
"""Label and plain-language meaning of each metric and term (outcome-neutral)."""

BINARY_TABLE: tuple[str, ...] = (
    "roc_auc", "pr_auc", "accuracy", "sensitivity", "specificity", "balanced_accuracy",
    "brier", "calibration_intercept", "calibration_slope",
)
"""Columns of a binary performance table."""
COMBINED_SCHEMES: tuple[str, ...] = ("training", "internal", "external")
"""Schemes shown together in one table (rows per arm and scheme)."""


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

        try:
            value = resolve(self.doc, ptr)
        except InputError:
            return self.missing(ptr)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InputError(f"metric {ptr!r} is not a number: {value!r}")
        attrs = f'data-metric="{escape(ptr)}" data-digits="{digits}"'
        if scale != 1:
            attrs += f' data-scale="{scale:g}"'
        return Markup(f'<span class="num" {attrs}>{escape(format_number(value, digits, scale))}'
                      "</span>")

    def p(self, ptr: str) -> Any:
        """:meth:`num` for a p-value: three decimals, or as many as show its first two
        significant digits when it is smaller (0.00034, not 0.000: a p-value is not 0).

        Examples
        --------
        >>> str(Numbers({"p": 0.000337}).p("/p")).split(">")[1].split("<")[0]
        '0.00034'
        """
        value = self.get(ptr)
        digits = 3
        if isinstance(value, float) and 0.0 < value < 1e-3:
            digits = min(12, 1 - math.floor(math.log10(value)))
        return self.num(ptr, digits)

    def exact(self, ptr: str, most: int = 6) -> Any:
        """:meth:`num` with the fewest decimals (up to ``most``) that show the value as given:
        a horizon of 0.25 years is headed 0.25, not 0.2 (its calibration figure and the
        document say 0.25)."""
        try:
            value = resolve(self.doc, ptr)
        except InputError:
            return self.missing(ptr)
        digits = 0
        if isinstance(value, float) and math.isfinite(value):
            while digits < most and round(value, digits) != value:
                digits += 1
        return self.num(ptr, digits)

    @staticmethod
    def missing(ptr: str) -> Any:
        """What is shown for a key the document does not hold (no number, no pointer)."""
        from markupsafe import Markup

        log.debug("the document has no %s; shown as not recorded", ptr)
        return Markup('<span class="missing">not recorded</span>')

    def text(self, ptr: str) -> Any:
        """``<span data-metric=ptr data-kind="text">value</span>`` for a string value."""
        from markupsafe import Markup, escape

        try:
            value = resolve(self.doc, ptr)
        except InputError:
            return self.missing(ptr)
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
        digits = reference_digits((lo_v, hi_v), digits)
        lo, hi = self.num(ptr + "/ci_low", digits), self.num(ptr + "/ci_high", digits)
        method = self.get(ptr + "/interval_method")
        if isinstance(method, str) and method:  # not a bootstrap interval: say which
            from markupsafe import escape

            return Markup(f'{lo}{sep}{hi}<sup class="ci-method" title="{escape(method)}">'
                          "†</sup>")
        return Markup(f"{lo}{sep}{hi}")

    def bounds(self, lo_ptr: str, hi_ptr: str, digits: int = 2) -> Any:
        """``low–high`` of two values, with the decimals that keep them apart from the
        reference levels they are not (:func:`reference_digits`)."""
        from markupsafe import Markup

        digits = reference_digits((self.get(lo_ptr), self.get(hi_ptr)), digits)
        return Markup(f"{self.num(lo_ptr, digits)}–{self.num(hi_ptr, digits)}")

    def ci(self, ptr: str, digits: int = 2) -> Any:
        """``estimate (95 % CI low–high)`` of a metric object at ``ptr``."""
        from markupsafe import Markup

        est = self.num(ptr + "/estimate", digits)
        if self.get(ptr + "/ci_low") is None and self.get(ptr + "/ci_high") is None:
            return est
        level = self.num("/reference/ci_percent", 0)
        return Markup(f'{est} <span class="ci">({level} % CI {self.interval(ptr, digits)})'
                      "</span>")


REFERENCE_LEVELS = (0.0, 0.5, 1.0)
"""Values a verdict compares an interval with (no difference, chance, a ratio of 1)."""


def reference_digits(bounds: Sequence[Any], digits: int, most: int = 4) -> int:
    """Decimals that keep an interval's bounds apart from a reference level they are not:
    a lower bound of 0.503 shown as 0.50 reads as touching chance under a verdict that says
    the interval lies above it.

    Examples
    --------
    >>> reference_digits((0.503, 0.84), 2), reference_digits((0.51, 0.84), 2)
    (3, 2)
    """
    def blurred(d: int) -> bool:
        return any(isinstance(b, (int, float)) and b not in REFERENCE_LEVELS
                   and round(float(b), d) in REFERENCE_LEVELS for b in bounds)

    while digits < most and blurred(digits):
        digits += 1
    return digits


# --------------------------------------------------------------------------- reading


def _need(cond: bool, path: str, what: str) -> None:
    if not cond:
        raise InputError(f"{path}: {what}; re-run `radiomix analyse` to write a complete "
                         f"{SCHEMA!r} document")


def check_document(doc: Mapping[str, Any], *, source: str = ANALYSIS_FILE) -> None:
    """Check the parts of a schema-2 document the report relies on.

    Raises
    ------
    InputError
        A required key is missing or of the wrong kind (the message names its path).
    """
    _need(isinstance(doc.get("outcomes"), list), f"{source} /outcomes", "missing or not a list")
    for i, o in enumerate(doc["outcomes"]):
        where = f"{source} /outcomes/{i}"
        _need(isinstance(o, Mapping), where, "not an object")
        _need(o.get("kind") in ("binary", "survival"), where + "/kind",
              f"must be 'binary' or 'survival', got {o.get('kind')!r}")
        _need(isinstance(o.get("arms"), Mapping), where + "/arms", "missing or not an object")
        order = o.get("arm_order")
        _need(isinstance(order, list) and all(k in o["arms"] for k in order),
              where + "/arm_order", "missing, or names an arm not in /arms")
        _need(isinstance(o.get("validation"), list), where + "/validation",
              "missing or not a list")
        for j, v in enumerate(o["validation"]):
            _need(isinstance(v, Mapping) and isinstance(v.get("arms"), Mapping),
                  f"{where}/validation/{j}/arms", "missing or not an object")
            unknown = [k for k in v["arms"] if k not in o["arms"]]
            _need(not unknown, f"{where}/validation/{j}/arms",
                  f"arm(s) {unknown} not declared in /outcomes/{i}/arms")
            _check_numbers(v, f"{where}/validation/{j}")


NUMERIC_KEYS = frozenset((
    "estimate", "ci_low", "ci_high", "p_value", "auc", "brier_reference", "hazard_ratio",
    "hr_ci_low", "hr_ci_high", "logrank_p", "logrank_p_min", "logrank_p_max",
    "logrank_p_median", "horizon_years", "n_at_risk", "n_events", "n_boot", "n_folds",
    "coef", "coef_per_sd"))
"""Scalar keys of a validation entry that hold a number (or null) wherever they appear."""

TEXT_LIST_KEYS = frozenset(("warnings", "centres", "fallbacks", "reasons", "columns",
                            "selected", "blocks", "arms", "order", "labels"))
"""Keys of a validation entry whose lists hold text; every other list holds numbers."""


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _check_numbers(node: Any, where: str, key: str | None = None) -> None:
    """Refuse text or booleans where a validation entry holds numbers: the scalars of
    :data:`NUMERIC_KEYS`, and every list but those of :data:`TEXT_LIST_KEYS` (curve points,
    bands, thresholds); a hand-edited document would otherwise be drawn as edited, or its
    figures dropped with a bare error."""
    if isinstance(node, Mapping):
        for k, value in node.items():
            _check_numbers(value, f"{where}/{k}", str(k))
    elif isinstance(node, list):
        scalars = [x for x in node if not isinstance(x, (Mapping, list))]
        if key not in TEXT_LIST_KEYS and not all(_is_number(x) for x in scalars):
            bad = next(x for x in scalars if not _is_number(x))
            _need(False, where, f"must hold numbers (or null), holds {bad!r} (the file was "
                                "edited or damaged; re-run the analysis)")
        for k, x in enumerate(node):
            if isinstance(x, (Mapping, list)):
                _check_numbers(x, f"{where}/{k}", key)
    elif key in NUMERIC_KEYS:
        _need(_is_number(node), where, f"must be a number or null, got {node!r} (the file "
                                       "was edited or damaged; re-run the analysis)")


def read_analysis(results_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``analysis.json`` of a results folder.

    Raises
    ------
    InputError
        Missing or unreadable file, another schema (schema 1 of earlier versions included:
        re-run the analysis), or a document without the parts the report draws.
    """
    path = Path(results_dir) / ANALYSIS_FILE
    if not path.is_file():
        raise InputError(
            f"{path} not found: pass the folder written by `radiomix analyse` (or `radiomix "
            f"model`, `radiomix demo`), which holds {ANALYSIS_FILE}"
        )
    def no_constant(name: str) -> Any:
        raise ValueError(f"it holds {name}, which the schema never writes (a missing value is "
                         "null): the file was edited or damaged; re-run `radiomix analyse`")

    try:
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constant)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        hint = ("it was written by an earlier radiomix; re-run `radiomix analyse` on the study "
                "to write the current document" if found == "radiomix.analysis/1"
                else "pass a folder written by `radiomix analyse`")
        raise InputError(f"{path} has schema {found!r}; expected {SCHEMA!r}: {hint}")
    check_document(doc, source=str(path))
    return doc


def strip_curves(doc: Any) -> Any:
    """Copy of the document without any ``curves`` entry (what ``metrics.json`` holds)."""
    if isinstance(doc, Mapping):
        return {k: strip_curves(v) for k, v in doc.items() if k != "curves"}
    if isinstance(doc, list):
        return [strip_curves(v) for v in doc]
    return doc


KM_SCALARS: tuple[str, ...] = ("arm", "cutoff", "cutoff_rule", "logrank_p", "hazard_ratio",
                                "time_unit", "repeat", "repeat_number", "n_repeats", "drawn",
                                "drawn_short", "arm_rule",
                                "logrank_p_repeats", "logrank_p_median", "logrank_p_min",
                                "logrank_p_max")


def km_summary(km: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The scalar part of a validation's ``curves.km`` (kept in ``metrics.json`` as
    ``validation[j].km``): arm, cut-off, log-rank p, hazard ratio, and per group the number
    at risk at the first tabulated time."""
    if not km:
        return None
    out: dict[str, Any] = {k: km.get(k) for k in KM_SCALARS}
    groups = []
    for label, g in (km.get("groups") or {}).items():
        n = ((g or {}).get("at_risk") or {}).get("n") or [None]
        groups.append({"label": label, "n_at_start": n[0]})
    out["groups"] = groups
    return out


def curves_drawn(curves: Mapping[str, Any] | None) -> dict[str, str | None]:
    """What each curve figure of a validation draws, in words (kept in ``metrics.json`` as
    ``figures.outcomes[i].validation[j]``, so the captions can quote it): the ``legend`` of the
    ROC, calibration and decision entries (the distinct texts of the arms, joined) and the
    ``drawn`` text of the Kaplan-Meier entry; None where the document holds none."""
    curves = curves or {}
    out: dict[str, str | None] = {}
    for kind in ("roc", "calibration"):
        texts = [str(e["legend"]) for e in (curves.get(kind) or {}).values()
                 if isinstance(e, Mapping) and e.get("legend")]
        out[kind] = "; ".join(dict.fromkeys(texts)) or None
    dca = curves.get("decision") or {}
    out["decision"] = str(dca["legend"]) if dca.get("legend") else None
    km = curves.get("km") or {}
    out["km"] = str(km["drawn"]) if km.get("drawn") else None
    return out


def build_metrics(analysis: Mapping[str, Any]) -> dict[str, Any]:
    """The ``metrics.json`` document: the analysis without its curve data, plus the
    checklists, the glossary, the headline choices and the report's own metadata."""
    from radiomix.report.checklist import build_checklists
    from radiomix.report.words import headlines
    from radiomix.table import package_versions

    metrics = strip_curves(analysis)
    for o, mo in zip(analysis.get("outcomes") or [], metrics.get("outcomes") or [], strict=True):
        for v, mv in zip(o.get("validation") or [], mo.get("validation") or [], strict=True):
            if o.get("kind") == "survival":
                mv["km"] = km_summary((v.get("curves") or {}).get("km"))
    metrics["figures"] = {"outcomes": [
        {"validation": [curves_drawn(v.get("curves")) for v in o.get("validation") or []]}
        for o in analysis.get("outcomes") or []]}
    metrics.setdefault("reference", {"chance_auc": 0.5, "ci_percent": 95, "alpha": 0.05,
                                     "hazard_ratio_null": 1.0})
    metrics["glossary"] = {k: {"label": v[0], "meaning": v[1]} for k, v in METRIC_TEXT.items()}
    metrics["checklists"] = build_checklists(analysis)
    metrics["headline"] = headlines(analysis)
    metrics["report"] = {
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "radiomix_version": package_versions(("radiomix",))["radiomix"],
    }
    return dict(clean_json(metrics))


# --------------------------------------------------------------------------- figures


def _colour_of(outcome: Mapping[str, Any]) -> dict[str, str]:
    from radiomix.report.figures import arm_colour

    return {k: arm_colour(i) for i, k in enumerate(outcome.get("arm_order") or [])}


def arm_title(arm: Mapping[str, Any], key: str) -> str:
    """Arm label for a figure, with the untrained flag."""
    label = str(arm.get("label", key))
    return label + " (untrained weights)" if arm.get("untrained_deep") else label


def _binary_figures(o: Mapping[str, Any], v: Mapping[str, Any],
                    colours: Mapping[str, str]) -> dict[str, Any]:
    from radiomix.report import figures as F

    arms, order = o["arms"], o["arm_order"]
    curves = v.get("curves") or {}
    res = v.get("arms") or {}
    out: dict[str, Any] = {"missing": {}}
    rows = [{"label": arm_title(arms[k], k), "colour": colours[k],
             **((res[k].get("metrics") or {}).get("roc_auc") or {})}
            for k in order if k in res]
    rows = [r for r in rows if r.get("estimate") is not None]
    if rows:
        out["auc"] = F.render(F.interval_figure(rows, xlabel="ROC AUC", reference=0.5))
    roc = curves.get("roc") or {}
    panels = [{"key": k, "title": arm_title(arms[k], k), "colour": colours[k], "roc": roc[k]}
              for k in order if k in roc]
    if panels:
        fig, legend = F.roc_figure(panels)
        out["roc"] = F.render(fig, legend)
    cal = curves.get("calibration") or {}
    panels = [{"title": arm_title(arms[k], k), "colour": colours[k], "cal": cal[k]}
              for k in order if k in cal]
    if panels:
        out["calibration"] = F.render(F.calibration_figure(
            panels, xlabel="mean predicted probability",
            ylabel=f"observed fraction {o.get('positive', 'positive')}"))
    dca = curves.get("decision") or {}
    nb = dca.get("net_benefit") or {}
    if dca.get("threshold") and nb:
        drawn = [{"label": arm_title(arms[k], k), "colour": colours[k],
                  "net_benefit": nb[k]} for k in order if k in nb]
        refs = {k: nb[k] for k in ("treat all", "treat none") if k in nb}
        out["decision"] = F.render(F.decision_figure(dca["threshold"], drawn, refs))
    from radiomix.report.words import is_prevalence_arm

    constant = [k for k in order if k in res and is_prevalence_arm(arms[k])]
    if constant:
        out["constant"] = constant
    for kind, present in (("roc", roc), ("calibration", cal), ("decision", nb)):
        absent = [k for k in order if k in res and k not in present and k not in constant]
        if absent:
            out["missing"][kind] = absent
    out["one_class"] = one_class(v)
    return out


def one_class(v: Mapping[str, Any]) -> dict[str, str] | None:
    """When the scored rows of a binary validation are all of one class (a test centre
    without a positive), which no ROC curve, calibration table or decision curve is
    computed from: the unit and the key of the total its ``n_positive`` counts out of
    (``n_rows`` of lesions, rows or slices; ``n_patients`` of patients); else None.

    Examples
    --------
    >>> one_class({"n_positive": 0, "n_rows": 10, "n_patients": 10, "count_unit": "lesions"})
    {'unit': 'lesions', 'total': 'n_rows'}
    >>> one_class({"n_positive": 4, "n_patients": 10}) is None
    True
    """
    unit = v.get("count_unit") or "patients"
    total = "n_patients" if unit == "patients" else "n_rows"
    pos, n = v.get("n_positive"), v.get(total)
    if pos is None or n is None or 0 < pos < n:
        return None
    return {"unit": str(unit), "total": total}


def _years(h: float) -> str:
    """``1 year``, ``2.5 years``."""
    return f"{h:g} year{'' if h == 1 else 's'}"


def _survival_figures(o: Mapping[str, Any], v: Mapping[str, Any],
                      colours: Mapping[str, str]) -> dict[str, Any]:
    from radiomix.report import figures as F

    arms, order = o["arms"], o["arm_order"]
    curves = v.get("curves") or {}
    res = v.get("arms") or {}
    out: dict[str, Any] = {"missing": {}}
    rows = [{"label": arm_title(arms[k], k), "colour": colours[k],
             **((res[k].get("metrics") or {}).get("c_index") or {})}
            for k in order if k in res]
    rows = [r for r in rows if r.get("estimate") is not None]
    if rows:
        out["c_index"] = F.render(F.interval_figure(rows, xlabel="C-index", reference=0.5))
    km = curves.get("km")
    if km and km.get("groups"):
        col = colours.get(km.get("arm"), F.PALETTE[0])
        names = list(km["groups"])
        styles = ["--", "-", ":", "-."]
        groups = [{"label": name, "colour": col, "linestyle": styles[i % len(styles)],
                   "data": km["groups"][name]} for i, name in enumerate(names)]
        unit = km.get("time_unit") or o.get("time_unit", "")
        drawn = (f"repeat {km['repeat'] + 1} of {km['n_repeats']}"
                 if (km.get("n_repeats") or 1) > 1 and km.get("repeat") is not None else None)
        out["km"] = F.render(F.km_figure(
            groups, time_label=f"time ({unit})" if unit else "time",
            ylabel="fraction without the event", title=drawn),
            {"drawn": str(km.get("drawn") or drawn or "")})
    cal = curves.get("calibration") or {}
    horizons = {cal[k].get("horizon_years") for k in order if k in cal}
    one = len(horizons) == 1 and None not in horizons

    def title(k: str) -> str:
        h = cal[k].get("horizon_years")
        return arm_title(arms[k], k) + ("" if one or h is None else f" ({_years(h)})")

    panels = [{"title": title(k), "colour": colours[k], "cal": cal[k]} for k in order if k in cal]
    if panels:
        at = _years(next(iter(horizons))) if one else "the horizon"
        out["calibration"] = F.render(F.calibration_figure(
            panels, xlabel=f"predicted risk of the event by {at}",
            ylabel="observed risk (Kaplan–Meier)"))
    absent = [k for k in order if k in res and k not in cal]
    if absent:
        out["missing"]["calibration"] = absent
    return out


def build_figures(analysis: Mapping[str, Any], results: Path) -> dict[str, Any]:
    """Rendered figures of a document, keyed by outcome and validation index.

    Returns
    -------
    dict
        ``outcomes``: per outcome ``{"validation": [per-entry dict of Rendered and
        "missing"], "features": Rendered|None, "nomogram": Rendered|None}``; ``leakage``;
        ``qc``: data URIs of the QC thumbnails (None where the file is missing).
    """
    from radiomix.report import figures as F

    out: dict[str, Any] = {"outcomes": [], "leakage": None, "qc": []}
    for o in analysis.get("outcomes") or []:
        colours = _colour_of(o)
        per_val = []
        for v in o.get("validation") or []:
            draw = _binary_figures if o["kind"] == "binary" else _survival_figures
            try:
                per_val.append(draw(o, v, colours))
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                log.warning("figures of %s not drawn: %r", v.get("label"), exc)
                per_val.append({"missing": {}, "error": f"{type(exc).__name__}: {exc}"})
        entry: dict[str, Any] = {"validation": per_val, "features": None, "nomogram": None,
                                 "colours": colours}
        top = (o.get("top_features") or {}).get("items") or []
        if top and any(t.get("coefficient") is not None for t in top):
            entry["features"] = F.render(F.importance_figure(
                [{"label": feature_label(t.get("name"), t["column"]),
                  "value": t.get("coefficient")}
                 for t in top], xlabel="coefficient (per standard deviation)"))
        nomo = o.get("nomogram") or {}
        if nomo.get("terms") and nomo.get("link", "logit") == "logit":
            try:
                entry["nomogram"] = F.render(F.nomogram_figure(nomo))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("nomogram not drawn: %s", exc)
        out["outcomes"].append(entry)
    leak = analysis.get("leakage") or {}
    if leak.get("schemes"):
        rows = []
        for sc in leak["schemes"]:
            for side, col in (("grouped", F.PALETTE[2]), ("naive", F.PALETTE[1])):
                part = sc.get(side) or {}
                rows.append({"label": f"{sc.get('scheme', '')} · {part.get('label', side)}",
                             "colour": col, **(part.get("roc_auc") or {})})
        out["leakage"] = F.render(F.interval_figure(rows, xlabel="ROC AUC", reference=0.5))
    for item in (analysis.get("qc") or {}).get("items") or []:
        path = results / str(item.get("image", ""))
        if item.get("image") and path.is_file():
            data = path.read_bytes()
            damage = _png_damage(data)
            if damage is None:
                out["qc"].append(F.data_uri(data))
                continue
            log.warning("QC thumbnail %s cannot be read (%s); left out of the report",
                        path.name, damage)
        else:
            log.warning("QC thumbnail %s is missing; left out of the report", path)
        out["qc"].append(None)
    return out


def feature_label(name: str | None, column: str) -> str:
    """A feature's bar label: its readable name with the image tag, a filter other than
    the original image, and the aggregation from its column
    (``<tag>.<filter>.<family>.<feature>[.<aggregation>]``), so that two bars of one
    feature on two images or aggregations read apart; the column when it has no name.

    Examples
    --------
    >>> feature_label("Angular second moment", "mr_t1.original.glcm.energy.3d_merged")
    'Angular second moment (mr_t1, 3d_merged)'
    >>> feature_label(None, "ct.deep.resnet18_2p5d.f029")
    'ct.deep.resnet18_2p5d.f029'
    """
    if not name:
        return column
    parts = column.split(".")
    if len(parts) < 4:
        return name
    where = [parts[0]] + ([parts[1]] if parts[1] != "original" else []) + parts[4:5]
    return f"{name} ({', '.join(where)})"


def _png_damage(data: bytes) -> str | None:
    """Why ``data`` is no complete PNG image (cut short, another format), ``None`` when it
    decodes whole: a damaged thumbnail would be drawn half or broken under its caption."""
    from io import BytesIO

    from PIL import Image

    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "not a PNG file"
    try:
        with Image.open(BytesIO(data)) as img:
            img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return None


# --------------------------------------------------------------------------- rendering


def footnote_mark(i: int) -> str:
    """Letter mark of the ``i``-th (0-based) footnote of a table: a … z, aa, ab, …
    (letters, not digits: every digit of the report is a number of the document).

    Examples
    --------
    >>> footnote_mark(0), footnote_mark(25), footnote_mark(26)
    ('a', 'z', 'aa')
    """
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[i] if i < 26 else footnote_mark(i // 26 - 1) + letters[i % 26]


def _column(metric: str) -> int:
    """Position of a metric in the binary table (metrics it does not show come last)."""
    return BINARY_TABLE.index(metric) if metric in BINARY_TABLE else len(BINARY_TABLE)


def not_estimated(doc: Mapping[str, Any], oi: int, validations: list[int],
                  keys: list[str]) -> list[dict[str, Any]]:
    """Metrics without an estimate in the given validations, one entry per distinct reason:
    ``arms`` (their keys, in ``keys`` order), ``metrics`` (their names), ``pointer`` (to the
    first such reason), ``cells`` (pointers of the metric objects), ``mark`` (the footnote
    letter) and ``id`` (the footnote's HTML id). The table cells say "not estimable" with
    the mark; this list gives the reason, once."""
    seen: dict[str, dict[str, Any]] = {}
    for vi in validations:
        arms = doc["outcomes"][oi]["validation"][vi].get("arms") or {}
        for key in keys:
            metrics = ((arms.get(key) or {}).get("metrics") or {}).items()
            for name, m in sorted(metrics, key=lambda kv: _column(kv[0])):
                if isinstance(m, Mapping) and m.get("estimate") is None and m.get("reason"):
                    cell = pointer("outcomes", oi, "validation", vi, "arms", key, "metrics",
                                   name)
                    entry = seen.setdefault(str(m["reason"]), {
                        "arms": [], "metrics": [], "cells": [], "pointer": cell + "/reason"})
                    if key not in entry["arms"]:
                        entry["arms"].append(key)
                    if name not in entry["metrics"]:
                        entry["metrics"].append(name)
                    entry["cells"].append(cell)
    out = list(seen.values())
    tag = "-".join(str(v) for v in validations)
    for i, entry in enumerate(out):
        entry["mark"] = footnote_mark(i)
        entry["id"] = f"na-{oi}-{tag}-{entry['mark']}"
    return out


def footnote_marks(entries: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Metric pointer -> ``{"mark", "id"}`` of its footnote (:func:`not_estimated`)."""
    return {cell: {"mark": e["mark"], "id": e["id"]} for e in entries for cell in e["cells"]}


def render_html(metrics: Mapping[str, Any], figures: Mapping[str, Any], *,
                expand: bool = False) -> str:
    """Render the report template.

    Parameters
    ----------
    metrics : mapping
        ``metrics.json``.
    figures : mapping
        :func:`build_figures`.
    expand : bool
        Open every collapsible list (for printing).
    """
    import jinja2

    from radiomix.report import words

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("radiomix.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.ChainableUndefined,  # optional keys may be absent
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    try:
        return template.render(
            m=metrics, N=Numbers(metrics), p=pointer, fig=figures, expand=expand, W=words,
            BINARY_TABLE=BINARY_TABLE, COMBINED_SCHEMES=COMBINED_SCHEMES, json=json,
            not_estimated=not_estimated, footnote_marks=footnote_marks,
            run_warnings=run_warnings(metrics),
        )
    except (jinja2.UndefinedError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"analysis.json lacks a part the report draws ({exc}); re-run "
                         "`radiomix analyse` to write a complete document") from exc


def run_warnings(doc: Mapping[str, Any]) -> list[int]:
    """Indices of the document's run-wide ``warnings`` that are not copies of an arm's own
    warnings (the document lists every arm warning again, prefixed with its outcome,
    validation and arm, for readers of the JSON alone; the report lists them under their
    arm, once)."""
    copies: set[str] = set()
    for o in doc.get("outcomes") or []:
        for v in o.get("validation") or []:
            for key, a in (v.get("arms") or {}).items():
                label = ((o.get("arms") or {}).get(key) or {}).get("label", key)
                copies.update(f"{o.get('name')} · {v.get('label')} · {label}: {w}"
                              for w in a.get("warnings") or [])
    return [i for i, w in enumerate(doc.get("warnings") or []) if w not in copies]


def find_browser() -> str | None:
    """Path of a headless-capable Chromium (:data:`BROWSERS`), or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def print_pdf(html_path: str | os.PathLike[str], pdf_path: str | os.PathLike[str], *,
              browser: str | None = None, timeout: float = 300.0) -> Path:
    """Print an HTML file to PDF with headless Chromium (``--print-to-pdf``).

    Raises
    ------
    DependencyError
        No Chromium found, or it failed to write the PDF.
    """
    exe = browser or find_browser()
    if exe is None:
        raise DependencyError(
            "no Chromium found to print the PDF: install it (Debian/Ubuntu: `apt-get install "
            "chromium`) or drop --pdf"
        )
    pdf = Path(pdf_path)
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="radiomix-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-extensions", "--mute-audio",
               f"--user-data-dir={profile}", "--no-pdf-header-footer",
               "--virtual-time-budget=20000", f"--print-to-pdf={pdf.resolve()}",
               Path(html_path).resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DependencyError(f"Chromium could not print the PDF: {exc}") from None
    if not (pdf.is_file() and pdf.stat().st_size > 0):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DependencyError(f"Chromium did not write {pdf} (exit {proc.returncode}): "
                              f"{tail[0]}")
    return pdf


def write_report(
    results_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    pdf: bool = False,
) -> Path:
    """Write ``report.html`` and ``metrics.json`` (and ``report.pdf``) for a results folder.

    Parameters
    ----------
    results_dir : path
        Folder holding ``analysis.json`` (schema ``radiomix.analysis/2``) and the files it
        names (QC thumbnails).
    out_dir : path, optional
        Where to write (default: ``results_dir``).
    pdf : bool
        Also print ``report.pdf`` with headless Chromium (every collapsible list opened).

    Returns
    -------
    Path
        The written ``report.html``: self-contained (figures as base64 PNG, inline style,
        no external URL), every number taken from the written ``metrics.json``.

    Raises
    ------
    InputError
        ``analysis.json`` is missing, unreadable, of another schema or incomplete.
    DependencyError
        ``pdf=True`` and no Chromium could print it.

    Examples
    --------
    >>> path = write_report("out/analysis")  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'report.html'
    """
    results = Path(results_dir)
    analysis = read_analysis(results)
    out = Path(out_dir) if out_dir is not None else results
    if out.exists() and not out.is_dir():
        raise InputError(f"out_dir {out} is a file, not a folder: give the folder to write "
                         "report.html and metrics.json into")
    out.mkdir(parents=True, exist_ok=True)
    metrics = build_metrics(analysis)
    figures = build_figures(analysis, results)
    (out / METRICS_FILE).write_text(
        json.dumps(metrics, indent=1, allow_nan=False, ensure_ascii=False), encoding="utf-8"
    )
    path = out / REPORT_FILE
    path.write_text(render_html(metrics, figures), encoding="utf-8")
    log.info("report written to %s", path)
    if pdf:
        with tempfile.TemporaryDirectory(prefix="radiomix-print-") as tmp:
            printable = Path(tmp) / REPORT_FILE
            printable.write_text(render_html(metrics, figures, expand=True), encoding="utf-8")
            print_pdf(printable, out / PDF_FILE)
        log.info("PDF written to %s", out / PDF_FILE)
    return path
