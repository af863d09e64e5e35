"""Nineteenth outside round: the calibration band of several lesions per patient.

With 30 patients of 10 lesions each (the outcome the patient's), a bin of 60 rows held 9 to
14 patients, and its band was the Wilson interval of 60 independent rows ([0.11, 0.30]
for 11 of 60); resampling patients gave bands 1.6 to 3 times wider. Every other interval
resamples patients. The band now counts the bin's effective number of patients.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from radiomix.evaluate.curves import calibration_curve


def _wilson(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval, written out (Wilson 1927)."""
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def test_a_bin_of_whole_patients_counts_its_patients():
    """Ten lesions a patient, each patient's predictions together: each bin holds whole
    patients, so its interval is Wilson's over its patients, not its rows."""
    rng = np.random.default_rng(0)
    patients = np.repeat(np.arange(30), 10)
    risk = np.repeat(np.sort(rng.uniform(0.05, 0.95, 30)), 10)
    y = np.repeat(rng.random(30) < np.sort(rng.uniform(0.05, 0.95, 30)), 10).astype(int)
    proba = risk + np.tile(np.linspace(0, 1e-3, 10), 30)  # ranks keep patients together
    got = calibration_curve(y, proba, n_bins=5, groups=patients.astype(str))
    z = float(norm.ppf(0.975))
    assert got["n"] == [60] * 5
    assert got["n_effective"] == pytest.approx([6.0] * 5)
    for k in range(5):
        lo, hi = _wilson(got["observed"][k], 6.0, z)
        assert (got["lower"][k], got["upper"][k]) == pytest.approx((lo, hi), abs=1e-12)
    rows = calibration_curve(y, proba, n_bins=5)  # as if 300 independent patients
    widths = np.subtract(got["upper"], got["lower"])
    assert np.all(widths > np.subtract(rows["upper"], rows["lower"]))


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=6, max_value=60), st.integers(min_value=0, max_value=2**31 - 1))
def test_one_row_a_patient_is_the_usual_wilson_interval(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = (0, 1)  # both classes
    proba = rng.random(n)
    plain = calibration_curve(y, proba, n_bins=3)
    grouped = calibration_curve(y, proba, n_bins=3, groups=[f"p{i}" for i in range(n)])
    assert grouped["lower"] == pytest.approx(plain["lower"], abs=1e-12)
    assert grouped["upper"] == pytest.approx(plain["upper"], abs=1e-12)
    assert grouped["n_effective"] == pytest.approx([float(k) for k in plain["n"]])


def test_the_effective_number_is_kish():
    """A bin of 4 rows: patient a has 3 of them, b 1: (3 + 1)^2 / (9 + 1) = 1.6."""
    y = [0, 0, 0, 1, 1, 1, 0, 1]
    proba = [0.1, 0.15, 0.2, 0.25, 0.6, 0.7, 0.8, 0.9]
    got = calibration_curve(y, proba, n_bins=2, groups=list("aaabcdef"))
    assert got["n_effective"] == pytest.approx([1.6, 4.0])
