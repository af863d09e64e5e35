"""Reporting checklists filled from the results document: CLEAR, METRICS and TRIPOD+AI.

Each item is marked ``filled`` (the document answers it; ``where`` names the report section)
or ``needs the user`` (only the study team can answer it; ``detail`` says what to add and
what the document already records). Nothing is claimed that the document does not hold.

- CLEAR: Kocak B et al. CheckList for EvaluAtion of Radiomics research. *Insights Imaging*
  2023;14:75 (doi:10.1186/s13244-023-01415-8). Items are given by topic; the item number
  is given where it is unambiguous.
- METRICS: Kocak B et al. METhodological RadiomICs Score. *Insights Imaging* 2024;15:8
  (doi:10.1186/s13244-023-01572-w).
- TRIPOD+AI: Collins GS et al. *BMJ* 2024;385:e078378 (doi:10.1136/bmj-2023-078378).

The item texts here are short paraphrases of the topics, not the checklists' wording; the
report cites the papers for the full items.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FILLED = "filled"
USER = "needs the user"

SECTION_NAMES: dict[str, str] = {
    "headline": "Headline", "cohort": "Cohort", "inputs": "Inputs of each arm",
    "performance": "Performance", "warnings": "Warnings", "leakage": "Leakage audit",
    "errors": "Errors", "provenance": "Provenance", "checklists": "Checklists",
    "qc": "Quality control", "features": "Top features", "nomogram": "Nomogram",
    "glossary": "Glossary",
}
"""Report sections by anchor id."""


def _schemes(doc: Mapping[str, Any]) -> set[str]:
    return {v.get("scheme") for o in doc.get("outcomes") or []
            for v in o.get("validation") or []}


def _any_outcome(doc: Mapping[str, Any], key: str) -> bool:
    return any(o.get(key) for o in doc.get("outcomes") or [])


def _arms(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [a for o in doc.get("outcomes") or [] for a in (o.get("arms") or {}).values()]


def _external_runs(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every external validation of the document: ``name`` (outcome · run label),
    ``metric`` (its headline metric), ``unscored`` (why it could not be scored, or None:
    :func:`radiomix.report.words.unscored_reason`) and
    ``exploratory`` (whether the engine flagged its outcome or the run)."""
    from radiomix.report.words import exploratory_scope, unscored_reason

    runs = []
    for o in doc.get("outcomes") or []:
        for vi, v in enumerate(o.get("validation") or []):
            if v.get("scheme") == "external":
                runs.append({"name": f"{o.get('label') or o.get('name')} · "
                                     f"{v.get('label') or 'external validation'}",
                             "metric": "C-index" if o.get("kind") == "survival"
                             else "ROC AUC",
                             "unscored": unscored_reason(o, vi),
                             "exploratory": exploratory_scope(o, v) is not None})
    return runs


