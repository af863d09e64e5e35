"""Twenty-second outside round (tester 22b): six places where the report's words said more
than its numbers. Every number was right; the words now follow them. Each test fails on
the report before these changes.

1. the apparent (training) run said its patients "were never used to fit the models";
2. the checklists marked external testing filled when the test centre could not be scored;
3. an exploratory outcome's table said "higher" where its headline withheld the claim;
4. accuracy, in the document with its interval, was in no performance table;
5. "no other arm reached a higher ROC AUC" while arms left out of the summary had;
6. an untuned arm was described as tuned, an exploratory run got a Brier verdict and was
   called an exploratory outcome, and curves missing for a one-class centre had no reason.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from report_checks import page_text, parse_report, render_checked
from synthetic import classification_document, combined_document, survival_document

from radiomix.report.checklist import FILLED, USER, build_checklists
from radiomix.report.words import headlines

ONE_CLASS = ("not estimable: the scored rows hold 0 positive and 20 negative patient(s); "
             "{} needs at least 2 of each")
NESTED = ("The patients are split into 5 folds stratified by outcome, every patient's rows in "
          "one fold; each fold is predicted by a model fitted on the other folds, its "
          "hyper-parameters chosen by an inner 3-fold CV on those training patients only; "
          "imputation, scaling, selection and PCA are refitted inside every training fold.")
VERDICTS = ("higher", "lower", "no evidence of a difference", "better than", "worse than",
            "not distinguishable")


_text = page_text


_render = render_checked


def _section(page: str, vi: int, oi: int = 0) -> str:
    """The text of validation ``vi`` of outcome ``oi`` (its heading to the next one)."""
    part = page.split(f'id="outcome-{oi}-val-{vi}"', 1)[1]
    return _text(re.split(r'<h3 id="outcome-\d+-(?:val-\d+|features|confounding|nomogram)"|'
                          r"</section>", part, maxsplit=1)[0])


def _headline(page: str) -> str:
    return _text(page.split('id="headline"', 1)[1].split("</section>", 1)[0])


def _table(page: str, vi: int, oi: int = 0) -> str:
    part = page.split(f'id="outcome-{oi}-val-{vi}"', 1)[1]
    return part.split('class="perf"', 1)[1].split("</table>", 1)[0]


def _last_cells(table: str) -> list[str]:
    """The text of the last cell of every body row of a table."""
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], flags=re.S)
    return [_text(re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S)[-1]).strip()
            for r in rows]


def _unscorable(v: dict[str, Any]) -> None:
    """A validation whose scored patients are all negative, as the engine writes it."""
    v.update(n_positive=0, n_rows=20, n_patients=20, count_unit="patients",
             exploratory="y · External centre B: only 0 patient(s) of its smaller class; "
                         "read every result of this validation as exploratory")
    for a in v["arms"].values():
        for name in ("roc_auc", "pr_auc", "sensitivity", "balanced_accuracy"):
            a["metrics"][name] = {"estimate": None, "ci_low": None, "ci_high": None,
                                  "reason": ONE_CLASS.format(name)}
        a["vs_reference"] = None
        a.pop("vs_arms", None)
    v["curves"] = {"roc": {}, "calibration": {}}


# --------------------------------------------------------------------------- 1


def test_the_apparent_run_does_not_say_its_patients_were_never_fitted(tmp_path):
    """"Intervals are not widened: the scored patients were never used to fit the models"
    stood under the training (apparent) run, whose patients fitted the models."""
    page, _ = _render(tmp_path, combined_document())
    schemes = [v["scheme"] for v in combined_document()["outcomes"][0]["validation"]]
    training, external = schemes.index("training"), schemes.index("external")
    apparent = _section(page, training)
    assert "never used to fit" not in apparent
    assert ("Intervals are not widened, and these are the training patients the models were "
            "fitted on: every estimate here, and its interval, is optimistic.") in apparent
    assert "the scored patients were never used to fit the models" in _section(page, external)


# --------------------------------------------------------------------------- 2


def _external_items(doc: dict[str, Any]) -> list[dict[str, Any]]:
    lists = build_checklists(doc)
    return [i for i in lists["CLEAR"] + lists["METRICS"] if i["topic"] == "External testing"]


def test_external_testing_is_not_filled_when_the_test_centre_could_not_be_scored(tmp_path):
    """An all-negative test centre (no ROC AUC, the headline falls back to another run) was
    "External testing: filled / External validation reported" in CLEAR and METRICS."""
    doc = combined_document()
    scored = _external_items(doc)
    assert [i["status"] for i in scored] == [FILLED, FILLED]
    vals = doc["outcomes"][0]["validation"]
    _unscorable(next(v for v in vals if v["scheme"] == "external"))
    items = _external_items(doc)
    assert [i["status"] for i in items] == [USER, USER]
    for item in items:
        assert item["detail"].startswith("External validation was run but could not be "
                                         "scored (Complete response · External centre B: the "
                                         "ROC AUC is " + ONE_CLASS.format("roc_auc"))
        assert "reported" not in item["detail"]
    page, _ = _render(tmp_path, doc)
    assert "could not be scored" in _text(page.split('id="checklists"', 1)[1])


def test_an_exploratory_external_centre_is_filled_and_named_exploratory():
    doc = combined_document()
    ext = next(v for v in doc["outcomes"][0]["validation"] if v["scheme"] == "external")
    ext["exploratory"] = "only 5 patient(s) of its smaller class"
    for item in _external_items(doc):
        assert item["status"] == FILLED
        assert item["detail"].endswith("no verdict is drawn): Complete response · External "
                                       "centre B.")


# --------------------------------------------------------------------------- 3 and 6 (b)


def _exploratory_doc(scope: str) -> dict[str, Any]:
    """Classification document whose every comparison with the reference has an interval
    wholly above zero and every Brier difference one wholly below: verdict words would
    show, unless the outcome (or the run) is exploratory."""
    doc = classification_document()
    o = doc["outcomes"][0]
    v = o["validation"][0]
    for a in v["arms"].values():
        if a.get("vs_reference"):
            a["vs_reference"]["auc_difference"] = {"estimate": 0.3, "ci_low": 0.1,
                                                   "ci_high": 0.5}
        if a.get("brier_vs_reference") is not None:
            a["brier_vs_reference"] = {"estimate": -0.05, "ci_low": -0.08, "ci_high": -0.02}
    flag = "y: only 3 patient(s) of its smaller class; read it as exploratory"
    if scope == "outcome":
        o["exploratory"] = flag
    elif scope == "validation":
        v["exploratory"] = flag
    return doc


@pytest.mark.parametrize("scope", ["outcome", "validation"])
def test_an_exploratory_run_gets_no_verdict_in_its_table_or_brier_lines(tmp_path, scope):
    """3 positives: the headline said "no claim of a difference is made", the table of the
    same run "higher"; a one-class test centre flagged exploratory said its Brier score was
    "better than predicting the training prevalence"."""
    plain, _ = _render(tmp_path / "plain", _exploratory_doc("none"))
    assert any(c.endswith("higher") for c in _last_cells(_table(plain, 0)))
    assert "Brier score better than predicting" in _section(plain, 0)

    page, _ = _render(tmp_path / scope, _exploratory_doc(scope))
    compared = [c for c in _last_cells(_table(page, 0))
                if c not in ("reference arm", "not compared")]
    assert compared
    for cell in compared:
        assert cell.endswith(f"no verdict (exploratory {scope})"), cell
        assert not any(word in cell for word in VERDICTS), cell
    section = _section(page, 0)
    assert f"Exploratory {scope} (y: only 3 patient(s)" in section
    assert f"Brier score exploratory {scope}: no verdict is drawn from this interval" in section
    assert "better than predicting" not in section
    assert "worse than predicting" not in section


def test_an_exploratory_survival_run_gets_no_verdict_in_its_table_or_km_lines(tmp_path):
    doc = survival_document()
    v = doc["outcomes"][0]["validation"][0]
    v["curves"]["km"]["hazard_ratio"] = {"estimate": 2.5, "ci_low": 1.4, "ci_high": 4.4}
    for a in v["arms"].values():
        a["metrics"]["c_index"] = {"estimate": 0.75, "ci_low": 0.62, "ci_high": 0.86}
    plain = _section(_render(tmp_path / "plain", doc)[0], 0)
    assert "better than chance" in plain
    assert "had the event sooner" in plain
    v["exploratory"] = "pfs · Nested: only 4 patient(s) with the event"
    section = _section(_render(tmp_path / "exploratory", doc)[0], 0)
    assert "better than chance" not in section
    assert "had the event sooner" not in section
    assert "exploratory validation: no claim of an association is made from this interval" \
        in section
    assert "with this exploratory validation the report makes no claim about the groups" \
        in section


# --------------------------------------------------------------------------- 4


@pytest.mark.parametrize("maker", [classification_document, combined_document])
def test_accuracy_is_a_column_of_every_binary_performance_table(tmp_path, maker):
    """Accuracy (with its interval for every arm) was in no table, while the study file said
    it is in every table and the footnotes named it."""
    doc = maker()
    page, metrics = _render(tmp_path, doc)
    o = doc["outcomes"][0]
    tables = re.findall(r'<table class="perf[^"]*">(.*?)</table>',
                        page.split('id="outcome-0"', 1)[1].split("</section>", 1)[0], re.S)
    assert tables
    for table in tables:
        head = [_text(h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]
        assert head.index("accuracy") < head.index("sensitivity")
    shown = {el["data-metric"] for el in parse_report(page).metrics}
    for vi, v in enumerate(o["validation"]):
        for key, a in v["arms"].items():
            acc = a["metrics"]["accuracy"]
            ptr = f"/outcomes/0/validation/{vi}/arms/{key}/metrics/accuracy"
            assert {ptr + "/estimate", ptr + "/ci_low", ptr + "/ci_high"} <= shown
            assert metrics["outcomes"][0]["validation"][vi]["arms"][key]["metrics"][
                "accuracy"] == acc
    assert "Accuracy, sensitivity, specificity and balanced accuracy are at this threshold" \
        in _text(page)


# --------------------------------------------------------------------------- 5


def _left_out_doc(best: str) -> dict[str, Any]:
    """``best`` has the highest ROC AUC of the summarised arms; the untrained deep arm,
    left out of the summary, is higher still."""
    doc = classification_document()
    arms = doc["outcomes"][0]["validation"][0]["arms"]
    for key, est in (("clinical", 0.60), ("volume", 0.62), ("radiomics", 0.58)):
        arms[key]["metrics"]["roc_auc"] = {"estimate": est, "ci_low": est - 0.1,
                                           "ci_high": est + 0.1}
    arms[best]["metrics"]["roc_auc"] = {"estimate": 0.70, "ci_low": 0.6, "ci_high": 0.8}
    arms["deep"]["metrics"]["roc_auc"] = {"estimate": 0.77, "ci_low": 0.66, "ci_high": 0.88}
    return doc


def test_the_headline_names_left_out_arms_that_scored_higher(tmp_path):
    """Lung study: "That is the reference arm itself: no other arm reached a higher ROC AUC"
    while both untrained deep arms, left out of the summary, had higher hold-out AUCs."""
    doc = _left_out_doc("clinical")
    (h,) = headlines(doc)
    assert (h["best"], h["best_is_reference"], h["higher_left_out"]) == ("clinical", True,
                                                                         ["deep"])
    text = _headline(_render(tmp_path, doc)[0])
    assert "no other arm reached" not in text
    assert ("That is the reference arm itself: no other arm of this summary reached a higher "
            "ROC AUC.") in text
    assert ("Left out of this summary but with a higher point estimate on Nested "
            "patient-grouped CV 5x3, 5 repeats: "
            "Deep features (ResNet) untrained weights (ROC AUC 0.77 (95 % CI 0.66 – 0.88)); "
            "this arm is built on deep features from untrained weights") in text
    # the untrained arm lower: nothing is named, the summary still says what it covers
    doc["outcomes"][0]["validation"][0]["arms"]["deep"]["metrics"]["roc_auc"] = {
        "estimate": 0.5, "ci_low": 0.4, "ci_high": 0.6}
    assert headlines(doc)[0]["higher_left_out"] == []
    text = _headline(_render(tmp_path / "lower", doc)[0])
    assert "Left out of this summary but with a higher point estimate" not in text
    assert "no other arm of this summary reached" in text


def test_the_volume_headline_is_said_of_the_summary(tmp_path):
    doc = _left_out_doc("volume")
    (h,) = headlines(doc)
    assert (h["best_is_volume"], h["higher_left_out"]) == (True, ["deep"])
    text = _headline(_render(tmp_path, doc)[0])
    assert ("The best arm is tumour volume alone: no imaging or clinical model of this "
            "summary did better than the size of the tumour.") in text
    assert "Left out of this summary but with a higher point estimate" in text


# --------------------------------------------------------------------------- 6 (a)


def _untuned(doc: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """The document as the engine writes an arm run with fixed hyper-parameters (its own
    words: tests/analysis/test_round22_analysis.py::test_untuned_arms_are_described_as_run)."""
    o = doc["outcomes"][0]
    for key in keys:
        a = o["arms"][key]
        a["grid"], a["tuned"], a["tuning"] = {}, None, "fixed"
        a["description"] = f"{a['label']} → logistic regression (L2, C fixed at its default)"
    o["validation"][0]["description"] = NESTED
    return doc


def test_an_untuned_arm_is_described_with_fixed_parameters(tmp_path):
    """`--no-tune` (no grid, nothing tuned, no value chosen per fold): the arm's details
    said only "No tuning grid"."""
    doc = classification_document()
    _untuned(doc, [k for k in doc["outcomes"][0]["arms"] if k != "prevalence"])
    page, metrics = _render(tmp_path, doc)
    inputs = _text(page.split('id="inputs"', 1)[1].split("</section>", 1)[0])
    assert "Radiomics (LASSO) → logistic regression (L2, C fixed at its default)" in inputs
    assert "No tuning grid: fixed (default) hyper-parameters, nothing is tuned." in inputs
    assert metrics["outcomes"][0]["arms"]["radiomics"]["tuning"] == "fixed"


def test_a_tuned_arm_keeps_its_grid_words(tmp_path):
    doc = _untuned(classification_document(), ["radiomics"])  # the others keep their grid
    page, _ = _render(tmp_path, doc)
    inputs = _text(page.split('id="inputs"', 1)[1].split("</section>", 1)[0])
    assert "Clinical model: logistic regression (L2)" in inputs  # tuned: as written
    assert inputs.count("No tuning grid: fixed (default) hyper-parameters") == 1


# --------------------------------------------------------------------------- 6 (c)


@pytest.mark.parametrize("scope", ["outcome", "validation"])
def test_the_headline_says_what_is_exploratory(tmp_path, scope):
    """Only the test centre (5 positives) was exploratory; the headline said "exploratory
    outcome" of an outcome with 19."""
    doc = _exploratory_doc(scope)
    (h,) = headlines(doc)
    assert h["exploratory_scope"] == scope
    text = _headline(_render(tmp_path, doc)[0])
    other = "outcome" if scope == "validation" else "validation"
    assert f"(exploratory {scope}: no claim of a difference is made from this interval)" in text
    assert f"exploratory {scope}: no verdict is drawn from this interval" in text
    assert f"exploratory {other}" not in text


# --------------------------------------------------------------------------- 6 (d)


def test_curves_missing_for_a_one_class_centre_give_the_reason(tmp_path):
    """"the results document holds no ROC curve / calibration table / decision curve for
    these arms" was all a one-class test centre got."""
    doc = combined_document()
    vals = doc["outcomes"][0]["validation"]
    ext = next(i for i, v in enumerate(vals) if v["scheme"] == "external")
    _unscorable(vals[ext])
    page, _ = _render(tmp_path, doc)
    section = _section(page, ext)
    for what in ("ROC curve", "calibration table", "decision curve"):
        assert (f"the results document holds no {what} for these arms, because the scored "
                "patients are all of one class (0 positive of 20) and no curve is computed "
                "from a single class.") in section
    assert "all of one class" not in _section(page, 0)  # the other runs drew theirs


def test_a_curve_missing_for_another_reason_gives_no_class_reason(tmp_path):
    doc = classification_document()
    del doc["outcomes"][0]["validation"][0]["curves"]["decision"]["net_benefit"]["volume"]
    section = _section(_render(tmp_path, doc)[0], 0)
    assert "holds no decision curve for this arm." in section
    assert "one class" not in section
