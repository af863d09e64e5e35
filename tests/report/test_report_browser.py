"""Reports of three analysis kinds in a real headless Chromium.

Kinds (synthetic schema-2 documents, tests/report/synthetic.py): classification only,
survival only, and both outcomes with training / internal / external validation and every
optional section. Checked in the browser: every image loads; every number shown equals
metrics.json; no external URL; no text element below 10 px computed size; each figure is
shown at its drawn size (10 pt stays 10 pt); each ROC legend AUC equals the trapezoid
integral of the curve in analysis.json. A screenshot of every section of the combined
report is kept (pytest's tmp folder and ``out/test-artefacts/report-sections/``), and the
PDF export is printed.

The browser evaluates a small probe script on a copy of each report (the report itself has
no script): on ``load`` it writes the state of the page into the DOM, which ``--dump-dom``
returns.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from report_checks import ARTEFACTS, browser_args, metric_problems, parse_report
from synthetic import (
    classification_document,
    combined_document,
    survival_document,
    write_results,
)

from radiomix.report import write_report
from radiomix.report.figures import CSS_DPI, DPI

pytestmark = pytest.mark.slow

KINDS = {"classification": classification_document, "survival": survival_document,
         "combined": combined_document}


def _cli_table(folder: Path) -> Path:
    """A small synthetic feature table with a binary outcome and a time to event."""
    import pandas as pd

    rng = np.random.default_rng(7)
    n = 40
    y = rng.permutation(np.r_[np.ones(16, int), np.zeros(n - 16, int)])
    X = rng.normal(size=(n, 6))
    X[:, 0] += 1.2 * y
    time = np.round(rng.exponential(900, n) / (1 + y)) + 30
    table = pd.DataFrame({"patient_id": [f"P{i:03d}" for i in range(n)], "response": y,
                          "event": rng.binomial(1, 0.7, n), "days": time,
                          **{f"ct.original.stat.f{j}": X[:, j] for j in range(6)},
                          "ct.original.morph.volume_voxels": np.exp(rng.normal(9, 1, n))})
    path = folder / "table.csv"
    table.to_csv(path, index=False)
    return path


def _radiomix_model(folder: Path, *args: str) -> Path:
    """A real ``radiomix model`` run (the analysis engine behind the CLI)."""
    import sys

    table = _cli_table(folder)
    out = folder / "analysis"
    exe = str(Path(sys.executable).with_name("radiomix"))
    proc = subprocess.run([exe, "model", "--features", str(table),
                           "--columns", "ct.original.*", *args, "--outer", "3", "--inner", "2",
                           "--repeats", "1", "--bootstrap", "200", "--no-report", "--quiet",
                           "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


# reports of real engine output, beside the synthetic documents: a classification-only
# `radiomix model` run and a survival-only one
CLI_KINDS = {
    "model_classification": lambda f: _radiomix_model(f, "--target", "response",
                                                      "--model", "logistic"),
    "model_survival": lambda f: _radiomix_model(f, "--time", "days", "--event", "event",
                                                "--horizon", "1"),
}

PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.map.call(document.images, function (i) {
    return {alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,
            shown_w: i.getBoundingClientRect().width, figure: i.getAttribute('data-figure'),
            legend: i.getAttribute('data-legend'), outcome: i.getAttribute('data-outcome'),
            validation: i.getAttribute('data-validation'),
            data: i.getAttribute('src').indexOf('data:image/png;base64,') === 0};
  });
  var nums = Array.prototype.map.call(document.querySelectorAll('[data-metric]'), function (e) {
    var a = {'data-metric': e.getAttribute('data-metric'), text: e.textContent,
             shown: e.getClientRects().length > 0};
    ['data-digits', 'data-scale', 'data-kind'].forEach(function (k) {
      if (e.hasAttribute(k)) { a[k] = e.getAttribute(k); }
    });
    return a;
  });
  var small = [];
  var all = document.body.getElementsByTagName('*');
  for (var i = 0; i < all.length; i++) {
    var el = all[i];
    if (el.tagName === 'SCRIPT' || el.tagName === 'STYLE') { continue; }
    var own = '';
    for (var c = el.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 3) { own += c.nodeValue; }
    }
    if (!own.trim() || el.getClientRects().length === 0) { continue; }
    var size = parseFloat(window.getComputedStyle(el).fontSize);
    if (size < 10) { small.push({tag: el.tagName, text: own.trim().slice(0, 40), px: size}); }
  }
  var urls = [];
  Array.prototype.forEach.call(document.querySelectorAll('[src],[href]'), function (e) {
    var v = e.getAttribute('src') || e.getAttribute('href');
    if (!/^(data:image\\/png;base64,|#)/.test(v)) { urls.push(v.slice(0, 80)); }
  });
  var sections = Array.prototype.map.call(document.querySelectorAll('main > section'),
    function (s) { var r = s.getBoundingClientRect();
                   return {id: s.id, top: r.top + window.scrollY, height: r.height}; });
  var out = document.createElement('pre');
  out.id = 'rmx-probe';
  out.textContent = JSON.stringify({title: document.title, imgs: imgs, nums: nums,
    small: small, urls: urls, sections: sections,
    height: document.documentElement.scrollHeight});
  document.body.appendChild(out);
});
</script>"""


