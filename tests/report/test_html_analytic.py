"""The HTML report of synthetic schema-2 documents: self-contained, every number equal to
metrics.json, the headline chosen by the stated rule, no study-specific words."""

from __future__ import annotations

import base64
import copy
import json
import re
from pathlib import Path

import pytest
from report_checks import metric_problems, parse_report, resolve
from synthetic import (
    classification_document,
    combined_document,
    survival_document,
    write_results,
)

from radiomix.errors import InputError
from radiomix.report import write_report
from radiomix.report.html import Numbers, clean_json, format_number, pointer
from radiomix.report.html import resolve as rmx_resolve

KINDS = {"classification": classification_document, "survival": survival_document,
         "combined": combined_document}


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str, dict, dict]]:
    """(folder, html, metrics.json, source document) of each kind."""
    out = {}
    for kind, make in KINDS.items():
        doc = make()
        folder = write_results(tmp_path_factory.mktemp(kind), doc)
        html = write_report(folder).read_text(encoding="utf-8")
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        out[kind] = (folder, html, metrics, doc)
    return out


def _without_curves(doc):
    """Independent re-implementation of "the document without its curves"."""
    if isinstance(doc, dict):
        return {k: _without_curves(v) for k, v in doc.items() if k != "curves"}
    if isinstance(doc, list):
        return [_without_curves(v) for v in doc]
    return doc


def test_rfc6901_examples() -> None:
    # RFC 6901 section 5 examples
    doc = {"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4, "i\\j": 5,
           "k\"l": 6, " ": 7, "m~n": 8}
    cases = {"": doc, "/foo": ["bar", "baz"], "/foo/0": "bar", "/": 0, "/a~1b": 1, "/c%d": 2,
             "/e^f": 3, "/g|h": 4, "/i\\j": 5, "/k\"l": 6, "/ ": 7, "/m~0n": 8}
    for ptr, expected in cases.items():
        assert rmx_resolve(doc, ptr) == expected
    assert pointer("a/b") == "/a~1b"
    assert pointer("m~n") == "/m~0n"
    with pytest.raises(InputError, match="no key"):
        rmx_resolve(doc, "/nope")
    with pytest.raises(InputError, match="must start"):
        rmx_resolve(doc, "foo")


def test_format_number() -> None:
    assert format_number(0.125, 2) == "0.12"  # round half to even, as Python formats
    assert format_number(-0.004, 2) == "0.00"  # no negative zero
    assert format_number(-1.5, 1) == "−1.5"
    assert format_number(0.3333, 0, 100) == "33"
    assert format_number(None) == "n/a"
    assert format_number(float("nan")) == "n/a"


def test_numbers_refuses_text_as_number() -> None:
    with pytest.raises(InputError, match="not a number"):
        Numbers({"a": "x"}).num("/a")


def test_clean_json() -> None:
    import numpy as np

    doc = clean_json({"a": np.float64("nan"), "b": np.arange(2), "c": (np.int64(3),)})
    assert doc == {"a": None, "b": [0, 1], "c": [3]}
    json.dumps(doc, allow_nan=False)


