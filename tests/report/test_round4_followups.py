"""The report follows the round-4 document: bootstrap p-values instead of DeLong's test,
not-estimable metrics with their reason, counts in their unit, the leakage audit not
declared, the Brier reference. Each test fails on the report before these changes."""

from __future__ import annotations

from report_checks import page_text, render_checked
from synthetic import classification_document, survival_document

P_METHOD = ("paired patient bootstrap of the AUC difference (the replicates of its interval); "
            "two-sided, the smallest level at which that interval excludes 0, with the "
            "interval's cross-validation widening (x1.4142)")
AUC_REASON = ("not estimable: the scored rows hold 1 positive and 14 negative patient(s); "
              "roc_auc needs at least 2 of each")


_text = page_text


def _render(tmp_path, doc):
    page, metrics = render_checked(tmp_path, doc)
    return page, _text(page), metrics


def _bootstrap_comparisons(doc):
    """The round-4 engine's comparisons: p_value / p_method, DeLong null."""
    for v in doc["outcomes"][0]["validation"]:
        for a in v["arms"].values():
            for c in [a.get("vs_reference"), *(a.get("vs_arms") or {}).values()]:
                if c:
                    c.update(p_value=0.4123, p_method=P_METHOD, delong_p=None, delong_z=None)
    return doc


def test_comparisons_show_the_bootstrap_p_and_no_report_text_claims_delong(tmp_path):
    page, text, metrics = _render(tmp_path, _bootstrap_comparisons(classification_document()))
    assert "delong" not in page.lower()
    assert "delong" not in metrics["glossary"]
    assert "p = 0.412 (paired bootstrap, consistent with the interval)" in text
    glossary = metrics["glossary"]["p_value"]["meaning"]
    assert "same paired patient-bootstrap replicates" in glossary
    assert "p < 0.05 exactly when the 95 % interval excludes zero" in glossary


def test_headline_p_value_is_labelled(tmp_path):
    doc = _bootstrap_comparisons(classification_document())
    _, text, metrics = _render(tmp_path, doc)
    h = metrics["headline"][0]
    assert h["reference_comparison"] == ["vs_reference"]
    headline = text.split(" Headline ", 1)[1].split(" Cohort ", 1)[0]
    assert "p = 0.412 (paired bootstrap, consistent with the interval)" in headline


def test_null_metric_cells_say_not_estimable_with_the_reason(tmp_path):
    doc = classification_document()
    arms = doc["outcomes"][0]["validation"][0]["arms"]
    arms["radiomics"]["metrics"]["roc_auc"] = {"estimate": None, "ci_low": None,
                                               "ci_high": None, "reason": AUC_REASON}
    page, text, _ = _render(tmp_path, doc)
    table = page.split('class="perf"', 1)[1].split("</table>", 1)[0]
    assert "n/a" not in _text(table)
    assert 'data-not-estimable="/outcomes/0/validation/0/arms/radiomics/metrics/roc_auc"' \
        in table
    assert "not estimable" in _text(table)
    assert f"(ROC AUC): {AUC_REASON}" in text  # the footnote the cell's mark points to


def test_no_headline_verdict_is_built_from_a_null(tmp_path):
    doc = _bootstrap_comparisons(classification_document())
    val = doc["outcomes"][0]["validation"][0]
    for a in val["arms"].values():
        a["metrics"]["roc_auc"] = {"estimate": None, "ci_low": None, "ci_high": None,
                                   "reason": AUC_REASON}
    _, text, _ = _render(tmp_path, doc)
    headline = text.split(" Headline ", 1)[1].split(" Cohort ", 1)[0]
    assert "better than chance (the whole interval" not in headline
    assert "n/a" not in headline
    assert "the ROC AUC is not estimable" in headline
    assert AUC_REASON.removeprefix("not estimable: ") in headline


def test_a_comparison_without_an_estimate_is_not_estimable_in_the_headline(tmp_path):
    doc = _bootstrap_comparisons(classification_document())
    why = "not estimable: the AUC difference was undefined in 40% of the replicates"
    for a in doc["outcomes"][0]["validation"][0]["arms"].values():
        if a.get("vs_reference"):
            a["vs_reference"].update(p_value=None, p_method=None, reason=why)
            a["vs_reference"]["auc_difference"] = {"estimate": None, "ci_low": None,
                                                   "ci_high": None, "reason": why}
    _, text, _ = _render(tmp_path, doc)
    headline = text.split(" Headline ", 1)[1].split(" Cohort ", 1)[0]
    assert "n/a" not in headline
    assert "could not be compared with the reference arm" in headline
    assert why in headline


