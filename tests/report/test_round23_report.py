"""Twenty-third outside round (tester 23g): what the report drew or said beside its numbers.
Each test fails on the report before these changes.

1. exact binomial (Clopper-Pearson) intervals were shown, and described in the glossary,
   as patient-bootstrap percentile intervals;
2. every arm warning was listed twice (the document's run-wide copy and the arm's own);
3. a not-estimable arm read "threshold rule None";
4. a lower bound of 0.503 under "the whole interval lies above chance" was shown as 0.50.
"""

from __future__ import annotations

from report_checks import page_text, render_checked
from synthetic import classification_document

from radiomix.report.html import Numbers, run_warnings


def test_an_exact_binomial_interval_is_marked_and_the_glossary_says_so(tmp_path):
    doc = classification_document()
    arm = doc["outcomes"][0]["validation"][0]["arms"]["radiomics"]
    arm["metrics"]["roc_auc"].update(
        estimate=1.0, ci_low=0.782, ci_high=1.0,
        interval_method="exact binomial (Clopper–Pearson) over the 15 patients of the "
                        "smaller class")
    page, _ = render_checked(tmp_path, doc)
    assert '<sup class="ci-method" title="exact binomial (Clopper–Pearson) over the 15' in page
    text = page_text(page)
    assert "except those marked †" in text
    plain = Numbers(doc).interval("/outcomes/0/validation/0/arms/radiomics/metrics/brier")
    assert "†" not in str(plain)


def test_arm_warnings_are_listed_once(tmp_path):
    doc = classification_document()
    o = doc["outcomes"][0]
    v = o["validation"][0]
    v["arms"]["radiomics"]["warnings"] = ["the arm's own warning"]
    label = o["arms"]["radiomics"]["label"]
    copy = f"{o['name']} · {v['label']} · {label}: the arm's own warning"
    doc["warnings"] = ["a run-wide warning", copy]
    assert run_warnings(doc) == [0]
    page, _ = render_checked(tmp_path, doc)
    assert page_text(page).count("the arm's own warning") == 1
    assert "a run-wide warning" in page_text(page)


def test_a_bound_that_rounds_to_chance_gets_another_digit():
    doc = {"m": {"estimate": 0.67, "ci_low": 0.503, "ci_high": 0.84}}
    assert page_text(str(Numbers(doc).interval("/m"))).replace(" ", "") == "0.503–0.840"
    doc = {"m": {"estimate": 0.67, "ci_low": 0.51, "ci_high": 0.84}}
    assert page_text(str(Numbers(doc).interval("/m"))).replace(" ", "") == "0.51–0.84"


def test_a_not_estimable_arm_has_no_threshold_rule_none(tmp_path):
    doc = classification_document()
    arm = doc["outcomes"][0]["validation"][0]["arms"]["radiomics"]
    arm["threshold"] = None
    page, _ = render_checked(tmp_path, doc)
    assert "threshold rule None" not in page_text(page)
    assert "no threshold" in page_text(page)


# -- re-check (tester 23j) ------------------------------------------------------------------


def test_coefficient_bounds_near_one_keep_their_side():
    doc = {"c": {"hr_ci_low": 1.0031, "hr_ci_high": 1.0376}}
    text = page_text(str(Numbers(doc).bounds("/c/hr_ci_low", "/c/hr_ci_high", 2)))
    assert text.replace(" ", "") == "1.003–1.038"


def test_a_hazard_ratio_without_an_estimate_says_why(tmp_path):
    from synthetic import survival_document

    doc = survival_document()
    km = doc["outcomes"][0]["validation"][0]["curves"]["km"]
    km["hazard_ratio"] = {"estimate": None, "ci_low": None, "ci_high": None,
                          "reason": "not estimable: no event in the low-risk group"}
    page, _ = render_checked(tmp_path, doc)
    text = page_text(page)
    assert "Hazard ratio, high versus low: not estimable: no event in the low-risk group" in text
    assert "n/a" not in text.split("Hazard ratio, high versus low", 1)[1][:80]


def test_an_absent_settings_hash_is_said_not_printed_as_none(tmp_path):
    doc = classification_document()
    doc["study"]["settings_hash"] = None
    page, _ = render_checked(tmp_path, doc)
    assert "settings hash None" not in page_text(page)
    assert "not recorded (the feature table carries no settings hash)" in page_text(page)
