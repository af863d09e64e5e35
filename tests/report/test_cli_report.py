"""``radiomix report``: in-process and one real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer
from synthetic import survival_document, write_results
from typer.testing import CliRunner

from radiomix.cli_report import report

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(report)
    app.command("noop")(lambda: None)  # two commands: typer keeps the `report` name
    return app


def test_report_command(tmp_path: Path) -> None:
    folder = write_results(tmp_path / "res", survival_document())
    result = runner.invoke(_app(), ["report", str(folder), "--out", str(tmp_path / "html")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("report.html")
    assert (tmp_path / "html" / "report.html").is_file()
    assert (tmp_path / "html" / "metrics.json").is_file()


def test_report_command_without_results(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert "analysis.json not found" in result.output
    assert "Traceback" not in result.output


def test_report_command_refuses_schema_1(tmp_path: Path) -> None:
    (tmp_path / "analysis.json").write_text(json.dumps({"schema": "radiomix.analysis/1"}),
                                            encoding="utf-8")
    result = runner.invoke(_app(), ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert "re-run `radiomix analyse`" in result.output


def test_help_lists_options() -> None:
    result = runner.invoke(_app(), ["report", "--help"])
    assert result.exit_code == 0
    for opt in ("--out", "--pdf"):
        assert opt in result.output


def test_report_subprocess(tmp_path: Path) -> None:
    folder = write_results(tmp_path / "res", survival_document())
    proc = subprocess.run([sys.executable, "-m", "radiomix.cli_report", "report", str(folder)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == (folder / "report.html").resolve()
