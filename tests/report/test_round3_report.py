"""Round-3 honesty fixes of the report: what it says about imputation, a missing clinical
table and a comparison that could not be made (each a test that fails without its fix)."""

from __future__ import annotations

import html as htmllib
import re
import sys
from pathlib import Path

from synthetic import classification_document, write_results

from radiomix.report import write_report
from radiomix.report.checklist import clear_items, tripod_items

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.engine import run_analysis
from radiomix.analysis.spec import analysis_from_dict


def _text(page: str) -> str:
    page = re.sub(r"data:image/png;base64,[^\"']+", "", page)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _item(items, topic):
    return next(i for i in items if i["topic"] == topic)


def test_engine_records_the_imputation_and_the_checklist_states_it(tmp_path):
    feats, clin = cohort(30)
    clin.loc[[1, 4, 7], "grade"] = "N/A"
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "covariates": ["age", {"name": "grade", "kind": "ordinal",
                                         "levels": ["Low", "Intermediate", "High"]}],
                  "derived": ["outcome_text", "days_to_outcome", "status", "fu_days"]},
        "arms": [{"name": "radiomics", "blocks": ["radiomic"], "model": "logistic"}],
        "validation": {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}})
    doc = run_analysis(spec, build_table(feats, spec, clinical=clin), tmp_path,
                       save_models=False)
    imp = doc["cohort"]["imputation"]
    assert imp["columns"] == {"grade": 3} == doc["cohort"]["missing_imputed"]
    assert imp["methods"] == ["median"]
    item = _item(tripod_items(doc), "Missing data")["detail"]
    assert "no imputation" not in item
    assert "grade (3 cells)" in item
    assert "median" in item
    assert "training fold" in item
    assert "grade (3 cells)" in _item(clear_items(doc), "Failed cases and missing data")[
        "detail"]


def test_checklist_says_no_imputation_only_when_none():
    doc = classification_document()
    doc["cohort"]["missing_imputed"] = {}
    assert "no imputation" in _item(tripod_items(doc), "Missing data")["detail"]
    doc["cohort"]["missing_imputed"] = {"grade": 3}  # an older document: no method recorded
    detail = _item(tripod_items(doc), "Missing data")["detail"]
    assert "no imputation" not in detail
    assert "grade (3 cells)" in detail
    assert "method not recorded" in detail


def test_report_states_the_imputation_and_no_clinical_table(tmp_path):
    doc = classification_document()
    doc["cohort"]["missing_imputed"] = {"grade": 3}
    doc["cohort"]["imputation"] = {
        "columns": {"grade": 3}, "methods": ["median"],
        "text": "Missing values of 1 input column(s) were imputed: grade (3 cells); each by "
                "the median of the column's training rows, fitted inside every training "
                "fold and applied to its test rows (never from test patients)."}
    doc["study"].update(clinical_file=None, clinical_sha256=None)
    page = _text(write_report(write_results(tmp_path, doc)).read_text(encoding="utf-8"))
    assert "no imputation" not in page
    assert "grade (3 cells)" in page
    assert "None · SHA-256" not in page
    assert "SHA-256 None" not in page
    assert "clinical table no clinical table used" in page


def test_report_gives_the_reason_of_a_comparison_not_made(tmp_path):
    doc = classification_document()
    val = doc["outcomes"][0]["validation"][0]
    key = next(k for k, a in val["arms"].items() if a.get("vs_reference"))
    reason = ("not estimable: the external test centre(s) C hold 1 positive and 1 negative "
              "patients; comparing two arms' AUCs needs at least 2 of each")
    val["arms"][key]["vs_reference"] = {
        "reference": val["arms"][key]["vs_reference"]["reference"],
        "auc_difference": {"estimate": None, "ci_low": None, "ci_high": None,
                           "reason": reason},
        "delong_z": None, "delong_p": None, "reason": reason}
    page = _text(write_report(write_results(tmp_path, doc)).read_text(encoding="utf-8"))
    assert "C hold 1 positive and 1 negative" in page