def _run(cmd: list[str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def probe_report(chromium: str, folder: Path) -> tuple[dict, str, str, dict, dict]:
    """(probe result, rendered DOM, report source, metrics, analysis) of folder/report.html."""
    source = (folder / "report.html").read_text(encoding="utf-8")
    assert source.count("</body>") == 1
    probe_page = folder / "report_probe.html"
    probe_page.write_text(source.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = _run([chromium, *browser_args(folder / "profile"), "--window-size=1280,900",
                 "--virtual-time-budget=20000", "--dump-dom", probe_page.as_uri()])
    m = re.search(r'<pre id="rmx-probe">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"the probe did not run (chromium exit {proc.returncode}): {proc.stderr[-2000:]}"
    probe = json.loads(htmllib.unescape(m.group(1)))
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    analysis = json.loads((folder / "analysis.json").read_text(encoding="utf-8"))
    return probe, proc.stdout, source, metrics, analysis


def section_screenshots(chromium: str, folder: Path, sections: list[dict], shots: Path,
                        kept: Path) -> list[Path]:
    """One PNG per section of folder/report.html (each section alone on a page)."""
    source = (folder / "report.html").read_text(encoding="utf-8")
    kept.mkdir(parents=True, exist_ok=True)
    out = []
    for i, sec in enumerate(sections):
        hide = ("<style>header, nav, .banner { display: none !important; } "
                f"main > section:not(#{sec['id']}) {{ display: none !important; }}</style>")
        page = folder / f"section_{sec['id']}.html"
        page.write_text(source.replace("</head>", hide + "</head>"), encoding="utf-8")
        shot = shots / f"{i:02d}_{sec['id']}.png"
        height = min(int(sec["height"]) + 60, 16000)
        proc = _run([chromium, *browser_args(folder / "profile_shot"),
                     f"--window-size=1280,{height}", "--virtual-time-budget=20000",
                     f"--screenshot={shot}", page.as_uri()])
        assert shot.is_file(), f"no screenshot of {sec['id']} (exit {proc.returncode}): " \
                               f"{proc.stderr[-1000:]}"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        shutil.copy2(shot, kept / shot.name)
        out.append(shot)
    return out


def roc_legend_problems(probe: dict, analysis: dict) -> list[str]:
    """ROC legends whose AUC is not the trapezoid area of the document's curve."""
    problems = []
    for img in (i for i in probe["imgs"] if i["figure"] == "roc"):
        legend = json.loads(img["legend"])
        curves = (analysis["outcomes"][int(img["outcome"])]["validation"]
                  [int(img["validation"])]["curves"]["roc"])
        if set(legend) != set(curves):
            problems.append(f"legend keys {sorted(legend)} != curves {sorted(curves)}")
        for key, text in legend.items():
            area = float(np.trapezoid(curves[key]["tpr"], curves[key]["fpr"]))
            if text != f"AUC {area:.2f}":
                problems.append(f"{key}: legend {text!r}, area {area:.4f}")
    return problems


@pytest.fixture(scope="module")
def rendered(chromium: str, tmp_path_factory: pytest.TempPathFactory):
    """Per kind: (probe result, rendered DOM, report source, metrics, analysis, folder)."""
    out = {}
    for kind, make in KINDS.items():
        folder = write_results(tmp_path_factory.mktemp(f"browser_{kind}"), make())
        write_report(folder)
        out[kind] = (*probe_report(chromium, folder), folder)
    for kind, run in CLI_KINDS.items():
        folder = run(tmp_path_factory.mktemp(f"browser_{kind}"))
        write_report(folder)
        out[kind] = (*probe_report(chromium, folder), folder)
    return out


ALL_KINDS = [*KINDS, *CLI_KINDS]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_image_loads(rendered, kind: str) -> None:
    probe, _, source, _, _, _ = rendered[kind]
    imgs = probe["imgs"]
    assert len(imgs) == source.count("<img ")
    assert len(imgs) >= 3
    broken = [i["alt"] for i in imgs if not (i["complete"] and i["w"] > 0 and i["h"] > 0)]
    assert broken == [], f"images that did not load: {broken}"
    assert all(i["data"] for i in imgs)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_numbers_shown_equal_metrics_json(rendered, kind: str) -> None:
    probe, dom, source, metrics, _, _ = rendered[kind]
    nums = probe["nums"]
    assert len(nums) == source.count("data-metric=")
    assert len(nums) > 100
    assert metric_problems(nums, metrics) == []
    body = dom.split('<pre id="rmx-probe">')[0]
    assert parse_report(body).stray == []


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_no_external_url(rendered, kind: str) -> None:
    probe, _, source, _, _, _ = rendered[kind]
    assert probe["urls"] == []
    assert "http://" not in source
    assert "https://" not in source


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_no_text_below_10_px(rendered, kind: str) -> None:
    assert rendered[kind][0]["small"] == []


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_figures_shown_at_drawn_size(rendered, kind: str) -> None:
    """Figure fonts are >= 10 pt at the drawn DPI; shown at CSS_DPI / DPI they stay so."""
    for img in rendered[kind][0]["imgs"]:
        if img["figure"] == "qc":
            continue
        assert img["shown_w"] == pytest.approx(img["w"] * CSS_DPI / DPI, abs=1.0), img["alt"]


@pytest.mark.parametrize("kind", ["classification", "combined"])
def test_roc_legend_auc_is_the_area_of_the_drawn_curve(rendered, kind: str) -> None:
    probe, _, _, _, analysis, _ = rendered[kind]
    assert [i for i in probe["imgs"] if i["figure"] == "roc"]
    assert roc_legend_problems(probe, analysis) == []


def test_section_screenshots(rendered, chromium: str,
                             tmp_path_factory: pytest.TempPathFactory) -> None:
    """One screenshot per section of the combined report (each section alone on a page)."""
    probe, _, _, _, _, folder = rendered["combined"]
    shots = tmp_path_factory.mktemp("report_sections")
    assert len(probe["sections"]) >= 10
    kept = ARTEFACTS / "report-sections"
    made = section_screenshots(chromium, folder, probe["sections"], shots, kept)
    assert len(made) == len(probe["sections"])
    shutil.copy2(folder / "report.html", kept / "combined_report.html")


def test_pdf_export(chromium: str, tmp_path: Path) -> None:
    folder = write_results(tmp_path / "pdf", survival_document())
    write_report(folder, pdf=True)
    pdf = (folder / "report.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-"
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 2


@pytest.fixture(scope="module")
def demo_folder(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quick demo on 24 patients (12 leave too few events per fold for every arm)."""
    from radiomix.demo import run_demo

    out = tmp_path_factory.mktemp("demo24")
    run_demo(out, data_dir=shared_data, quick=True, patients=24, jobs=1)
    return out


@pytest.mark.data
def test_demo_report_in_browser(demo_folder: Path, chromium: str,
                                tmp_path_factory: pytest.TempPathFactory) -> None:
    """The demo's report: the same checks, and a screenshot of every section."""
    quick_demo = demo_folder
    probe, dom, _, metrics, analysis = probe_report(chromium, quick_demo)
    broken = [i["alt"] for i in probe["imgs"] if not (i["complete"] and i["w"] > 0)]
    assert broken == []
    assert metric_problems(probe["nums"], metrics) == []
    assert parse_report(dom.split('<pre id="rmx-probe">')[0]).stray == []
    assert probe["small"] == []
    assert probe["urls"] == []
    assert roc_legend_problems(probe, analysis) == []
    shots = tmp_path_factory.mktemp("demo_sections")
    kept = ARTEFACTS / "demo-sections"
    made = section_screenshots(chromium, quick_demo, probe["sections"], shots, kept)
    assert len(made) == len(probe["sections"]) >= 8
    shutil.copy2(quick_demo / "report.html", kept / "demo_report.html")
