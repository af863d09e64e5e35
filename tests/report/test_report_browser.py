"""The quick demo's report.html in a real headless Chromium.

Checks: the page renders, every image loads (``naturalWidth > 0``), every number shown
equals metrics.json, the untrained-network banner is visible; a full-page screenshot is
kept as a test artefact (pytest's tmp folder and ``out/test-artefacts/``).

The browser evaluates a small probe script on a copy of the report (the report itself has
no script): on ``load`` it writes the state of every image and every ``data-metric``
element into the DOM, which ``--dump-dom`` returns.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_checks import ARTEFACTS, browser_args, metric_problems, parse_report

pytestmark = pytest.mark.data

PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.map.call(document.images, function (i) {
    return {alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,
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
  var alerts = Array.prototype.map.call(document.querySelectorAll('[role=alert]'),
                                        function (e) { return e.innerText; });
  var out = document.createElement('pre');
  out.id = 'rmx-probe';
  out.textContent = JSON.stringify({title: document.title, imgs: imgs, nums: nums,
    alerts: alerts, height: document.documentElement.scrollHeight,
    sections: document.querySelectorAll('main section').length});
  document.body.appendChild(out);
});
</script>"""


def _run(cmd: list[str], timeout: int = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def rendered(quick_demo: Path, chromium: str, tmp_path_factory: pytest.TempPathFactory):
    """(probe result, rendered DOM, report source, metrics) of the quick demo's report."""
    report = quick_demo / "report.html"
    source = report.read_text(encoding="utf-8")
    work = tmp_path_factory.mktemp("browser")
    probe_page = work / "report_probe.html"
    assert source.count("</body>") == 1
    probe_page.write_text(source.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = _run([chromium, *browser_args(work / "profile"), "--virtual-time-budget=20000",
                 "--dump-dom", probe_page.as_uri()])
    m = re.search(r'<pre id="rmx-probe">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"the probe did not run (chromium exit {proc.returncode}): {proc.stderr[-2000:]}"
    probe = json.loads(htmllib.unescape(m.group(1)))
    metrics = json.loads((quick_demo / "metrics.json").read_text(encoding="utf-8"))
    return probe, proc.stdout, source, metrics


def test_page_renders(rendered) -> None:
    probe, dom, _, _ = rendered
    assert probe["title"].startswith("radiomix report:")
    assert probe["sections"] >= 12
    assert probe["height"] > 3000
    assert "Predicting lung metastasis" in dom
    assert "Leakage audit" in dom


def test_every_image_loads(rendered) -> None:
    probe, _, source, _ = rendered
    imgs = probe["imgs"]
    assert len(imgs) == source.count("<img ")
    assert len(imgs) >= 12 * 3 + 6  # QC thumbnails of 12 patients x 3 images + figures
    broken = [i["alt"] for i in imgs if not (i["complete"] and i["w"] > 0 and i["h"] > 0)]
    assert broken == [], f"images that did not load: {broken}"
    assert all(i["data"] for i in imgs)


def test_numbers_shown_equal_metrics_json(rendered) -> None:
    probe, dom, source, metrics = rendered
    nums = probe["nums"]
    assert len(nums) == source.count("data-metric=")
    assert len(nums) > 300
    assert metric_problems(nums, metrics) == []
    hidden = [n["data-metric"] for n in nums if not n["shown"]]
    assert hidden == []
    # digits anywhere else in <main> of the rendered page: only inside names and code
    body = dom.split('<pre id="rmx-probe">')[0]
    assert parse_report(body).stray == []
    shown = {n["data-metric"] for n in nums}
    for arm in metrics["arm_order"]:
        for end in ("estimate", "ci_low", "ci_high"):
            assert f"/arms/{arm}/metrics/roc_auc/{end}" in shown
    assert "/leakage/schemes/0/naive/roc_auc/estimate" in shown
    assert "/survival/models/clinical_cox/c_index/estimate" in shown


def test_untrained_network_banner_visible(rendered) -> None:
    probe, _, _, metrics = rendered
    assert any("UNTRAINED" in a for a in probe["alerts"])
    assert metrics["settings"]["deep"]["random_weights"] is True


def test_no_external_resources(rendered) -> None:
    _, _, source, _ = rendered
    assert "http://" not in source
    assert "https://" not in source
    assert not re.search(r"""(src|href)\s*=\s*["']?(//|[a-z]+:(?!image/png;base64))""", source)


def test_screenshot(quick_demo: Path, chromium: str, rendered, tmp_path: Path) -> None:
    probe = rendered[0]
    shot = tmp_path / "report.png"
    height = min(int(probe["height"]) + 50, 16000)
    proc = _run([chromium, *browser_args(tmp_path / "profile"), f"--window-size=1280,{height}",
                 "--virtual-time-budget=20000", f"--screenshot={shot}",
                 (quick_demo / "report.html").as_uri()])
    assert shot.is_file(), f"no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(shot, ARTEFACTS / "quick_demo_report.png")
    shutil.copy2(quick_demo / "report.html", ARTEFACTS / "quick_demo_report.html")
