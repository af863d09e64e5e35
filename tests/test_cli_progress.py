"""The command line's progress display (:mod:`radiomix.cli_progress`, issue 19).

Oracles: a pseudo-terminal (rich draws a bar only on a terminal, so a real ``radiomix``
process under a pty must show one and must show none with ``--quiet``), a non-terminal
console (tests, CI logs: nothing drawn), and the library's progress events counted by hand.
"""

from __future__ import annotations

import io
import logging
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

import radiomix.ibsi
from _data import require_data
from _pty import RADIOMIX, run_in_pty
from radiomix.cli import app
from radiomix.cli_progress import (
    ProgressDisplay,
    WarnOnce,
    analysis_callback,
    check_callback,
)
from radiomix.ibsi import CheckProgress

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
IBSI_CHECK = ["ibsi-check", "--dataset", "dig_phantom", "--source", "nifti"]


def _plain(text: str) -> str:
    """Terminal output without its colour and cursor sequences."""
    return ANSI.sub("", text)


def _bar_shown(text: str, stage: str) -> bool:
    """Whether a bar line of ``stage`` (description, done/total, ETA) was drawn."""
    return re.search(rf"{stage} ━+ \d+/\d+ .*ETA", _plain(text)) is not None


needs_script = pytest.mark.skipif(not RADIOMIX.exists(), reason="radiomix script not installed")


# -- real processes under a pseudo-terminal ---------------------------------------------------


@needs_script
def test_ibsi_check_draws_a_bar_on_a_terminal_and_none_with_quiet(tmp_path):
    require_data("ibsi1", "digital_phantom")
    rc, shown = run_in_pty([str(RADIOMIX), *IBSI_CHECK], tmp_path)
    assert rc == 0, shown
    assert _bar_shown(shown, "checking"), shown
    assert "dig_phantom (nifti)" in _plain(shown)  # the item being computed
    assert "482/482 reference values matched" in _plain(shown)

    rc, quiet = run_in_pty([str(RADIOMIX), *IBSI_CHECK, "--quiet"], tmp_path)
    assert rc == 0, quiet
    assert not _bar_shown(quiet, "checking")
    assert "ETA" not in quiet
    assert "482/482 reference values matched" in _plain(quiet)


@pytest.mark.slow  # two stability runs under a pty: ~20 s on the busy 2-core machine
@needs_script
def test_stability_draws_bars_on_a_terminal_and_none_with_quiet(tmp_path):
    from test_stability_cli import write_synthetic_study

    study = write_synthetic_study(tmp_path / "study")
    cmd = [str(RADIOMIX), "stability", str(study), "-p", "original,volume:-1", "--patients", "2"]
    rc, shown = run_in_pty([*cmd, "--out", "shown"], tmp_path)
    assert rc == 0, shown
    assert _bar_shown(shown, "perturbing"), shown
    assert _bar_shown(shown, "extracting"), shown
    assert "Stable features" in _plain(shown)

    rc, quiet = run_in_pty([*cmd, "--out", "quiet", "--quiet"], tmp_path)
    assert rc == 0, quiet
    assert "ETA" not in quiet
    assert "perturbing" not in quiet
    assert "extracting" not in quiet
    assert (tmp_path / "quiet" / "stability.parquet").is_file()


# -- off a terminal: nothing drawn --------------------------------------------------------------


def test_ibsi_check_off_a_terminal_prints_only_the_results(monkeypatch):
    """CliRunner's streams are no terminal: the output is the results, no bar or ETA."""

    def fake_check(*, datasets, sources, progress):
        for i in range(3):
            progress(CheckProgress(done=i, total=3, item=f"item {i}"))
        progress(CheckProgress(done=3, total=3, item=""))
        return {"matched": 1, "total": 1, "summary": [], "mismatches": []}

    monkeypatch.setattr(radiomix.ibsi, "check", fake_check)
    res = CliRunner().invoke(app, ["ibsi-check", "--dataset", "dig_phantom"])
    assert res.exit_code == 0, res.output
    assert "ETA" not in res.output
    assert "item" not in res.output
    assert res.output.strip().endswith("1/1 reference values matched")


def _console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=terminal, width=100), buf


@pytest.mark.parametrize(
    ("terminal", "quiet", "drawn"),
    [(True, False, True), (True, True, False), (False, False, False)],
)
def test_bar_only_on_a_terminal_and_not_quiet(terminal, quiet, drawn):
    console, buf = _console(terminal=terminal)
    with ProgressDisplay(console, quiet=quiet) as shown:
        callback = check_callback(shown)
        callback(CheckProgress(done=0, total=2, item="config_A (nifti)"))
        callback(CheckProgress(done=1, total=2, item="config_B (nifti)"))
        assert (shown.bar is not None) is drawn
    assert shown.bar is None  # closed on leaving the block
    assert _bar_shown(buf.getvalue(), "checking") is drawn
    assert ("config_A (nifti)" in buf.getvalue()) is drawn


def test_lines_off_a_terminal_only_when_asked():
    console, buf = _console(terminal=False)
    ProgressDisplay(console, quiet=False, lines=True).line("[1/2] P1 ok")
    ProgressDisplay(console, quiet=False).line("[2/2] P2 ok")
    ProgressDisplay(console, quiet=True, lines=True).line("[2/2] P3 ok")
    assert buf.getvalue() == "[1/2] P1 ok\n"
    console, buf = _console(terminal=True)  # on a terminal the bar replaces the lines
    ProgressDisplay(console, quiet=False, lines=True).line("[1/2] P1 ok")
    assert buf.getvalue() == ""


