"""Plain-language readings of the results document, with one interval rule for every claim.

Every claim of the report is judged by one interval, the same way for every statistic:

- a discrimination measure (ROC AUC, C-index, time-dependent AUC) is *better than chance*
  when its whole interval lies above 0.5;
- a difference between two arms is a *difference* when its interval excludes 0;
- a hazard ratio is an *association* when its interval excludes 1.

p-values (the paired-bootstrap p of an AUC difference, read from the replicates of its
interval so that the two always agree; the log-rank p) are shown beside the interval they
belong to, never as a second test of the same claim. A metric the scored patients cannot
support is null in the document with a ``reason``; it is said to be not estimable, with that
reason, and no reading is built from it. The functions return words only (no digits): the
numbers beside them are shown from ``metrics.json`` by the template.

An outcome, or a single validation run (a small test centre), that the engine flags
``exploratory`` (too few patients of a class, or with the event, for its intervals to hold
their stated coverage) gets no verdict anywhere: every reading function takes
``exploratory=`` (:func:`exploratory_scope`) and then returns the interval's withheld
reading (:func:`withheld`, which names what is exploratory; :data:`EXPLORATORY_WORDS`
against chance).

The headline (:func:`headlines`) picks, per outcome, the most independent validation run
(:data:`SCHEME_PREFERENCE`) and in it the best arm that is neither untrained nor the
prevalence baseline, and compares it with the reference arm and with the volume baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SCHEME_PREFERENCE: tuple[str, ...] = ("external", "holdout", "nested_cv", "internal",
                                      "training")
"""Headline validation: the first scheme of this list that the outcome ran."""
SCHEME_WORDS: dict[str, str] = {
    "external": "external validation: patients from centres the models never saw",
    "holdout": "hold-out validation: patients set aside before any fitting",
    "nested_cv": "nested patient-grouped cross-validation",
    "internal": "internal validation",
    "training": "apparent performance on the training patients, optimistic",
}


def verdict(m: Mapping[str, Any] | None, null: float) -> str | None:
    """Where an interval lies relative to ``null``: ``"above"``, ``"below"``,
    ``"includes"``, or None when there is no interval.

    Examples
    --------
    >>> verdict({"estimate": 0.7, "ci_low": 0.6, "ci_high": 0.8}, 0.5)
    'above'
    >>> verdict({"estimate": 0.55, "ci_low": 0.45, "ci_high": 0.65}, 0.5)
    'includes'
    >>> verdict({"estimate": None, "ci_low": None, "ci_high": None}, 0.5) is None
    True
    """
    if not m:
        return None
    lo, hi = m.get("ci_low"), m.get("ci_high")
    if lo is None or hi is None:
        return None
    if lo > null:
        return "above"
    if hi < null:
        return "below"
    return "includes"


def exploratory_scope(outcome: Mapping[str, Any],
                      validation: Mapping[str, Any] | None = None) -> str | None:
    """What the engine flagged exploratory: ``"outcome"`` (the outcome has too few patients
    of a class, or with the event), ``"validation"`` (only this run's scored patients are
    too few, e.g. a small test centre), or None.

    Examples
    --------
    >>> exploratory_scope({"exploratory": "y: only 3 patient(s) ..."}, {"exploratory": None})
    'outcome'
    >>> exploratory_scope({"exploratory": None}, {"exploratory": "y · External: only 5 ..."})
    'validation'
    >>> exploratory_scope({}, {}) is None
    True
    """
    if outcome.get("exploratory"):
        return "outcome"
    if validation and validation.get("exploratory"):
        return "validation"
    return None


WITHHELD: dict[str, str] = {
    "difference": "no claim of a difference is made",
    "brier": "no verdict is drawn",
    "hazard": "no claim of an association is made",
}
"""The verdict each kind of reading withholds when the outcome or run is exploratory."""


def withheld(kind: str, scope: str) -> str:
    """The reading of an interval whose verdict is withheld: ``scope`` (of
    :func:`exploratory_scope`) says what is exploratory, ``kind`` (:data:`WITHHELD`) which
    verdict is not drawn.

    Examples
    --------
    >>> withheld("difference", "validation")
    'exploratory validation: no claim of a difference is made from this interval'
    >>> withheld("brier", "outcome")
    'exploratory outcome: no verdict is drawn from this interval'
    """
    return f"exploratory {scope}: {WITHHELD[kind]} from this interval"


def precision_words(m: Mapping[str, Any] | None) -> str:
    """How wide an interval on a 0–1 scale is, in words.

    Examples
    --------
    >>> precision_words({"ci_low": 0.4, "ci_high": 0.9})
    'very uncertain (a very wide interval)'
    >>> precision_words({"ci_low": 1.0, "ci_high": 1.0})[:25]
    'no measure of precision ('
    """
    if not m or m.get("ci_low") is None or m.get("ci_high") is None:
        return "no interval available"
    width = float(m["ci_high"]) - float(m["ci_low"])
    if width <= 1e-9:  # every replicate alike: a perfect separation of a handful of patients
        return ("no measure of precision (the interval has no width: every bootstrap "
                "replicate gave the same value, as a perfect separation of a few patients does)")
    if width > 0.3:
        return "very uncertain (a very wide interval)"
    if width > 0.15:
        return "uncertain (a wide interval)"
    return "fairly precise"


def na_label(reason: Any) -> str:
    """What a table cell says for a metric without an estimate: the kind of refusal its
    ``reason`` starts with ("not estimable", "not meaningful"), else "not estimable".

    Examples
    --------
    >>> na_label("not meaningful: the prevalence arm predicts one value")
    'not meaningful'
    >>> na_label("horizon 2: only 5 patient(s) still at risk"), na_label(None)
    ('not estimable', 'not estimable')
    """
    head = str(reason or "").split(":", 1)[0].strip()
    return head if head.startswith("not ") and len(head) <= 30 else "not estimable"


def not_estimable_words(m: Mapping[str, Any] | None) -> str:
    """The reading of a metric without an estimate: "not estimable: <reason>" (the reason as
    the document gives it when it already says so).

    Examples
    --------
    >>> not_estimable_words({"estimate": None, "reason": "not estimable: 1 positive"})
    'not estimable: 1 positive'
    >>> not_estimable_words({"estimate": None, "reason": "horizon 2: 5 at risk"})
    'not estimable: horizon 2: 5 at risk'
    >>> not_estimable_words(None)
    'not estimable (no reason recorded)'
    """
    reason = str((m or {}).get("reason") or "")
    if not reason:
        return "not estimable (no reason recorded)"
    return reason if reason.startswith(na_label(reason)) else f"not estimable: {reason}"


def p_method_label(comparison: Mapping[str, Any] | None) -> str | None:
    """Short name of how a comparison's ``p_value`` was obtained, for the label beside it
    ("paired bootstrap" for the engine's patient-bootstrap p of the AUC difference); None
    when the document does not say.

    Examples
    --------
    >>> p_method_label({"p_value": 0.4, "p_method": "paired patient bootstrap of ..."})
    'paired bootstrap'
    >>> p_method_label({"p_value": 0.4}) is None
    True
    """
    method = str((comparison or {}).get("p_method") or "")
    if "bootstrap" in method:
        return "paired bootstrap"
    return None


EXPLORATORY_WORDS = ("exploratory: too few patients of one class (or with the event) for "
                     "this interval to hold its stated coverage, so no claim against chance "
                     "is made")
"""Reading of an estimate against chance in an outcome (or a run) flagged exploratory by the
engine (fewer than ``FEW_EVENTS`` patients of its smaller class or with the event): its
intervals cover less than they state, so the interval-based verdicts are withheld."""


def discrimination_words(m: Mapping[str, Any] | None, *, chance: float = 0.5,
                         exploratory: str | None = None) -> str:
    """Reading of an AUC / C-index with its interval against chance (none when
    ``exploratory``: :data:`EXPLORATORY_WORDS`).

    Examples
    --------
    >>> for part in discrimination_words({"estimate": 0.75, "ci_low": 0.6, "ci_high": 0.88}
    ...                                  ).split("; "):
    ...     print(part)
    better than chance (the whole interval lies above the chance level)
    uncertain (a wide interval)
    >>> discrimination_words({"estimate": 0.55, "ci_low": 0.4, "ci_high": 0.7})[:31]
    'not distinguishable from chance'
    """
    if not m or m.get("estimate") is None:
        return not_estimable_words(m)
    v = verdict(m, chance)
    if v is None:
        return "no interval available"
    if exploratory:
        return EXPLORATORY_WORDS
    where = {
        "above": "better than chance (the whole interval lies above the chance level)",
        "below": "worse than chance (the whole interval lies below the chance level)",
        "includes": "not distinguishable from chance (the interval includes the chance level)",
    }[v]
    return f"{where}; {precision_words(m)}"


def difference_words(m: Mapping[str, Any] | None, *, measure: str = "AUC",
                     exploratory: str | None = None) -> dict[str, str]:
    """Reading of a paired difference (this arm minus the other) by its interval (withheld
    when ``exploratory``).

    Returns ``relation`` (to be put between the two arm names) and ``why``; arm names are
    left to the template, which shows them from ``metrics.json``.

    Examples
    --------
    >>> w = difference_words({"estimate": 0.1, "ci_low": -0.05, "ci_high": 0.25})
    >>> w["relation"], w["why"]
    ('is not distinguishable in AUC from', 'the interval of the difference includes zero')
    >>> difference_words({"estimate": 0.6, "ci_low": 0.2, "ci_high": 0.9},
    ...                  exploratory="outcome")["why"][:44]
    'exploratory outcome: no claim of a differenc'
    """
    v = verdict(m, 0.0) if (m or {}).get("estimate") is not None else None
    if v is None:
        reason = str((m or {}).get("reason") or "not estimable")
        return {"relation": f"has no interval for its {measure} difference from",
                "why": reason.removeprefix("not estimable: ").rstrip(".")
                if reason != "not estimable" else reason}
    if exploratory:
        return {"relation": "is compared with", "why": withheld("difference", exploratory)}
    if v == "above":
        return {"relation": f"has a higher {measure} than",
                "why": "the whole interval of the difference lies above zero"}
    if v == "below":
        return {"relation": f"has a lower {measure} than",
                "why": "the whole interval of the difference lies below zero"}
    return {"relation": f"is not distinguishable in {measure} from",
            "why": "the interval of the difference includes zero"}


def difference_short(m: Mapping[str, Any] | None, *, exploratory: str | None = None) -> str:
    """One- or two-word reading of a paired difference for a table cell (no verdict when
    ``exploratory``: the cell shows the interval only).

    Examples
    --------
    >>> difference_short({"estimate": 0.1, "ci_low": -0.1, "ci_high": 0.3})
    'no evidence of a difference'
    >>> difference_short({"estimate": 0.6, "ci_low": 0.2, "ci_high": 0.9},
    ...                  exploratory="validation")
    'no verdict (exploratory validation)'
    """
    v = verdict(m, 0.0)
    if exploratory and v is not None:
        return f"no verdict (exploratory {exploratory})"
    return {"above": "higher", "below": "lower", "includes": "no evidence of a difference",
            None: "no interval"}[v]


def hazard_words(m: Mapping[str, Any] | None, *, high: str = "the high-risk group",
                 low: str = "the low-risk group", exploratory: str | None = None) -> str:
    """Reading of a hazard ratio (``high`` versus ``low``) by its interval against 1
    (withheld when ``exploratory``).

    Examples
    --------
    >>> hazard_words({"estimate": 2.0, "ci_low": 0.8, "ci_high": 5.0})[:23]
    'no evidence of a higher'
    """
    v = verdict(m, 1.0)
    if v is None:
        return "the hazard ratio has no interval"
    if exploratory:
        return withheld("hazard", exploratory)
    if v == "above":
        return (f"{high} had the event sooner than {low} (the whole interval of the hazard "
                "ratio lies above one)")
    if v == "below":
        return (f"{high} had the event later than {low} (the whole interval of the hazard "
                "ratio lies below one)")
    return (f"no evidence of a higher event rate in {high} than in {low} (the interval of "
            "the hazard ratio includes one)")


def logrank_note(p: float | None, hr: Mapping[str, Any] | None, *, alpha: float = 0.05,
                 exploratory: str | None = None) -> str:
    """How the log-rank p-value relates to the hazard-ratio interval (the claim's test);
    with ``exploratory`` no claim is made either way.

    Examples
    --------
    >>> logrank_note(0.01, {"estimate": 2, "ci_low": 0.9, "ci_high": 4})[:34]
    'the log-rank p-value is below the '
    """
    if p is None:
        return "no log-rank test was recorded"
    if exploratory:
        return (f"the log-rank p-value is shown for reference; with this exploratory "
                f"{exploratory} the report makes no claim about the groups")
    v = verdict(hr, 1.0)
    small = p < alpha
    if v is None:
        return ("the log-rank p-value is shown for reference; without a hazard-ratio "
                "interval this report makes no claim about the groups")
    if small and v == "includes":
        return ("the log-rank p-value is below the significance level, but the hazard-ratio "
                "interval (which carries the same uncertainty treatment as every interval "
                "in this report) includes one: the report does not claim that the groups "
                "differ")
    if not small and v != "includes":
        return ("the hazard-ratio interval excludes one while the log-rank p-value is not "
                "below the significance level; the claim rests on the interval")
    return "the log-rank p-value agrees with the hazard-ratio interval"


def brier_words(difference: Mapping[str, Any] | None, *,
                exploratory: str | None = None) -> str:
    """Verdict of a Brier score against the prevalence reference (predicting, for every
    scored row, the training prevalence of the model that scored it: the prevalence arm's
    score), read from the paired difference (arm minus reference, ``estimate``,
    ``ci_low``, ``ci_high``; ``brier_vs_reference`` of an arm).

    A verdict is given only when the whole interval of the difference lies on one side of
    0; an interval that includes 0 is no evidence either way (0.224 against 0.224 is not
    "better"), and none when ``exploratory``.

    Examples
    --------
    >>> brier_words({"estimate": 0.03, "ci_low": 0.01, "ci_high": 0.05})[:60]
    'worse than predicting the training prevalence for everyone ('
    >>> brier_words({"estimate": -0.01, "ci_low": -0.04, "ci_high": 0.02})[:35]
    'not distinguishable from predicting'
    >>> brier_words(None)
    'no paired difference from the prevalence reference'
    >>> brier_words({"estimate": -0.1, "ci_low": -0.2, "ci_high": -0.05},
    ...             exploratory="validation")
    'exploratory validation: no verdict is drawn from this interval'
    """
    d = difference or {}
    est, lo, hi = d.get("estimate"), d.get("ci_low"), d.get("ci_high")
    if est is None:
        return "no paired difference from the prevalence reference"
    if lo is None or hi is None:
        return ("no interval to compare with predicting the training prevalence for "
                "everyone")
    if exploratory:
        return withheld("brier", exploratory)
    if hi < 0.0:
        return ("better than predicting the training prevalence for everyone (the interval "
                "of the difference lies below zero)")
    if lo > 0.0:
        return ("worse than predicting the training prevalence for everyone (the interval "
                "of the difference lies above zero)")
    return ("not distinguishable from predicting the training prevalence for everyone (the "
            "interval of the difference includes zero)")


# --------------------------------------------------------------------------- headline


def _main_metric(outcome: Mapping[str, Any]) -> str:
    return "c_index" if outcome.get("kind") == "survival" else "roc_auc"


TEST_SCHEMES: tuple[str, ...] = ("external", "holdout")
"""Runs scored on patients set aside: an arm picked by its estimate there is optimistic."""


def _development_run(o: Mapping[str, Any], vi: int, order: Sequence[str], metric: str,
                     cands: Sequence[str]) -> int | None:
    """The run on the training centres only (``internal``) where the arms of an external
    validation ``vi`` can be chosen without the test centre, or None. No other run
    qualifies: nested CV and hold-out training splits include the test patients."""
    if o["validation"][vi].get("scheme") != "external":
        return None
    for i, v in enumerate(o["validation"]):
        if v.get("scheme") == "internal" and set(cands) & set(_competing(o, i, order, metric)):
            return i
    return None


def _competing(o: Mapping[str, Any], vi: int, order: Sequence[str], metric: str) -> list[str]:
    """Arms of validation ``vi`` that compete for the headline: an estimate of ``metric``,
    not built on untrained deep weights, not the prevalence arm."""
    arms = o.get("arms") or {}
    res = o["validation"][vi].get("arms") or {}
    return [k for k in order if k in res and not arms[k].get("untrained_deep")
            and not is_prevalence_arm(arms[k])
            and ((res[k].get("metrics") or {}).get(metric) or {}).get("estimate") is not None]


def unscored_reason(outcome: Mapping[str, Any], vi: int) -> str | None:
    """Why validation ``vi`` of an outcome could not be scored: the reading of the first
    reason its arms give for their headline metric (ROC AUC, C-index), when no arm that
    competes for the headline has an estimate of it; None when one has.

    Examples
    --------
    >>> o = {"kind": "binary", "arms": {"m": {"kind": "declared"}}, "arm_order": ["m"],
    ...      "validation": [{"arms": {"m": {"metrics": {"roc_auc": {
    ...          "estimate": None, "reason": "the scored rows hold 0 positive"}}}}}]}
    >>> unscored_reason(o, 0)
    'not estimable: the scored rows hold 0 positive'
    """
    arms = outcome.get("arms") or {}
    order = [k for k in outcome.get("arm_order") or list(arms) if k in arms]
    metric = _main_metric(outcome)
    if _competing(outcome, vi, order, metric):
        return None
    res = outcome["validation"][vi].get("arms") or {}
    found = [(res[k].get("metrics") or {}).get(metric) for k in order if k in res
             and not arms[k].get("untrained_deep") and not is_prevalence_arm(arms[k])]
    return not_estimable_words(next((m for m in found if (m or {}).get("reason")), None))


def _not_estimable(o: Mapping[str, Any], oi: int, vi: int, order: Sequence[str],
                   metric: str) -> list[dict[str, Any]]:
    """The arms of validation ``vi`` whose ``metric`` carries a reason, with its pointer."""
    from radiomix.report.html import pointer

    arms = o.get("arms") or {}
    res = o["validation"][vi].get("arms") or {}
    return [{"arm": k, "pointer": pointer("outcomes", oi, "validation", vi, "arms", k,
                                          "metrics", metric, "reason")}
            for k in order if k in res and not arms[k].get("untrained_deep")
            and not is_prevalence_arm(arms[k])
            and ((res[k].get("metrics") or {}).get(metric) or {}).get("reason")]


def headline_order(outcome: Mapping[str, Any]) -> list[int]:
    """Indices of the validation entries, most independent first
    (:data:`SCHEME_PREFERENCE`, then any other in document order)."""
    vals = list(outcome.get("validation") or [])
    ranked = [i for scheme in SCHEME_PREFERENCE for i, v in enumerate(vals)
              if v.get("scheme") == scheme]
    return ranked + [i for i in range(len(vals)) if i not in ranked]


def headline_validation(outcome: Mapping[str, Any]) -> int | None:
    """Index of the validation entry the headline is about (:data:`SCHEME_PREFERENCE`).

    Examples
    --------
    >>> headline_validation({"validation": [{"scheme": "training"}, {"scheme": "external"}]})
    1
    """
    vals = list(outcome.get("validation") or [])
    for scheme in SCHEME_PREFERENCE:
        for i, v in enumerate(vals):
            if v.get("scheme") == scheme:
                return i
    return 0 if vals else None


def is_volume_arm(arm: Mapping[str, Any]) -> bool:
    """A baseline arm built on tumour volume alone."""
    return arm.get("kind") == "baseline" and "volume" in (arm.get("blocks") or [])


def is_prevalence_arm(arm: Mapping[str, Any]) -> bool:
    """The prevalence baseline (no input)."""
    return arm.get("kind") == "baseline" and (arm.get("blocks") or []) in ([], ["none"])


def headlines(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The headline choices of each outcome, for the template and ``metrics.json``.

    Returns
    -------
    list of dict
        Per outcome: ``outcome`` (index), ``validation`` (index or None), ``metric``
        (``roc_auc`` / ``c_index``), ``best`` (arm key or None), ``reference`` (arm key or
        None), ``volume`` (volume-baseline key or None), ``untrained`` (keys left out),
        ``best_is_reference`` / ``best_is_volume`` (bool) and the readings ``best_words``,
        ``reference_words``, ``volume_words`` (no digits). The best arm of an external
        validation is the one with the highest estimate under internal validation (the
        training centres), ``chosen_on`` that run's index, when the document has one
        (``higher_on_judged`` then lists the arms that scored higher than it on the test
        centre itself; ``passed_over`` the arms higher under internal validation whose
        metric the test centre could not score);
        otherwise it is the highest on the run itself, and ``chosen_on_test`` says when
        that run's patients were set aside (hold-out, external) and several arms competed
        (``n_candidates``): a choice made on the test patients, so optimistic;
        ``chosen_among_cv`` says the same of a cross-validated run (choosing among arms is
        not part of the cross-validation). Only arms
        whose headline metric has an estimate compete. When none has in the most
        independent run, the next run with one is used and ``skipped`` gives the run
        passed over (``validation``, ``not_estimable``); when no run has one,
        ``not_estimable`` lists the arms whose metric carries a reason (``arm``,
        ``pointer`` to the reason). ``higher_left_out`` lists the arms left out of the
        summary (``untrained``) whose estimate is higher than the best arm's on the run the
        choice was made on, so that "no other arm did better" is said of the summary only.
        ``exploratory`` is the engine's flag of the outcome or of the run judged, and
        ``exploratory_scope`` (:func:`exploratory_scope`) says which: every verdict is
        then withheld.
    """

    out: list[dict[str, Any]] = []
    for oi, o in enumerate(doc.get("outcomes") or []):
        arms = o.get("arms") or {}
        order = [k for k in o.get("arm_order") or list(arms) if k in arms]
        vi = headline_validation(o)
        metric = _main_metric(o)
        h: dict[str, Any] = {
            "outcome": oi, "validation": vi, "metric": metric, "best": None,
            "reference": o.get("reference_arm") if o.get("reference_arm") in arms else None,
            "volume": next((k for k in order if is_volume_arm(arms[k])), None),
            "untrained": [k for k in order if arms[k].get("untrained_deep")],
            "best_is_reference": False, "best_is_volume": False,
            "best_words": "", "reference_words": None, "volume_words": None,
            "scheme_words": "", "not_estimable": [], "higher_left_out": [],
            "exploratory_scope": None,
        }
        if vi is None:
            out.append(h)
            continue
        cands = _competing(o, vi, order, metric)
        if not cands:
            # the most independent run could not be scored: the next one that could
            later = next((i for i in headline_order(o) if _competing(o, i, order, metric)),
                         None)
            if later is None:
                h["not_estimable"] = _not_estimable(o, oi, vi, order, metric)
                out.append(h)
                continue
            h["skipped"] = {"validation": vi,
                            "not_estimable": _not_estimable(o, oi, vi, order, metric)}
            vi = h["validation"] = later
            cands = _competing(o, vi, order, metric)
        val = o["validation"][vi]
        h["scheme_words"] = SCHEME_WORDS.get(val.get("scheme", ""), str(val.get("scheme")))
        vres = val.get("arms") or {}
        h["chosen_on"], h["n_candidates"], h["higher_on_judged"] = None, len(cands), []
        h["chosen_on_test"] = h["chosen_among_cv"] = False
        dev = _development_run(o, vi, order, metric, cands)
        h["passed_over"] = []
        if dev is not None:  # chosen on the training centres, judged on the test centre
            dres = o["validation"][dev]["arms"]
            on_dev = _competing(o, dev, order, metric)
            cands = [k for k in cands if k in on_dev]
            best = max(cands, key=lambda k: (dres[k]["metrics"][metric]["estimate"],
                                             -order.index(k)))
            h["chosen_on"] = dev
            # arms higher on the training centres that the test centre could not score
            top = dres[best]["metrics"][metric]["estimate"]
            h["passed_over"] = [k for k in on_dev if k not in cands
                                and dres[k]["metrics"][metric]["estimate"] > top]
            mine = vres[best]["metrics"][metric]["estimate"]
            h["higher_on_judged"] = [k for k in cands
                                     if vres[k]["metrics"][metric]["estimate"] > mine]
        else:
            best = max(cands, key=lambda k: (vres[k]["metrics"][metric]["estimate"],
                                             -order.index(k)))
            h["chosen_on_test"] = val.get("scheme") in TEST_SCHEMES and len(cands) > 1
            h["chosen_among_cv"] = (val.get("scheme") in ("nested_cv", "internal")
                                    and len(cands) > 1)
        h["best"] = best
        h["best_is_reference"] = best == h["reference"]
        h["best_is_volume"] = best == h["volume"]
        # arms left out of the summary (untrained deep weights) that scored higher on the
        # run the choice was made on: "no other arm reached a higher AUC" is not said of them
        on = o["validation"][h["chosen_on"] if h["chosen_on"] is not None else vi]["arms"]
        est = {k: ((on[k].get("metrics") or {}).get(metric) or {}).get("estimate")
               for k in h["untrained"] if k in on}
        top = on[best]["metrics"][metric]["estimate"]
        h["higher_left_out"] = [k for k, e in est.items() if e is not None and e > top]
        # the outcome's patient counts, or those of the run judged (a small test centre)
        h["exploratory"] = o.get("exploratory") or val.get("exploratory")
        h["exploratory_scope"] = exploratory_scope(o, val)
        h["best_words"] = discrimination_words(vres[best]["metrics"][metric],
                                               exploratory=h["exploratory_scope"])
        measure = "C-index" if metric == "c_index" else "AUC"
        diff_key = "c_index_difference" if metric == "c_index" else "auc_difference"
        h["difference_key"] = diff_key
        ref = h["reference"]
        best_metric = vres[best]["metrics"].get(metric)
        scored = {k: (a.get("metrics") or {}).get(metric) for k, a in vres.items()}

        vs_ref = vres[best].get("vs_reference") or {}
        h["reference_comparison"] = None
        if ref and not h["best_is_reference"] and vs_ref.get(diff_key) \
                and vs_ref.get("reference", ref) == ref:
            h["reference_comparison"] = ["vs_reference"]
            h["reference_words"] = _difference_reading(
                h, vs_ref[diff_key], best_metric, scored.get(ref), measure)
        vol = h["volume"]
        h["volume_comparison"] = None
        if vol and not h["best_is_volume"]:
            if vol == ref and h["reference_comparison"]:
                h["volume_comparison"] = ["vs_reference"]
                h["volume_words"] = h["reference_words"]
            elif ((vres[best].get("vs_arms") or {}).get(vol) or {}).get(diff_key):
                h["volume_comparison"] = ["vs_arms", vol]
                h["volume_words"] = _difference_reading(
                    h, vres[best]["vs_arms"][vol][diff_key], best_metric, scored.get(vol), measure)
        out.append(h)
    return out




def _difference_reading(h: Mapping[str, Any], diff: Mapping[str, Any],
                        arm: Mapping[str, Any] | None, other: Mapping[str, Any] | None,
                        measure: str) -> dict[str, str]:
    """The words of the headline arm's paired difference from another arm: withheld for an
    exploratory outcome or run (:func:`difference_words`), qualified when a difference
    wholly above zero is no evidence that the arm predicts (:func:`_chance_caveat`)."""
    scope = h.get("exploratory_scope")
    words = difference_words(diff, measure=measure, exploratory=scope)
    if scope or verdict(diff, 0.0) != "above":
        return words
    return _chance_caveat(words, arm, other, measure=measure)


def _chance_caveat(words: dict[str, str], arm: Mapping[str, Any] | None,
                   other: Mapping[str, Any] | None, *, measure: str) -> dict[str, str]:
    """A "higher than" reading (a difference wholly above zero) qualified when it is no
    evidence that the arm predicts.

    Beating a comparator says the arm predicts only when the comparator does not fall below
    chance itself and the arm is above chance: under no signal, cross-validated AUCs and
    C-indices of refitted models scatter below chance (the test fold's class balance moves
    against the training fold's), so an arm at chance can have a paired difference wholly
    above zero from a comparator whose interval lies below chance. The verdict on the
    difference stands; its ``why`` says what it does not show.

    Examples
    --------
    >>> w = {"relation": "has a higher AUC than", "why": "the whole interval ... above zero"}
    >>> w = _chance_caveat(w, {"estimate": 0.56, "ci_low": 0.46, "ci_high": 0.64},
    ...                    {"estimate": 0.36, "ci_low": 0.24, "ci_high": 0.47}, measure="AUC")
    >>> for part in w["why"].split("; but ")[1].replace(" and ", ", ").split(", "):
    ...     print(part)
    the other arm's AUC lies below chance (its whole interval under the chance level)
    this arm's is not distinguishable from chance
    so the difference is no evidence that this arm predicts
    """
    mine, theirs = verdict(arm, 0.5), verdict(other, 0.5)
    if mine == "above" and theirs != "below":
        return words
    parts = []
    if theirs == "below":
        parts.append(f"the other arm's {measure} lies below chance (its whole interval under "
                     "the chance level)")
    if mine != "above":
        parts.append("this arm's is not distinguishable from chance" if theirs == "below"
                     else f"this arm's {measure} is not distinguishable from chance")
    tail = ("so the difference is no evidence that this arm predicts" if mine != "above"
            else "so the difference overstates what this arm adds")
    return {**words, "why": f"{words['why']}; but {' and '.join(parts)}, {tail}"}