def _facts(doc: Mapping[str, Any]) -> dict[str, Any]:
    study = doc.get("study") or {}
    cohort = doc.get("cohort") or {}
    outcomes = doc.get("outcomes") or []
    arms = _arms(doc)
    schemes = _schemes(doc)
    no_arm: dict[str, Any] = {}
    has_cal = any((v.get("curves") or {}).get("calibration")
                  or "calibration_slope" in next(iter((v.get("arms") or {}).values()), no_arm)
                  .get("metrics", {})
                  for o in outcomes for v in o.get("validation") or [])
    curves = [(v.get("curves") or {}) for o in outcomes for v in o.get("validation") or []]
    slope = any("calibration_slope" in (arm.get("metrics") or {})
                for o in outcomes for v in o.get("validation") or []
                for arm in (v.get("arms") or {}).values())
    return {
        "calibration_slope": slope,
        "decision": any(c.get("decision") for c in curves),
        "decision_intervals": any((c.get("decision") or {}).get("band") for c in curves),
        "versions": study.get("versions") or {},
        "settings_hash": study.get("settings_hash"),
        "features_file": study.get("features_file"),
        "n_patients": cohort.get("n_patients"),
        "flow": bool(cohort.get("flow")),
        "table1": bool((cohort.get("table1") or {}).get("rows")),
        "centres": cohort.get("centres") or {},
        "schemes": schemes,
        "external": "external" in schemes,
        "external_runs": _external_runs(doc),
        "internal": bool(schemes & {"nested_cv", "holdout", "internal"}),
        "selectors": sorted({str(a.get("selector")) for a in arms if a.get("selector")}),
        "models": sorted({str(a.get("model")) for a in arms if a.get("model")}),
        "tuned": any(a.get("grid") for a in arms),
        "baselines": any(a.get("kind") == "baseline" for a in arms),
        "volume": any(a.get("kind") == "baseline" and "volume" in (a.get("blocks") or [])
                      for a in arms),
        "reference": any(o.get("reference_arm") for o in outcomes),
        "deep": any("deep" in (a.get("blocks") or []) for a in arms),
        "untrained": any(a.get("untrained_deep") for a in arms),
        "calibration": has_cal,
        "leakage": bool(doc.get("leakage")),
        "errors": doc.get("errors") is not None,
        "artefacts": sorted((doc.get("artefacts") or {}).values()),
        "qc": bool(doc.get("qc")),
        "top_features": _any_outcome(doc, "top_features"),
        "nomogram": _any_outcome(doc, "nomogram"),
        "outcome_defs": [o.get("label") for o in outcomes],
        "roles": doc.get("roles") or {},
        "threshold": any(o.get("threshold") for o in outcomes),
        "survival": any(o.get("kind") == "survival" for o in outcomes),
        "binary": any(o.get("kind") == "binary" for o in outcomes),
        "missing": _missing_text(cohort),
    }


def _compared_measure(f: Mapping[str, Any]) -> str:
    """The measure arms are compared by: the ROC AUC (binary), the C-index (survival).

    Examples
    --------
    >>> _compared_measure({"binary": True, "survival": True})
    'ROC AUC (binary outcomes) or C-index (survival outcomes)'
    >>> _compared_measure({"binary": False, "survival": True})
    'C-index'
    """
    if f.get("binary") and f.get("survival"):
        return "ROC AUC (binary outcomes) or C-index (survival outcomes)"
    return "C-index" if f.get("survival") else "ROC AUC"


def _calibration_text(f: Mapping[str, Any]) -> str:
    """What the calibration items can claim: the intercept and slope of binary outcomes only
    (a survival outcome's calibration is predicted against Kaplan-Meier observed risk by
    group at a horizon)."""
    if f["calibration_slope"]:
        return ("Calibration intercept and slope, calibration curves with intervals"
                + (" (survival: predicted against Kaplan-Meier observed risk by group at "
                   "the first horizon not refused)." if f["survival"] else "."))
    return ("Calibration curves with intervals: predicted against Kaplan-Meier observed risk "
            "by group at the first horizon not refused (no intercept or slope is computed "
            "for a survival outcome).")