def test_analysis_warnings_print_once_even_when_quiet():
    from radiomix.analysis.study import StudyProgress

    console, buf = _console(terminal=False)
    callback = analysis_callback(ProgressDisplay(console, quiet=True))
    for _ in range(3):
        callback(StudyProgress("analysis", "few events in fold 2", level="warning"))
    callback(StudyProgress("analysis", "a second warning", level="warning"))
    callback(StudyProgress("analysis", "arm 1 of 4", 1, 4))
    assert buf.getvalue() == "warning: few events in fold 2\nwarning: a second warning\n"


def test_analysis_stages_get_their_own_bars_and_keep_their_counts():
    """A step of unknown length (QC thumbnails, the report) neither resets nor invents a
    count: the analysis bar keeps 3/4 while the report stage runs."""
    from radiomix.analysis.engine import AnalysisProgress
    from radiomix.analysis.study import StudyProgress

    console, buf = _console(terminal=True)
    shown = ProgressDisplay(console, quiet=False)
    callback = analysis_callback(shown)
    callback(StudyProgress("features", "P1/1/ct: ok", 5, 10))
    callback(StudyProgress("analysis", "drawing QC thumbnails"))
    callback(AnalysisProgress("radiomics arm", 3, 4))  # run_adhoc's events carry no stage
    callback(StudyProgress("analysis", "a step of unknown length"))
    callback(StudyProgress("report", "writing the report"))
    tasks = {t.description: t for t in shown.bar.tasks}
    shown.close()
    assert set(tasks) == {"features", "analysis", "report"}
    assert (tasks["features"].completed, tasks["features"].total) == (5, 10)
    assert (tasks["analysis"].completed, tasks["analysis"].total) == (3, 4)
    assert tasks["report"].total is None
    assert "writing the report" in _plain(buf.getvalue())


def test_warn_once_filter_drops_repeated_warnings_only():
    log = logging.getLogger("radiomix.test_cli_progress")
    records = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append((record.levelname, record.getMessage()))

    handler = Keep()
    handler.addFilter(WarnOnce())
    log.addHandler(handler)
    log.propagate = False
    try:
        for _ in range(3):
            log.warning("case %s: spacing differs", "P1")
            log.error("case P1 failed")
        log.warning("case %s: spacing differs", "P2")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    assert records == [
        ("WARNING", "case P1: spacing differs"),
        ("ERROR", "case P1 failed"),
        ("ERROR", "case P1 failed"),
        ("ERROR", "case P1 failed"),
        ("WARNING", "case P2: spacing differs"),
    ]


# -- the library's progress events ------------------------------------------------------------


def test_ibsi_check_reports_each_dataset_and_source(monkeypatch):
    """Two CT configurations × two sources plus the NIfTI-only digital phantom: 5 items,
    announced in order, then one final event."""
    monkeypatch.setattr(radiomix.ibsi, "reference_rows", lambda: [])
    monkeypatch.setattr(radiomix.ibsi, "compute_dataset", lambda ds, source: {})
    events: list[CheckProgress] = []
    radiomix.ibsi.check(
        datasets=["dig_phantom", "config_A", "config_B"],
        sources=["nifti", "dicom"],
        progress=events.append,
    )
    assert [(e.done, e.total, e.item) for e in events] == [
        (0, 5, "dig_phantom (nifti)"),
        (1, 5, "config_A (nifti)"),
        (2, 5, "config_A (dicom)"),
        (3, 5, "config_B (nifti)"),
        (4, 5, "config_B (dicom)"),
        (5, 5, ""),
    ]


def test_perturbation_step_reports_each_pair(tmp_path):
    from radiomix.stability import prepare_perturbed_study
    from test_stability_cli import write_synthetic_study

    study = write_synthetic_study(tmp_path / "study")
    events = []
    prepare_perturbed_study(
        study,
        tmp_path / "out",
        perturbations="original,volume:-1",
        patients=3,
        progress=events.append,
    )
    assert [(e.done, e.total, e.case) for e in events] == [
        (0, 3, ""),
        (1, 3, "P0/1/ct"),
        (2, 3, "P1/1/ct"),
        (3, 3, "P2/1/ct"),
    ]


def test_demo_prints_a_run_warning_once(monkeypatch, tmp_path):
    """A banner warned about during the run is not printed again at the end; a banner that
    was not is."""
    import json

    import radiomix.demo
    from radiomix.analysis.study import StudyProgress

    seen = "The deep features come from a network with random weights."
    unseen = "Only one centre: no external validation."

    def fake_run_demo(out, *, progress, **kwargs):
        out.mkdir(parents=True)
        for _ in range(2):
            progress(StudyProgress("analysis", seen, level="warning"))
        banners = [
            {"level": "error", "title": "Untrained deep network", "text": seen},
            {"level": "warning", "title": "Single centre", "text": unseen},
        ]
        doc = {"outcomes": [], "banners": banners, "errors": []}
        (out / "analysis.json").write_text(json.dumps(doc), encoding="utf-8")
        return out / "report.html"

    monkeypatch.setattr(radiomix.demo, "run_demo", fake_run_demo)
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--quiet"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert text.count(seen) == 1
    assert f"Single centre: {unseen}" in text
