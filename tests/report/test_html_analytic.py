"""The HTML report from a hand-written analysis: self-contained, numbers equal metrics.json."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from report_checks import metric_problems, parse_report, resolve
from synthetic import analysis, write_results

from radiomix.errors import InputError
from radiomix.report import write_report
from radiomix.report.html import Numbers, clean_json, format_number, pointer
from radiomix.report.html import resolve as rmx_resolve


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict]:
    folder = write_results(tmp_path_factory.mktemp("results"))
    path = write_report(folder)
    html = path.read_text(encoding="utf-8")
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    return folder, html, metrics


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


def test_metrics_json_is_the_analysis_without_curves(report: tuple[Path, str, dict]) -> None:
    _, _, metrics = report
    src = analysis()
    assert "curves" not in metrics
    for key in ("cohort", "arms", "survival", "leakage", "timings"):
        assert metrics[key] == json.loads(json.dumps(src[key]))
    topics = {c["topic"]: c["status"] for c in metrics["checklist"]}
    for user_item in ("Ethics approval and consent", "Prospective registration",
                      "External test cohort"):
        assert topics[user_item] == "to be supplied by the user"
    assert topics["Data partitioning (patient level)"] == "filled by radiomix"


def test_every_shown_number_equals_metrics_json(report: tuple[Path, str, dict]) -> None:
    _, html, metrics = report
    parsed = parse_report(html)
    assert len(parsed.metrics) > 100
    assert metric_problems(parsed.metrics, metrics) == []
    assert parsed.stray == [], f"numbers shown outside data-metric elements: {parsed.stray}"
    shown = {el["data-metric"] for el in parsed.metrics}
    # spot checks, with values written out here
    assert "/arms/radiomics_knn/vs_clinical/p_value" in shown
    auc = next(el for el in parsed.metrics
               if el["data-metric"] == "/arms/clinical/metrics/roc_auc/estimate")
    assert auc["text"] == "0.70"
    pct = next(el for el in parsed.metrics if el["data-metric"] == "/cohort/event_fraction")
    assert pct["text"] == "33"
    assert pct["data-scale"] == "100"
    neg = next(el for el in parsed.metrics
               if el["data-metric"] == "/features/top/0/coefficient")
    assert neg["text"] == "−0.457"
    assert resolve(metrics, "/survival/models/bad/c_index/estimate") is None
    assert "/timings/history/0/stages/setup" in shown  # cold run beside this run


def test_report_is_self_contained(report: tuple[Path, str, dict]) -> None:
    _, html, _ = report
    parsed = parse_report(html)
    assert "http://" not in html
    assert "https://" not in html
    assert "<link" not in html
    assert "<script" not in html
    assert len(parsed.images) >= 6  # ROC, AUC intervals, calibration, decision, KM, QC ...
    for img in parsed.images:
        assert img["src"].startswith("data:image/png;base64,")
        png = base64.b64decode(img["src"].split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_shows_banner_errors_and_missing_items(report: tuple[Path, str, dict]) -> None:
    _, html, _ = report
    assert 'role="alert"' in html
    assert "UNTRAINED" in html
    assert "ct image not found: x.nii.gz" in html  # errors table
    assert "thumbnail missing" in html  # QC file absent -> said so, no broken image
    assert "not estimable: did not converge" in html
    assert "too few at risk" in html


def test_write_report_to_other_folder(tmp_path: Path) -> None:
    folder = write_results(tmp_path / "res")
    out = write_report(folder, out_dir=tmp_path / "out")
    assert out == tmp_path / "out" / "report.html"
    assert out.is_file()
    assert (tmp_path / "out" / "metrics.json").is_file()
    assert not (folder / "report.html").exists()
