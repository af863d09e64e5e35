"""``radiomix ibsi-check`` that can check nothing (outside tester Y, round 20): without the
IBSI 1 reference table it printed a 43-line traceback; the digital phantom from the DICOM
source (it has none) printed "0/0 reference values matched" and exit 0, a pass."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from _data import require_data

CLI = [sys.executable, "-c", "from radiomix.cli import main; main()", "ibsi-check"]


def test_missing_reference_data_is_one_line(tmp_path):
    res = subprocess.run([*CLI, "--dataset", "config_A"], capture_output=True, text=True,
                         env={**os.environ, "RADIOMIX_DATA": str(tmp_path)}, check=False)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "IBSI 1 reference values not found" in lines[0]
    assert "RADIOMIX_DATA" in lines[0]


def test_a_check_of_nothing_is_refused():
    require_data("ibsi1")
    res = subprocess.run([*CLI, "--dataset", "dig_phantom", "--source", "dicom"],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "no reference value to check" in res.stderr
    assert "0/0" not in res.stdout


@pytest.mark.parametrize("dataset", ["dig_phantom"])
def test_a_real_check_still_passes(dataset):
    require_data("ibsi1")
    res = subprocess.run([*CLI, "--dataset", dataset], capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "reference values matched" in res.stdout
