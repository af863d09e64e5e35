"""Helpers of the report tests: read what an HTML report shows and compare it with
metrics.json, independently of the code that wrote it.

The rule checked: every number shown in ``<main>`` sits in an element with a
``data-metric="<JSON pointer>"`` attribute whose text equals the value at that pointer
of metrics.json (rounded to ``data-digits`` decimals after multiplying by ``data-scale``).
Outside such elements, digits may appear only inside names (``STS_001``, ``ResNet18``,
``mr_t1``) or in elements that are not results: ``<code>`` (file and column names),
``.cite`` (bibliographic references), ``.name`` (proper names), ``<style>``, ``<script>``.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

ARTEFACTS = Path(__file__).resolve().parents[2] / "out" / "test-artefacts"
"""Where test artefacts (the report screenshot) are copied."""


def browser_args(profile: Path) -> list[str]:
    """Flags of an isolated, offline-friendly headless Chromium run."""
    return [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-extensions", "--hide-scrollbars", "--mute-audio",
        f"--user-data-dir={profile}",
    ]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
SKIP_TAGS = {"style", "script", "code", "pre", "title"}
SKIP_CLASSES = {"cite", "name"}
NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:[.,]\d+)*(?![\w])")


def resolve(doc: Any, pointer: str) -> Any:
    """RFC 6901 JSON pointer (written here again, not imported from radiomix)."""
    cur = doc
    if pointer == "":
        return cur
    assert pointer.startswith("/"), pointer
    for raw in pointer[1:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        cur = cur[int(key)] if isinstance(cur, list) else cur[key]
    return cur


class ReportParser(HTMLParser):
    """Collects data-metric elements, images and stray numbers of ``<main>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, dict[str, str] | None]] = []
        self.metrics: list[dict[str, Any]] = []
        self.images: list[dict[str, str]] = []
        self.stray: list[str] = []
        self.in_main = 0

    def _skipping(self) -> bool:
        return any(skip for _, skip, _ in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "img":
            self.images.append(a)
        if tag in VOID:
            return
        classes = set(a.get("class", "").split())
        metric = None
        if "data-metric" in a:
            metric = {**a, "text": ""}
            self.metrics.append(metric)
        skip = tag in SKIP_TAGS or bool(classes & SKIP_CLASSES) or metric is not None
        if tag == "main":
            self.in_main += 1
        self.stack.append((tag, skip, metric))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while self.stack:
            t, _, _ = self.stack.pop()
            if t == "main":
                self.in_main -= 1
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, _, metric in reversed(self.stack):
            if metric is not None:
                metric["text"] += data
                break
        if self.in_main and not self._skipping():
            self.stray.extend(NUMBER.findall(data))


def parse_report(html: str) -> ReportParser:
    parser = ReportParser()
    parser.feed(html)
    parser.close()
    return parser


def metric_problems(elements: list[dict[str, Any]], metrics: dict[str, Any]) -> list[str]:
    """Mismatches between the shown texts and metrics.json (empty when all agree)."""
    problems = []
    for el in elements:
        ptr, text = el["data-metric"], el["text"].strip()
        try:
            value = resolve(metrics, ptr)
        except (KeyError, IndexError, ValueError, TypeError):
            problems.append(f"{ptr}: not in metrics.json")
            continue
        if el.get("data-kind") == "text":
            expected = "n/a" if value is None else str(value)
            if text != expected:
                problems.append(f"{ptr}: shows {text!r}, metrics.json has {expected!r}")
            continue
        if value is None:
            if text != "n/a":
                problems.append(f"{ptr}: shows {text!r} for a missing value")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{ptr}: numeric element for non-number {value!r}")
            continue
        digits = int(el.get("data-digits", "2"))
        scale = float(el.get("data-scale", "1"))
        try:
            shown = float(text.replace("−", "-"))
        except ValueError:
            problems.append(f"{ptr}: shows {text!r}, not a number")
            continue
        tol = 0.5 * 10 ** (-digits) + 1e-9 * max(1.0, abs(value * scale))
        if not math.isclose(shown, value * scale, abs_tol=tol):
            problems.append(f"{ptr}: shows {shown}, metrics.json has {value} (x{scale:g})")
    return problems


def page_text(page: str) -> str:
    """The visible text of a report page: tags, styles and embedded images removed,
    entities decoded, white space collapsed, no space before closing punctuation."""
    import html as htmllib

    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"data:image/png;base64,[^\"']+", "", page)
    text = re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))
    return re.sub(r"\( ", "(", re.sub(r" ([).,;:])", r"\1", text))


def render_checked(tmp_path: Path, doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The report page of a results document and its metrics.json, every number the page
    shows checked against metrics.json (and no stray number)."""
    import json

    from synthetic import write_results

    from radiomix.report import write_report

    folder = write_results(tmp_path, doc)
    page = write_report(folder).read_text(encoding="utf-8")
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    parsed = parse_report(page)
    assert metric_problems(parsed.metrics, metrics) == []
    assert parsed.stray == [], parsed.stray
    return page, metrics
