"""``radiomix report`` and ``radiomix demo`` commands: in-process and one real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer
from synthetic import write_results
from typer.testing import CliRunner

from radiomix.cli_report import demo, report

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(demo)
    app.command()(report)
    return app


def test_report_command(tmp_path: Path) -> None:
    folder = write_results(tmp_path / "res")
    result = runner.invoke(_app(), ["report", str(folder), "--out", str(tmp_path / "html")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("report.html")
    assert (tmp_path / "html" / "report.html").is_file()
    assert (tmp_path / "html" / "metrics.json").is_file()


def test_report_command_without_results(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert "analysis.json not found" in result.output


def test_demo_usage_errors(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["demo", "--jobs", "0", "--out", str(tmp_path)])
    assert result.exit_code == 2
    result = runner.invoke(_app(), ["demo", "--patients", "3", "--out", str(tmp_path)])
    assert result.exit_code == 2


def test_demo_without_data(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["demo", "--data", str(tmp_path), "--out",
                                    str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "clinical table not found" in result.output


def test_help_is_complete() -> None:
    result = runner.invoke(_app(), ["demo", "--help"])
    assert result.exit_code == 0
    for opt in ("--out", "--data", "--jobs", "--patients", "--quick", "--weights", "--seed",
                "--quiet"):
        assert opt in result.output


def test_report_subprocess(tmp_path: Path) -> None:
    folder = write_results(tmp_path / "res")
    proc = subprocess.run([sys.executable, "-m", "radiomix.cli_report", "report", str(folder)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == (folder / "report.html").resolve()
