"""Nineteenth outside round: a small p-value was shown as "0.000" (log-rank p 0.000337,
Fisher exact 0.000337 in Table 1); a p-value is never 0. It now shows its first two
significant digits, and every shown number still equals metrics.json."""

from __future__ import annotations

import json

import pytest
from report_checks import metric_problems, parse_report
from synthetic import combined_document, write_results

from radiomix.report import write_report
from radiomix.report.html import Numbers


@pytest.mark.parametrize(("p", "text"), [(0.4567, "0.457"), (0.0012, "0.001"),
                                         (0.000337, "0.00034"), (4.2e-9, "0.0000000042"),
                                         (0.0, "0.000")])
def test_a_p_value_shows_two_significant_digits_below_one_in_a_thousand(p, text):
    shown = str(Numbers({"p": p}).p("/p"))
    assert f">{text}<" in shown


def test_small_p_values_in_the_report(tmp_path):
    doc = combined_document()
    rows = doc["cohort"]["table1"]["rows"]
    rows[1]["p_value"] = 0.000337
    for outcome in doc["outcomes"]:
        for val in outcome.get("validation", []):
            km = val.get("curves", {}).get("km")
            if km and km.get("logrank_p") is not None:
                km["logrank_p"] = 0.000438
    folder = write_results(tmp_path, doc)
    html = write_report(folder).read_text(encoding="utf-8")
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    parsed = parse_report(html)
    shown = {el["data-metric"]: el["text"] for el in parsed.metrics}
    assert shown["/cohort/table1/rows/1/p_value"] == "0.00034"
    assert "0.00044" in shown.values()
    assert metric_problems(parsed.metrics, metrics) == []


@pytest.mark.parametrize("damage", ["cut", "jpeg"])
def test_a_qc_thumbnail_that_does_not_decode_is_left_out(tmp_path, caplog, damage):
    """Tester M: `radiomix report` embedded a thumbnail cut short (or not a PNG) as a
    half-drawn or broken image under its caption, exit 0, no warning."""
    import base64
    import logging

    folder = write_results(tmp_path)
    png = folder / "qc" / "P_001_1_ct.png"
    whole = png.read_bytes()
    png.write_bytes(whole[: len(whole) // 2] if damage == "cut" else b"\xff\xd8\xff" + whole)
    with caplog.at_level(logging.WARNING, logger="radiomix.report"):
        html = write_report(folder).read_text(encoding="utf-8")
    assert "P_001_1_ct.png cannot be read" in caplog.text
    assert base64.b64encode(whole[:60]).decode()[:40] not in html
    intact = write_results(tmp_path / "intact")
    assert base64.b64encode(whole[:30]).decode()[:24] in write_report(intact).read_text(
        encoding="utf-8")


def test_report_that_cannot_write_says_so_in_one_line(tmp_path):
    """Tester O: `radiomix report DIR --out` on a full disk (or with a folder where
    report.html goes) gave a traceback."""
    import subprocess
    import sys

    folder = write_results(tmp_path / "results")
    out = tmp_path / "out"
    (out / "report.html").mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-m", "radiomix.cli", "report", str(folder),
                           "--out", str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"cannot write report.html in {out}" in proc.stderr
