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
    """With ``fbs`` the same intensities give the IBSI continuous-case IVH (P88C): the range
    runs from the centre of the lowest bin to that of the highest (no re-segmentation
    range), and V10 and V90 are the shares of voxels whose bin centre reaches the first
    intensity of the range at 10 % and 90 % of it (counted here)."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0.5, 12.0, 64)
    image, mask = _case(x)
    w = 0.1
    row = radiomix.extract(image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"],
                           ivh={"method": "fbs", "bin_width": w})
    centres = x.min() + (np.floor((x - x.min()) / w) + 0.5) * w
    lo, hi = centres.min(), centres.max()
    grid = lo + np.arange(round(float(hi - lo) / w) + 1) * w
    for pct in (10, 90):
        first = grid[(grid - lo) / (hi - lo) >= pct / 100 - 1e-12][0]
        expected = np.mean(centres >= first - 1e-9)
        got = float(row[f"image.original.ivh.volume_fraction_at_{pct}pct_intensity"].iloc[0])
        assert got == pytest.approx(expected)
    assert "ivh" not in row.attrs["provenance"]["notes"]


@pytest.mark.parametrize("use_range", [True, False])
def test_fixed_bin_size_with_a_half_open_range_ends_at_the_highest_bin(use_range):
    """The example study's PET setting, ``range: [0, null]``: the bins start at 0 and the
    IVH range ends at the centre of the highest occupied bin (IBSI's X_max - w/2 with
    X_max that bin's upper edge). Without the range (``use_resegmentation_range: false``)
    it starts at the lowest occupied bin's centre, the bins still anchored at 0."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0.5, 4.0, 60), [10.76, 11.2, 11.5, 11.901]])
    image, mask = _case(x)
    w = 0.1
    row = radiomix.extract(
        image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"],
        resegmentation={"range": [0.0, None]},
        ivh={"method": "fbs", "bin_width": w, "use_resegmentation_range": use_range})
    centres = (np.floor(x / w) + 0.5) * w
    lo = 0.05 if use_range else centres.min()
    hi = centres.max()  # 11.95
    grid = lo + np.arange(round(float(hi - lo) / w) + 1) * w
    gamma = (grid - lo) / (hi - lo)
    for pct in (10, 90):
        first = grid[gamma >= pct / 100 - 1e-12][0]
        expected = np.mean(centres >= first - 1e-9)
        got = float(row[f"image.original.ivh.volume_fraction_at_{pct}pct_intensity"].iloc[0])
        assert got == pytest.approx(expected)


def test_coarse_bins_keep_the_highest_bin_in_the_range():
    """A nineteenth-round finding on a trial of IBSI's formula read with the ROI's maximum
    (X_max - w/2, half a bin below it): with 1 SUV bins on STS_008's PET, V90 was 0 though
    1.8 % of the voxels lay in the top bin, above 90 % of the range. The highest bin's
    centre ends the range: V90 is that bin's share."""
    x = np.concatenate([np.full(61, 1.3), [2.2, 2.6, 3.5]])  # top bin [3, 4): 1 voxel
    image, mask = _case(x)
    row = radiomix.extract(image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"],
                           resegmentation={"range": [0.0, None]},
                           ivh={"method": "fbs", "bin_width": 1.0})
    v90 = float(row["image.original.ivh.volume_fraction_at_90pct_intensity"].iloc[0])
    assert v90 == pytest.approx(1 / 64)
    i10 = float(row["image.original.ivh.intensity_at_10pct_volume"].iloc[0])
    assert i10 == 2.5  # nu(2.5) = 3/64 <= 0.1: the centre of the second-highest bin


def test_integer_intensities_keep_the_discrete_ivh():
    rng = np.random.default_rng(2)
    image, mask = _case(rng.integers(-50, 80, 64).astype(float))
    row = radiomix.extract(image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"])
    assert np.isfinite(float(row["image.original.ivh.intensity_at_90pct_volume"].iloc[0]))
    assert "ivh" not in row.attrs["provenance"]["notes"]
