"""``radiomix ibsi-check --ibsi2`` (issue 20): the IBSI 2 phase-1 reference response maps,
one line per test with its tolerance; an unknown IBSI 1 data set is a clean usage error."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

import radiomix.ibsi
from _data import require_data
from radiomix.cli import app


def test_unknown_dataset_is_a_one_line_usage_error():
    res = CliRunner().invoke(app, ["ibsi-check", "--dataset", "config_Z"])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1, res.output
    assert "unknown IBSI 1 data set 'config_Z'" in lines[0]
    assert "config_A" in lines[0]


def test_ibsi2_and_dataset_together_are_refused():
    res = CliRunner().invoke(app, ["ibsi-check", "--ibsi2", "--dataset", "config_A"])
    assert res.exit_code == 2
    assert "--dataset" in res.output


def test_ibsi2_lists_each_test_with_its_tolerance(monkeypatch):
    require_data("ibsi2", "reference_response_maps")
    real = radiomix.ibsi.check_ibsi2
    monkeypatch.setattr(
        radiomix.ibsi, "check_ibsi2", lambda **kw: real(tests=["1.a.3", "8.a.1", "10.b.1"])
    )
    res = CliRunner().invoke(app, ["ibsi-check", "--ibsi2"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    by_test = {line.split()[1]: line for line in lines if line.startswith(("pass", "FAIL"))}
    assert set(by_test) == {"1.a.3", "8.a.1", "10.b.1"}

    # tolerance = 1 % of the reference map's range (reference data README: 0.000756, 2.927)
    def tolerance(line: str) -> float:
        return float(line.split("tolerance ")[1].split()[0])

    assert tolerance(by_test["1.a.3"]) == pytest.approx(0.000756, rel=1e-3)
    assert tolerance(by_test["8.a.1"]) == pytest.approx(2.927, rel=1e-3)
    assert all(line.startswith("pass") for line in by_test.values())
    assert "3/3 IBSI 2 phase-1 response maps within tolerance" in res.output


def test_ibsi2_failure_exits_1(monkeypatch):
    failing = {
        "passed": 0,
        "total": 1,
        "tests": [
            {
                "test": "8.a.1",
                "phantom": "checkerboard",
                "filter": "simoncelli_l1",
                "max_abs_diff": 136.2,
                "tolerance": 2.927,
                "passed": False,
            }
        ],
    }
    monkeypatch.setattr(radiomix.ibsi, "check_ibsi2", lambda **kw: failing)
    res = CliRunner().invoke(app, ["ibsi-check", "--ibsi2"])
    assert res.exit_code == 1
    assert "FAIL  8.a.1" in res.output
    assert "max |diff| 136.2 > tolerance 2.927" in res.output


@pytest.mark.slow
def test_ibsi2_all_33_maps_pass_in_a_subprocess():
    require_data("ibsi2", "reference_response_maps")
    proc = subprocess.run(
        [sys.executable, "-m", "radiomix.cli", "ibsi-check", "--ibsi2"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "33/33 IBSI 2 phase-1 response maps within tolerance" in proc.stdout
    assert sum(line.startswith("pass") for line in proc.stdout.splitlines()) == 33