@pytest.mark.parametrize("kind", list(KINDS))
def test_metrics_json_is_the_document_without_curves(reports, kind: str) -> None:
    _, _, metrics, doc = reports[kind]
    expected = json.loads(json.dumps(_without_curves(doc)))
    for key, value in expected.items():
        if key != "outcomes":
            assert metrics[key] == value, key
    for oi, o_exp in enumerate(expected["outcomes"]):
        o_got = metrics["outcomes"][oi]
        assert {k: v for k, v in o_got.items() if k != "validation"} == \
            {k: v for k, v in o_exp.items() if k != "validation"}
        for vi, v_exp in enumerate(o_exp["validation"]):
            v_got = dict(o_got["validation"][vi])
            km = v_got.pop("km", None)
            assert v_got == v_exp
            if km is not None:  # the scalar part of the KM curves, copied
                src = doc["outcomes"][oi]["validation"][vi]["curves"]["km"]
                for k in ("arm", "cutoff", "cutoff_rule", "logrank_p", "hazard_ratio"):
                    assert km[k] == src[k]
                assert [g["label"] for g in km["groups"]] == list(src["groups"])
    assert set(metrics["checklists"]) == {"CLEAR", "METRICS", "TRIPOD+AI"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_shown_number_equals_metrics_json(reports, kind: str) -> None:
    _, html, metrics, _ = reports[kind]
    parsed = parse_report(html)
    assert len(parsed.metrics) > 100
    assert metric_problems(parsed.metrics, metrics) == []
    assert parsed.stray == [], f"numbers shown outside data-metric elements: {parsed.stray}"


def test_spot_values(reports) -> None:
    _, html, metrics, doc = reports["combined"]
    parsed = parse_report(html)
    shown = {el["data-metric"]: el["text"] for el in parsed.metrics}
    # values written out here from the synthetic document
    assert shown["/cohort/flow/0/n"] == "63"
    assert shown["/cohort/table1/rows/0/p_value"] == "0.457"
    assert shown["/outcomes/0/nomogram/radscore/terms/0/coef"] == "0.4567"  # shown as "− 0.4567"
    assert "/outcomes/1/validation/0/km/hazard_ratio/ci_low" in shown
    auc = doc["outcomes"][0]["validation"][2]["arms"]["clinical"]["metrics"]["roc_auc"]
    assert shown["/outcomes/0/validation/2/arms/clinical/metrics/roc_auc/estimate"] == \
        f"{auc['estimate']:.2f}"
    assert resolve(metrics, "/outcomes/1/validation/0/arms/clinical/td_auc/1/estimate") is None
    assert "too few at risk (3 &lt; 10)" in html


def test_report_is_self_contained(reports) -> None:
    for _, html, _, _ in reports.values():
        parsed = parse_report(html)
        assert "http://" not in html
        assert "https://" not in html
        assert "<link" not in html
        assert "<script" not in html
        assert len(parsed.images) >= 3
        for img in parsed.images:
            assert img["src"].startswith("data:image/png;base64,")
            png = base64.b64decode(img["src"].split(",", 1)[1])
            assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_shown_at_their_drawn_size(reports) -> None:
    """A figure drawn at DPI is shown at 96 / DPI of its pixels: 10 pt stays 10 pt."""
    import struct

    from radiomix.report.figures import DPI

    _, html, _, _ = reports["combined"]
    for img in parse_report(html).images:
        if "width" not in img:
            continue  # QC thumbnails scale with the grid
        png = base64.b64decode(img["src"].split(",", 1)[1])
        w, h = struct.unpack(">II", png[16:24])
        assert int(img["width"]) == round(w * 96 / DPI)
        assert int(img["height"]) == round(h * 96 / DPI)
        assert int(img["width"]) <= 1060  # fits the page column at 100 % zoom


def test_untrained_arm_flagged_in_every_table_and_out_of_the_headline(reports) -> None:
    _, html, metrics, _ = reports["combined"]
    for h in metrics["headline"]:
        assert h["best"] != "deep"
        assert h["untrained"] == ["deep"]
    for table in re.findall(r"<table.*?</table>", html, re.S):
        for row in re.findall(r"<tr>.*?</tr>", table, re.S):
            if "Deep features (ResNet)</span>" in row and 'class="sw"' in row:
                assert "untrained weights" in row
    headline = html.split('id="headline"')[1].split("</section>")[0]
    claims = "".join(re.findall(r'<div class="claim">.*?</div>', headline, re.S))
    assert "Deep features" not in claims


def test_headline_picks_the_most_independent_validation_and_best_arm(reports) -> None:
    _, _, metrics, doc = reports["combined"]
    h = metrics["headline"][0]
    assert doc["outcomes"][0]["validation"][h["validation"]]["scheme"] == "external"
    arms = doc["outcomes"][0]["validation"][2]["arms"]
    eligible = {k: a["metrics"]["roc_auc"]["estimate"] for k, a in arms.items()
                if k not in ("deep", "prevalence")}
    assert h["best"] == max(eligible, key=eligible.get)
    assert h["volume"] == "volume"
    assert h["reference"] == "clinical"


def test_headline_words_follow_the_interval() -> None:
    from radiomix.report.words import difference_words, discrimination_words, hazard_words

    assert difference_words({"estimate": 0.1, "ci_low": 0.01, "ci_high": 0.2})["relation"] \
        .startswith("has a higher")
    assert difference_words({"estimate": 0.1, "ci_low": -0.01, "ci_high": 0.2})["relation"] \
        .startswith("is not distinguishable")
    assert discrimination_words({"estimate": 0.7, "ci_low": 0.49, "ci_high": 0.9}) \
        .startswith("not distinguishable")
    assert hazard_words({"estimate": 2.0, "ci_low": 1.01, "ci_high": 3}).startswith(
        "the high-risk group had the event sooner")
    # the survival document: log-rank p < 0.05 but HR interval includes 1 -> no claim
    doc = survival_document()
    km = doc["outcomes"][0]["validation"][0]["curves"]["km"]
    assert km["logrank_p"] < 0.05
    assert km["hazard_ratio"]["ci_low"] < 1


def test_logrank_and_hazard_ratio_tell_one_story(reports) -> None:
    _, html, _, _ = reports["survival"]
    assert "the report does not claim that the groups differ" in html
    assert "no evidence of a higher event rate" in html


def test_other_outcome_names_leave_no_study_words(tmp_path: Path) -> None:
    doc = classification_document(name="response", label="Complete response", positive="CR")
    folder = write_results(tmp_path / "r", doc)
    html = write_report(folder).read_text(encoding="utf-8").lower()
    metrics = (folder / "metrics.json").read_text(encoding="utf-8").lower()
    for word in ("sarcoma", "lung", "metasta", "sts_", "lung_mets", "soft-tissue"):
        assert word not in html, word
        assert word not in metrics, word
    assert "complete response" in html
    assert ">cr<" in html  # the positive class, shown from the document


def test_package_holds_no_study_words() -> None:
    root = Path(__file__).resolve().parents[2] / "src" / "radiomix" / "report"
    for path in root.rglob("*"):
        if path.suffix in (".py", ".j2"):
            text = path.read_text(encoding="utf-8").lower()
            for word in ("sarcoma", "lung", "metasta"):
                assert word not in text, f"{path.name} mentions {word!r}"


def test_checklists_point_to_existing_sections(reports) -> None:
    for kind in KINDS:
        _, html, metrics, _ = reports[kind]
        ids = set(re.findall(r'id="([^"]+)"', html))
        for items in metrics["checklists"].values():
            assert {it["where"] for it in items} <= ids, kind
    _, html, metrics, _ = reports["combined"]
    for name, items in metrics["checklists"].items():
        assert items, name
        for it in items:
            assert it["status"] in ("filled", "needs the user")
    clear = {i["topic"]: i["status"] for i in metrics["checklists"]["CLEAR"]}
    assert clear["Ethics approval, consent, data protection"] == "needs the user"
    assert clear["External testing"] == "filled"  # the combined document has one
    tripod = {i["item"]: i["status"] for i in metrics["checklists"]["TRIPOD+AI"]}
    assert tripod["9"] == "filled"


def test_external_testing_needs_the_user_without_external(reports) -> None:
    _, _, metrics, _ = reports["classification"]
    clear = {i["topic"]: i["status"] for i in metrics["checklists"]["CLEAR"]}
    assert clear["External testing"] == "needs the user"


def test_optional_sections_drawn_when_present(reports) -> None:
    _, html, _, _ = reports["combined"]
    for anchor in ('id="qc"', 'id="outcome-0-features"', 'id="outcome-0-nomogram"',
                   'data-figure="nomogram"', 'data-figure="km"', 'data-figure="features"',
                   'data-figure="leakage"'):
        assert anchor in html, anchor
    assert "thumbnail missing" in html
    # round 18: two lesions (or scans) of one patient had the same caption
    import re

    qc = re.sub(r"<span[^>]*>([^<]*)</span>", r"\1", html.split('id="qc"')[1].split(
        "</section>")[0])  # the text without its data-metric spans
    assert "P_001 · lesion 1 · <code>ct</code>" in qc
    assert "P_002 · lesion 1 · <code>ct</code>: thumbnail missing" in qc
    assert "ct image not found: x.nii.gz" in html
    _, html, _, _ = reports["classification"]
    for anchor in ('id="qc"', "-nomogram", "-features"):
        assert anchor not in html


def test_missing_curves_are_said(reports) -> None:
    _, html, _, _ = reports["classification"]
    assert "predicts one value for everyone" in html  # the prevalence arm, with its reason
    _, html, _, _ = reports["survival"]
    assert "Not drawn for" in html  # the deep arm has no calibration table
    assert "holds no calibration table" in html


def test_an_arm_without_a_decision_curve_is_named(tmp_path: Path) -> None:
    doc = classification_document()
    del doc["outcomes"][0]["validation"][0]["curves"]["decision"]["net_benefit"]["volume"]
    html = write_report(write_results(tmp_path / "d", doc)).read_text(encoding="utf-8")
    note = html.split('data-figure="decision"')[1].split("</figcaption>")[0]
    assert "Not drawn for" in note
    assert "Tumour volume" in note
    assert "holds no decision curve" in note


def test_one_table_for_training_internal_external(reports) -> None:
    _, html, _, doc = reports["combined"]
    table = html.split('id="outcome-0-combined"')[1].split("</table>")[0]
    n_arms = len(doc["outcomes"][0]["arm_order"])
    assert table.count("<tr><td>") == 3 * n_arms


def test_write_report_to_other_folder(tmp_path: Path) -> None:
    folder = write_results(tmp_path / "res", survival_document())
    out = write_report(folder, out_dir=tmp_path / "out")
    assert out == tmp_path / "out" / "report.html"
    assert out.is_file()
    assert (tmp_path / "out" / "metrics.json").is_file()
    assert not (folder / "report.html").exists()


def test_document_order_of_arms_sets_colours(tmp_path: Path) -> None:
    """Colour = position in arm_order, whatever the figure."""
    from radiomix.report.figures import arm_colour
    from radiomix.report.html import build_figures

    doc = copy.deepcopy(classification_document())
    folder = write_results(tmp_path / "c", doc)
    figs = build_figures(doc, folder)
    colours = figs["outcomes"][0]["colours"]
    assert colours == {k: arm_colour(i) for i, k in enumerate(doc["outcomes"][0]["arm_order"])}


def test_minimal_document_renders(tmp_path: Path) -> None:
    """Only the keys check_document requires, one metric, no curves: a report, no crash,
    and still every number from metrics.json."""
    doc = {
        "schema": "radiomix.analysis/2", "title": "minimal", "created": "2026-01-01 00:00 UTC",
        "seed": 0, "cohort": {"unit": "row", "n_rows": 10, "n_patients": 10},
        "outcomes": [{
            "name": "y", "kind": "binary", "label": "Outcome y", "column": "y",
            "positive": "yes", "arm_order": ["a"],
            "arms": {"a": {"label": "Arm A", "kind": "declared", "columns": ["x"]}},
            "validation": [{"scheme": "holdout", "label": "Hold-out",
                            "arms": {"a": {"metrics": {"roc_auc": {
                                "estimate": 0.61, "ci_low": 0.4, "ci_high": 0.8}}}}}],
        }],
    }
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "analysis.json").write_text(json.dumps(doc), encoding="utf-8")
    html = write_report(folder).read_text(encoding="utf-8")
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    parsed = parse_report(html)
    assert metric_problems(parsed.metrics, metrics) == []
    assert parsed.stray == []
    assert "not recorded" in html
    shown = {el["data-metric"]: el["text"] for el in parsed.metrics}
    assert shown["/outcomes/0/validation/0/arms/a/metrics/roc_auc/estimate"] == "0.61"


def test_a_horizon_is_headed_as_given(tmp_path) -> None:
    """Round 18: a 0.25-year horizon was headed "AUC at 0.2 years" (one decimal), while the
    document and the calibration figure said 0.25."""
    import re

    doc = survival_document()
    for validation in doc["outcomes"][0]["validation"]:
        for arm in validation["arms"].values():
            for k, row in enumerate(arm.get("td_auc") or []):
                row["horizon_years"] = (0.25, 2.0)[k] if k < 2 else row["horizon_years"]
    html = write_report(write_results(tmp_path, doc)).read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", html)
    assert "AUC at 0.25 years" in text
    assert "AUC at 2 years" in text
    assert "AUC at 0.2 years" not in text
