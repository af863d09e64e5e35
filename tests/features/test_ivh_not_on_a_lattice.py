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
    is G = [X_min + w/2, X_max - w/2] of the ROI's extreme intensities (no re-segmentation
    range), and V10 is the share of voxels whose bin centre reaches the first intensity of
    G at 10 % of it (counted here)."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0.5, 12.0, 64)
    image, mask = _case(x)
    w = 0.1
    row = radiomix.extract(image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"],
                           ivh={"method": "fbs", "bin_width": w})
    centres = x.min() + (np.floor((x - x.min()) / w) + 0.5) * w
    lo, hi = x.min() + w / 2, x.max() - w / 2
    for pct in (10, 90):
        grid = lo + np.arange(int(np.floor((hi - lo) / w)) + 1) * w
        first = grid[(grid - lo) / (hi - lo) >= pct / 100 - 1e-12][0]
        expected = np.mean(centres >= first - 1e-9)
        got = float(row[f"image.original.ivh.volume_fraction_at_{pct}pct_intensity"].iloc[0])
        assert got == pytest.approx(expected)
    assert "ivh" not in row.attrs["provenance"]["notes"]


@pytest.mark.parametrize("use_range", [True, False])
def test_fixed_bin_size_with_a_half_open_range_ends_at_the_roi_maximum(use_range):
    """A fourth-round PET setting, ``range: [0, null]``: the bins start at 0 and the IVH
    range ends at the ROI's maximum less half a bin (IBSI 1 P88C). It ended at the centre
    of the highest occupied bin, which halved V90 of a small hot tail. Without the range
    (``use_resegmentation_range: false``) the range starts at the ROI's minimum plus half a
    bin, the bins still anchored at 0."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0.5, 4.0, 60), [10.76, 11.2, 11.5, 11.901]])
    image, mask = _case(x)
    w = 0.1
    row = radiomix.extract(
        image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"],
        resegmentation={"range": [0.0, None]},
        ivh={"method": "fbs", "bin_width": w, "use_resegmentation_range": use_range})
    centres = (np.floor(x / w) + 0.5) * w
    lo = (0.0 if use_range else x.min()) + w / 2
    hi = x.max() - w / 2
    grid = lo + np.arange(int(np.floor((hi - lo) / w + 1e-9)) + 1) * w
    gamma = (grid - lo) / (hi - lo)
    for pct in (10, 90):
        first = grid[gamma >= pct / 100 - 1e-12][0]
        expected = np.mean(centres >= first - 1e-9)
        got = float(row[f"image.original.ivh.volume_fraction_at_{pct}pct_intensity"].iloc[0])
        assert got == pytest.approx(expected)
    if use_range:
        # 90 % of G = [0.05, 11.851] is 10.671: the bin of 10.76 (centre 10.75) counts; the
        # range ended at the top bin's centre, 11.95, put it at 10.76, above that bin
        v90 = float(row["image.original.ivh.volume_fraction_at_90pct_intensity"].iloc[0])
        assert v90 == pytest.approx(4 / 64)


def test_fixed_bin_size_on_a_roi_narrower_than_a_bin_has_one_intensity():
    image, mask = _case(np.linspace(5.01, 5.06, 64))
    row = radiomix.extract(image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"],
                           ivh={"method": "fbs", "bin_width": 0.1})
    # one bin (centre 5.06): X_max - w/2 = 5.01 falls below X_min + w/2 = 5.06, so the range
    # is that single intensity, where every intensity fraction is 0 and none reaches 10 %;
    # I10 is the lattice intensity one bin above it, the first where nu = 0 <= 10 %
    assert float(row["image.original.ivh.volume_fraction_at_10pct_intensity"].iloc[0]) == 0.0
    assert float(row["image.original.ivh.intensity_at_10pct_volume"].iloc[0]) == (
        pytest.approx(5.16))


def test_integer_intensities_keep_the_discrete_ivh():
    rng = np.random.default_rng(2)
    image, mask = _case(rng.integers(-50, 80, 64).astype(float))
    row = radiomix.extract(image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"])
    assert np.isfinite(float(row["image.original.ivh.intensity_at_90pct_volume"].iloc[0]))
    assert "ivh" not in row.attrs["provenance"]["notes"]