def _external_item(f: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether external testing is answered, and in what words: only when every external
    run could be scored (a test centre of one class has no AUC: the run is reported but
    tests nothing), with the runs flagged exploratory named."""
    runs = f["external_runs"]
    if not f["external"]:
        return False, ("No external test set: test the frozen model on patients from another "
                       "centre before any clinical claim.")
    unscored = [r for r in runs if r["unscored"]]
    if unscored:
        why = "; ".join(f"{r['name']}: the {r['metric']} is {r['unscored']}"
                        for r in unscored)
        return False, (f"External validation was run but could not be scored ({why}): test "
                       "the frozen model on patients from another centre that the metrics "
                       "can score before any clinical claim.")
    text = "External validation on patients from other centres is reported."
    few = [r["name"] for r in runs if r["exploratory"]]
    if few:
        text += (" Exploratory (too few scored patients of a class, or with the event, for "
                 "the intervals to hold their coverage; no verdict is drawn): "
                 + "; ".join(few) + ".")
    return True, text


def _performance_text(f: Mapping[str, Any]) -> str:
    """What the performance item can claim: intervals only where the document has them."""
    text = "Discrimination with intervals"
    if f["calibration"]:
        text += ", calibration curves with intervals"
    if f["decision"]:
        text += (", decision curves with intervals" if f["decision_intervals"] else
                 ", decision curves (net benefit, drawn without intervals)")
    return text + "; add subgroup results."


def _missing_text(cohort: Mapping[str, Any]) -> str:
    """What was done with missing data: failed cases excluded, and the imputed columns with
    their counts and method (``cohort.imputation``; older documents: ``missing_imputed``),
    "no imputation" only when nothing was imputed."""
    imp = cohort.get("imputation") or {}
    cols = imp.get("columns") if imp else cohort.get("missing_imputed")
    failed = "Failed cases are listed and excluded (never imputed)."
    if not cols:
        return f"{failed} No model input had a missing value: no imputation."
    if imp.get("text"):
        return f"{failed} {imp['text']}"
    listed = ", ".join(f"{k} ({n} cell{'s' if n != 1 else ''})" for k, n in cols.items())
    return (f"{failed} Missing values imputed inside the training folds (method not "
            f"recorded in this document): {listed}.")


def _item(item: str | None, topic: str, filled: bool, where: str, detail: str) -> dict[str, Any]:
    return {"item": item, "topic": topic, "status": FILLED if filled else USER,
            "where": where, "where_label": SECTION_NAMES.get(where, where), "detail": detail}


def clear_items(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """CLEAR items (Kocak et al. 2023) the document answers, and those it cannot."""
    f = _facts(doc)
    ver = ", ".join(f"{k} {v}" for k, v in sorted(f["versions"].items())) or "not recorded"
    filled, text = _external_item(f)
    external = (filled, "performance", text)
    return [
        _item("7", "Adherence to reporting guidelines", True, "checklists",
              "This report fills CLEAR, METRICS and TRIPOD+AI from the results document."),
        _item("8", "Ethics approval, consent, data protection", False, "provenance",
              "Add the approving body, the consent procedure and how data were de-identified."),
        _item("9", "Sample size", False, "cohort",
              "The cohort section gives the patients and events analysed; justify the sample "
              "size (calculation or availability)."),
        _item("10", "Study nature (retrospective / prospective)", False, "cohort",
              "State the design; give the registration for a prospective study."),
        _item("11", "Eligibility criteria", False, "cohort",
              "The cohort flow gives the numbers at each step; state the inclusion and "
              "exclusion criteria and how patients were selected."),
        _item("12", "Flowchart of the pipeline and cohort", f["flow"], "cohort",
              "Cohort flow from the manifest to the patients analysed." if f["flow"]
              else "No cohort flow in the document: add one."),
        _item("13", "Data source", False, "provenance",
              "The input files and their hashes are recorded; state whether the data are "
              "public, institutional or mixed, and which source feeds which partition."),
        _item(None, "Imaging protocol and acquisition", False, "provenance",
              "Add scanner, acquisition and reconstruction parameters per modality."),
        _item(None, "Segmentation method, readers and agreement", False, "qc",
              "Add who segmented, how (manual / semi-automatic / automatic) and the "
              "inter-reader agreement." + (" QC thumbnails are shown." if f["qc"] else "")),
        _item(None, "Image pre-processing and feature-extraction settings",
              bool(f["settings_hash"]), "provenance",
              f"Settings hash {f['settings_hash']} recorded with the features file "
              f"{f['features_file']}." if f["settings_hash"]
              else "No settings hash in the document: add the processing settings."),
        _item(None, "Feature-extraction software and version", bool(f["versions"]),
              "provenance", f"Software versions: {ver}."),
        _item(None, "Feature reduction and selection (inside the training data)",
              bool(f["selectors"]), "inputs",
              ("Selection per arm, fitted inside each training fold: "
               + "; ".join(f["selectors"]) + ".") if f["selectors"]
              else "No selection step recorded."),
        _item(None, "Model algorithms and hyper-parameter tuning", bool(f["models"]), "inputs",
              "Models: " + "; ".join(f["models"]) + (
                  ". Hyper-parameter grids and the values chosen per fold are listed."
                  if f["tuned"] else ".")),
        _item(None, "Data partitioning and validation", bool(f["schemes"]), "performance",
              "Validation schemes run: " + ", ".join(sorted(s for s in f["schemes"] if s))
              + "; splits are by patient."),
        _item(None, "External testing", *external),
        _item(None, "Performance metrics with uncertainty", True, "performance",
              "Every metric is given with a 95 % patient-bootstrap interval; cross-"
              "validated intervals are widened (see the glossary)."),
        _item(None, "Calibration", f["calibration"], "performance",
              _calibration_text(f) if f["calibration"] else "No calibration recorded."),
        _item(None, "Comparison with clinical / simple baselines",
              f["reference"] or f["baselines"], "headline",
              "Arms are compared with the reference arm"
              + (" and with tumour volume alone" if f["volume"] else "") + "."
              if f["reference"] or f["baselines"] else "No baseline arm: add a clinical "
              "and a volume baseline."),
        _item(None, "Failed cases and missing data", f["errors"], "errors", f["missing"]),
        _item(None, "Availability of code, settings and model", False, "provenance",
              "radiomix is open source and the run's files are listed ("
              + (", ".join(f["artefacts"]) or "none") + "); state where data, code and the "
              "model are shared."),
    ]


def metrics_items(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """METRICS items (Kocak et al. 2024), numbered as in the published score."""
    f = _facts(doc)
    n_centres = len(f["centres"])
    filled, text = _external_item(f)
    external = (filled, "performance", text)
    return [
        _item("1", "Adherence to radiomics / ML checklists", True, "checklists",
              "CLEAR, METRICS and TRIPOD+AI are filled in this report."),
        _item("2", "Eligibility criteria", False, "cohort",
              "State the criteria; the cohort flow gives the numbers."),
        _item("3", "High-quality reference standard", False, "cohort",
              "Describe how the outcome was established: "
              + "; ".join(str(x) for x in f["outcome_defs"] if x) + "."),
        _item("4", "Multi-centre data", n_centres > 1, "cohort",
              "Patients come from several centres (see the cohort section)." if n_centres > 1
              else "One centre or centres not recorded."),
        _item("5", "Clinical translatability of the imaging source", False, "provenance",
              "State whether the images come from routine clinical scanners."),
        _item("6", "Imaging protocol", False, "provenance", "Add acquisition parameters."),
        _item("7", "Time between imaging and reference standard", False, "cohort",
              "State the interval between imaging and outcome assessment."),
        _item("8", "Segmentation method", False, "qc", "Describe the segmentation."),
        _item("9", "Evaluation of automated segmentation", False, "qc",
              "If segmentation was automatic, report its evaluation."),
        _item("10", "Test-set segmentation reflecting clinical practice", False, "qc",
              "State who segmented the test cases."),
        _item("11", "Appropriate image pre-processing", bool(f["settings_hash"]),
              "provenance", "Processing settings are recorded by their hash."),
        _item("12", "Standardised feature-extraction software", bool(f["versions"]),
              "provenance", "radiomix (IBSI feature definitions) with recorded versions."),
        _item("13", "Extraction parameters reported", bool(f["settings_hash"]), "provenance",
              "Settings hash and features file recorded."),
        _item("14", "Removal of non-robust features", False, "inputs",
              "No test-retest or perturbation analysis in this document: add one or state "
              "why not."),
        _item("15", "Removal of redundant features", bool(f["selectors"]), "inputs",
              "Selection steps per arm: " + ("; ".join(f["selectors"]) or "none") + "."),
        _item("16", "Dimensionality appropriate to the data size", bool(f["selectors"]),
              "inputs", "Input columns per arm are listed; events-per-variable warnings are "
              "in the warnings section."),
        _item("17", "Robustness of an end-to-end deep-learning pipeline", False, "inputs",
              "Not applicable unless an end-to-end network is trained."
              + (" Deep arms use untrained weights here." if f["untrained"] else "")),
        _item("18", "Proper data partitioning", bool(f["schemes"]), "performance",
              "Patient-grouped splits; see each validation's description."),
        _item("19", "Handling of confounding factors", False, "cohort",
              "Table 1 compares patient characteristics by outcome; discuss confounders."
              if f["table1"] else "Discuss confounders."),
        _item("20", "Appropriate performance metrics", True, "performance",
              "Discrimination, classification at a named threshold, Brier score with the "
              "training-prevalence reference" + (", C-index and time-dependent AUC" if f["survival"]
                                         else "") + "."),
        _item("21", "Uncertainty of the estimates", True, "performance",
              "95 % patient-bootstrap intervals for every metric the scored patients "
              "support; the others are reported as not estimable, with the reason."),
        _item("22", "Calibration assessment", f["calibration"], "performance",
              _calibration_text(f) if f["calibration"]
              else "Not recorded."),
        _item("23", "Uni-parametric imaging or proof of its inferiority", False,
              "performance", "Compare single-modality arms with the multi-modality one."),
        _item("24", "Comparison with a non-radiomic approach", f["reference"], "headline",
              "Each arm is compared with the reference arm (paired patient-bootstrap "
              f"interval of the {_compared_measure(f)} difference, with its p-value)."
              if f["reference"] else "No reference arm."),
        _item("25", "Comparison with simple or classical models", f["baselines"], "headline",
              "Baseline arms (e.g. volume, clinical) are reported." if f["baselines"]
              else "No baseline arm."),
        _item("26", "Internal testing", f["internal"], "performance",
              "Internal validation by patient-grouped splits." if f["internal"]
              else "No internal validation recorded."),
        _item("27", "External testing", *external),
        _item("28", "Data availability", False, "provenance", "State where data are shared."),
        _item("29", "Code availability", False, "provenance",
              "radiomix is open source; share the study file and the settings."),
        _item("30", "Model availability", False, "provenance",
              "The fitted model file is listed with the artefacts; state where it is shared."),
    ]


def tripod_items(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """TRIPOD+AI items (Collins et al. 2024) the document answers, and those it cannot."""
    f = _facts(doc)
    roles = f["roles"]
    n_cov = len(roles.get("covariates") or [])
    return [
        _item("1", "Title", False, "headline", "Write a title naming the prediction model, "
              "the target population and the outcome."),
        _item("2", "Abstract", False, "headline", "Write a structured abstract; the headline "
              "gives the main result in words."),
        _item("3", "Background and target population", False, "headline",
              "Describe the clinical context and the intended use."),
        _item("4", "Objectives", False, "headline", "State development and/or evaluation."),
        _item("5", "Data sources and dates", False, "provenance",
              "Input files are recorded; add the sources and accrual dates."),
        _item("6", "Setting, eligibility, treatments", False, "cohort",
              "The cohort flow gives the numbers; add setting and criteria."),
        _item("7", "Data preparation", bool(f["settings_hash"]), "provenance",
              "Processing settings (hash) and per-arm inputs are recorded."),
        _item("8", "Outcome definition", bool(f["outcome_defs"]), "performance",
              "Outcome(s): " + "; ".join(str(x) for x in f["outcome_defs"] if x)
              + ". Add how and when it was assessed, and blinding."),
        _item("9", "Predictors", True, "inputs",
              f"Exact input columns of every arm are listed; {n_cov} declared covariate(s)."),
        _item("10", "Sample size", False, "cohort", "Justify the sample size."),
        _item("11", "Missing data", f["errors"], "errors", f["missing"]),
        _item("12", "Analytical methods", bool(f["models"]), "inputs",
              "Models, selection, tuning grids and validation are recorded per arm."),
        _item("13", "Class imbalance", False, "performance",
              "State whether any re-balancing was used (none is applied by radiomix)."),
        _item("14", "Fairness", False, "cohort", "Describe performance across subgroups."),
        _item("15", "Model output", f["threshold"] or f["survival"], "performance",
              "Predicted probabilities (risk scores for survival); the classification "
              "threshold rule is named in the performance section."),
        _item("16", "Training versus evaluation data", bool(f["schemes"]), "performance",
              "Each validation states which patients trained and which scored the models."),
        _item("17", "Ethical approval", False, "provenance", "Add the ethics statement."),
        _item("18", "Open science (funding, protocol, registration, data and code)", False,
              "provenance", "Add funding, conflicts, protocol, registration and sharing."),
        _item("19", "Patient and public involvement", False, "provenance",
              "Describe any involvement."),
        _item("20", "Participants (flow and characteristics)", f["flow"] and f["table1"],
              "cohort", "Cohort flow and Table 1 by outcome." if f["flow"] and f["table1"]
              else "Add the flow and the patient characteristics."),
        _item("21", "Model development (participants and events per analysis)",
              bool(f["schemes"]), "performance",
              "Patients and events of every validation are given."),
        _item("22", "Model specification", f["nomogram"], "nomogram",
              "The nomogram gives every term." if f["nomogram"] else
              "The fitted model file is listed; publish the full specification."),
        _item("23", "Model performance (with intervals, subgroups)", True, "performance",
              _performance_text(f)),
        _item("24", "Model updating", False, "performance", "Describe any updating."),
        _item("25", "Interpretation", False, "headline", "Discuss the results."),
        _item("26", "Limitations", False, "warnings",
              "The warnings section lists what the engine flagged; discuss limitations."),
        _item("27", "Usability in clinical practice", False, "headline",
              "Describe how the model would be used and what is needed before use."),
    ]


def build_checklists(doc: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The three checklists of a results document.

    Parameters
    ----------
    doc : mapping
        The results document (schema ``radiomix.analysis/2``).

    Returns
    -------
    dict
        ``{"CLEAR": [...], "METRICS": [...], "TRIPOD+AI": [...]}``; each item has ``item``
        (number or None), ``topic``, ``status`` (:data:`FILLED` / :data:`USER`), ``where``
        (section anchor), ``where_label`` and ``detail``.

    Examples
    --------
    >>> lists = build_checklists({})
    >>> sorted(lists), {i["status"] for i in lists["METRICS"]} == {FILLED, USER}
    (['CLEAR', 'METRICS', 'TRIPOD+AI'], True)
    """
    anchors = section_anchors(doc)
    lists = {"CLEAR": clear_items(doc), "METRICS": metrics_items(doc),
             "TRIPOD+AI": tripod_items(doc)}
    for items in lists.values():
        for it in items:
            it["where"], it["where_label"] = anchors.get(it["where"], (it["where"],
                                                                        it["where_label"]))
    return lists


def section_anchors(doc: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Where each topic is answered in this report: (anchor id, section name). Sections
    that exist only with optional keys fall back to the nearest section that exists."""
    outcomes = doc.get("outcomes") or []
    first = ("outcome-0", f"{outcomes[0].get('label', 'Outcome')}: performance") \
        if outcomes else ("headline", "Headline")
    nomo = next((i for i, o in enumerate(outcomes) if o.get("nomogram")), None)
    feat = next((i for i, o in enumerate(outcomes) if o.get("top_features")), None)
    return {
        "performance": first,
        "nomogram": (f"outcome-{nomo}-nomogram", "Nomogram") if nomo is not None
        else ("inputs", SECTION_NAMES["inputs"]),
        "features": (f"outcome-{feat}-features", "Top features") if feat is not None
        else ("inputs", SECTION_NAMES["inputs"]),
        "qc": ("qc", SECTION_NAMES["qc"]) if doc.get("qc")
        else ("cohort", SECTION_NAMES["cohort"]),
    }
