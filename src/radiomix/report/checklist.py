"""Reporting checklist: the CLEAR and METRICS items the pipeline can fill, and the rest.

CLEAR (Kocak et al., *Insights into Imaging* 2023;14:75) is a reporting checklist for
radiomics studies; METRICS (Kocak et al., *Insights into Imaging* 2024;15:8) scores their
methodological quality. Many of their items are facts the pipeline knows (inputs,
processing settings, software versions, IBSI compliance, selection, data partitioning,
tuning, uncertainty, calibration, clinical baseline, code and settings). Others only the
user can supply (ethics approval, prospective registration, an external test cohort, the
acquisition protocol, segmentation reliability). The report lists both, so nothing is
claimed that the pipeline did not do.

Items are grouped by topic rather than by item number: the two lists number their items
differently, and a topic often covers several items of each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FILLED = "filled by radiomix"
PARTLY = "partly filled: complete it"
USER = "to be supplied by the user"


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _get(doc: Mapping[str, Any], *keys: Any, default: Any = None) -> Any:
    cur: Any = doc
    for k in keys:
        in_map = isinstance(cur, Mapping) and k in cur
        in_list = isinstance(cur, list) and isinstance(k, int) and -len(cur) <= k < len(cur)
        if in_map or in_list:
            cur = cur[k]
        else:
            return default
    return cur


def build_checklist(m: Mapping[str, Any]) -> list[dict[str, str]]:
    """Checklist items from the analysis results.

    Parameters
    ----------
    m : mapping
        The analysis document (``analysis.json`` of a results folder).

    Returns
    -------
    list of dict
        ``topic``, ``status`` (:data:`FILLED`, :data:`PARTLY` or :data:`USER`) and
        ``detail`` (what the pipeline recorded, or what the user must add).

    Examples
    --------
    >>> items = build_checklist({})
    >>> sorted({i["status"] for i in items}) == sorted({FILLED, PARTLY, USER})
    True
    """
    tags = _get(m, "cohort", "tags", default=[]) or []
    mods = _get(m, "cohort", "modalities", default={}) or {}
    settings = _get(m, "settings", "tags", default={}) or {}
    deep = _get(m, "settings", "deep", default={}) or {}
    ev = _get(m, "evaluation", default={}) or {}
    arms = _get(m, "arms", default={}) or {}
    ibsi = _get(m, "ibsi", default={}) or {}
    leak = _get(m, "leakage", default={}) or {}
    items: list[dict[str, str]] = []

    def add(topic: str, status: str, detail: str) -> None:
        items.append({"topic": topic, "status": status, "detail": detail})

    inputs = ", ".join(mods.get(t, t) for t in tags) or "not recorded"
    add(
        "Imaging data and segmentation inputs",
        PARTLY,
        f"Images: {inputs}; one gross-tumour-volume mask per image, as supplied with the "
        f"data set ({_get(m, 'cohort', 'source', default='source not recorded')}). "
        "Add the acquisition protocols (scanner, reconstruction, contrast) and who "
        "segmented the tumours, how, and with what inter-observer agreement.",
    )
    proc = []
    for tag, s in settings.items():
        part = (
            f"{tag}: {s.get('dimensionality', '?')}, interpolation to "
            f"{s.get('spacing_mm', '?')} mm ({s.get('interpolation_method', '?')}), "
            f"re-segmentation {s.get('resegmentation', 'none')}, discretisation "
            f"{s.get('discretisation', '?')}"
        )
        proc.append(part)
    add(
        "Pre-processing and discretisation settings",
        FILLED,
        "; ".join(proc) + " (full settings and their hash in the provenance section)."
        if proc else "not recorded",
    )
    add(
        "Feature extraction software and version",
        FILLED,
        f"radiomix {_get(m, 'provenance', 'radiomix_version', default='?')} (IBSI feature "
        f"definitions); deep features: {deep.get('model', 'none')} "
        f"({deep.get('weights_label', 'weights not recorded')}), torch "
        f"{_get(m, 'provenance', 'versions', 'torch', default='?')}.",
    )
    if ibsi.get("total"):
        detail = (
            f"IBSI 1 reference values reproduced in this run: {ibsi.get('matched')} of "
            f"{ibsi.get('total')} (digital phantom and CT phantom, configurations A–E). "
            "Every radiomic feature is reported with its IBSI identifier."
        )
    else:
        detail = ("The IBSI reference check was not run; run 'radiomix ibsi-check'. Every "
                  "radiomic feature is reported with its IBSI identifier.")
    add("IBSI compliance", FILLED if ibsi.get("total") else PARTLY, detail)
    sel = sorted({a.get("selection", "") for a in arms.values() if a.get("selection")})
    add(
        "Feature reduction and selection",
        FILLED,
        "Inside the training folds only: " + "; ".join(sel) + "." if sel else "none",
    )
    add(
        "Data partitioning (patient level)",
        FILLED,
        f"{ev.get('scheme', 'not recorded')}; folds are split by patient, so no patient "
        "contributes to both training and testing. The leakage audit shows what a "
        "row-level split would have reported.",
    )
    models = "; ".join(f"{a.get('label')}: {a.get('model')} (tuned: {a.get('tuning')})"
                       for a in arms.values())
    add("Models and hyper-parameter tuning", FILLED,
        (models + ". Tuning uses the inner folds only; the outer folds only score.")
        if models else "not recorded")
    add(
        "Uncertainty of the performance estimates",
        FILLED,
        f"Percentile confidence intervals from {ev.get('n_bootstrap', '?')} bootstrap "
        "replicates that resample patients, widened by √2 for cross-validated estimates "
        "(the bootstrap of out-of-fold predictions misses each label's role in training).",
    )
    add("Calibration", FILLED,
        "Calibration intercept and slope with intervals, calibration plot, Brier score, "
        "decision curves.")
    add(
        "Comparison with a clinical baseline",
        FILLED,
        "Every arm is compared with the clinical model (age, sex, grade) by DeLong's test "
        "on the same out-of-fold predictions; a clinical + rad-score nomogram is reported.",
    )
    add(
        "Slice-level leakage check",
        FILLED if leak else PARTLY,
        "Leakage audit on slice-level deep features: patient-grouped versus naive "
        "row-level split, side by side." if leak else "not run",
    )
    add(
        "Availability of code, settings and model",
        FILLED,
        "radiomix is open source; the study file, manifest, resolved settings, their hashes, "
        "the fitted models (model.joblib) and out-of-fold predictions are saved beside "
        "this report.",
    )
    add("Deep-learning weights", FILLED if not deep.get("random_weights") else PARTLY,
        f"{deep.get('weights_label', 'not recorded')}" + (
            " Random weights carry no learned image knowledge: provide the ImageNet file "
            "for a meaningful deep arm." if deep.get("random_weights") else ""))
    add("Ethics approval and consent", USER,
        "State the approving body and the consent procedure (public TCIA data were used "
        "for this demo).")
    add("Prospective registration", USER,
        "State whether and where the study protocol was registered before analysis.")
    add(
        "External test cohort",
        USER,
        "This analysis is an internal (cross-validated) validation on one centre. Test the "
        "frozen model on patients from another centre (the manifest's centre column) "
        "before any clinical claim.",
    )
    add("Sample size and events per variable", PARTLY,
        f"{_get(m, 'cohort', 'n_patients', default='?')} patients, "
        f"{_get(m, 'cohort', 'n_events', default='?')} events: far too few for a "
        "definitive model. Justify the sample size for your own study.")
    return items