def test_survival_td_auc_of_a_not_estimable_arm_gives_each_horizon_its_reason(tmp_path):
    doc = survival_document()
    o = doc["outcomes"][0]
    v = o["validation"][0]
    first = o["arm_order"][0]
    why = "not estimable: every fold failed to fit"
    v["arms"][first]["metrics"]["c_index"] = {"estimate": None, "ci_low": None,
                                              "ci_high": None, "reason": why}
    horizons = [t["horizon_years"] for t in v["arms"][o["arm_order"][1]]["td_auc"]]
    v["arms"][first]["td_auc"] = [{"horizon_years": h, "estimate": None, "ci_low": None,
                                   "ci_high": None, "n_at_risk": None, "reason": why}
                                  for h in horizons]
    second = v["arms"][o["arm_order"][1]]["td_auc"]
    second[0] = {**second[0], "estimate": None, "ci_low": None, "ci_high": None,
                 "reason": "horizon 1: only 9 patient(s) still at risk"}
    page, text, _ = _render(tmp_path, doc)
    table = _text(page.split('class="perf"', 1)[1].split("</table>", 1)[0])
    assert "n/a" not in table
    assert table.count("AUC at") == len(horizons)
    assert "not estimable: horizon 1: only 9 patient(s) still at risk" in table
    # every horizon of the failed arm, inline, and the arm's reading of its C-index
    assert table.count(why) == len(horizons) + 1
    assert f"(C-index): {why}" in text


def test_population_counts_state_their_unit(tmp_path):
    doc = classification_document()
    o = doc["outcomes"][0]
    o.update(n_patients=51, n_rows=71, n_positive=28, n_negative=43, prevalence=28 / 71,
             count_unit="lesions", n_positive_patients=19, n_negative_patients=32)
    v = o["validation"][0]
    v.update(n_patients=51, n_rows=71, n_positive=28, n_positive_patients=19,
             n_negative_patients=32, count_unit="lesions", level="row")
    _, text, _ = _render(tmp_path, doc)
    assert ("28 of 71 lesions (prevalence 39.4 % of lesions; 19 of 51 patients)" in text)
    assert "28 of 51 patients" not in text
    assert "Scored: 51 patients (71 lesions); positive: 28 of 71 lesions (19 of 51 " \
           "patients)" in text
    # at patient level (count_unit "patients") the counts are patients only
    o.update(n_positive=19, n_negative=32, prevalence=19 / 51, count_unit="patients")
    v.update(n_positive=19, count_unit="patients", level="patient")
    _, text, _ = _render(tmp_path / "patient", doc)
    assert "19 of 51 patients (prevalence 37.3 %)" in text
    assert "lesions" not in text.split("Positive class", 1)[1][:120]


def test_leakage_audit_not_declared_on_a_multi_row_cohort(tmp_path):
    doc = classification_document()
    doc["cohort"].update(n_rows=71, n_patients=51)
    doc["leakage"] = None
    _, text, _ = _render(tmp_path, doc)
    leak = text.split(" Leakage audit ", 2)[-1][:400]
    assert "Not run: no leakage_audit declared" in leak
    assert "it applies to analyses with several rows per patient" not in leak


def test_brier_reference_is_the_training_prevalence_of_the_scoring_model(tmp_path):
    _, text, metrics = _render(tmp_path, classification_document())
    meaning = metrics["glossary"]["brier"]["meaning"]
    assert "training prevalence of the model that scored each row" in meaning
    assert "training prevalence of the model that scored each row" in text


def test_the_brier_verdict_reads_the_paired_difference(tmp_path):
    """The sentence gives the paired difference and its verdict from the difference's
    interval against 0 (before: the Brier interval beside the reference's value)."""
    from radiomix.report.words import brier_words

    doc = classification_document()
    _, text, metrics = _render(tmp_path, doc)
    outcome = metrics["outcomes"][0]
    arms = outcome["validation"][0]["arms"]
    diffs = {k: a["brier_vs_reference"] for k, a in arms.items()}
    assert all(d is not None for d in diffs.values())
    assert "a paired difference of" in text
    for d in diffs.values():
        assert f"{d['estimate']:.3f}".replace("-", "\u2212") in text  # a typographic minus
    shown = {brier_words(d) for d in diffs.values()}
    assert any(words in text for words in shown)
    assert "The verdict reads the paired difference" in metrics["glossary"]["brier"]["meaning"]

