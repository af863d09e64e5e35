"""The intensity-volume histogram of ``ivh.method: none`` on intensities that are not integers.

A ninth-round finding: on PET SUV with the default settings the IVH used a unit grid from
the ROI minimum, so I90 was reported 66 % off (the smallest observed intensity plus one, an
intensity no voxel has). IBSI's discrete case needs integer intensities; continuous ones
need a re-discretisation (``fbs``). The features are NaN with the reason in the notes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import radiomix


def _case(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image = np.zeros((6, 6, 6), dtype=np.float64)
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[1:5, 1:5, 1:5] = 1
    image[mask > 0] = values
    return image, mask


def test_non_integer_intensities_give_no_ivh_and_say_why():
    rng = np.random.default_rng(0)
    image, mask = _case(rng.uniform(0.5, 12.0, 64))
    row = radiomix.extract(image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"])
    ivh = [c for c in row.columns if ".ivh." in c]
    assert len(ivh) == 7
    assert all(math.isnan(float(row[c].iloc[0])) for c in ivh)
    note = row.attrs["provenance"]["notes"]["ivh"]
    assert note.startswith("not computed: ivh.method none uses the intensities as integers")
    assert "64 of 64 ROI intensities are not" in note


def test_fixed_bin_size_on_the_same_intensities_matches_an_independent_count():
    """With ``fbs`` the same intensities give the IBSI continuous-case IVH: V10 is the
    share of voxels whose bin centre reaches 10 % of the centre range (counted here)."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0.5, 12.0, 64)
    image, mask = _case(x)
    w = 0.1
    row = radiomix.extract(image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"],
                           ivh={"method": "fbs", "bin_width": w})
    centres = x.min() + (np.floor((x - x.min()) / w) + 0.5) * w
    lo, hi = centres.min(), centres.max()
    grid = lo + np.arange(round(float(hi - lo) / w) + 1) * w
    first = grid[(grid - lo) / (hi - lo) >= 0.10 - 1e-12][0]
    expected = np.mean(centres >= first - 1e-9)
    got = float(row["image.original.ivh.volume_fraction_at_10pct_intensity"].iloc[0])
    assert got == pytest.approx(expected)
    assert "ivh" not in row.attrs["provenance"]["notes"]


def test_integer_intensities_keep_the_discrete_ivh():
    rng = np.random.default_rng(2)
    image, mask = _case(rng.integers(-50, 80, 64).astype(float))
    row = radiomix.extract(image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"])
    assert np.isfinite(float(row["image.original.ivh.intensity_at_90pct_volume"].iloc[0]))
    assert "ivh" not in row.attrs["provenance"]["notes"]
