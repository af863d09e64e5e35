"""Interpolated values do not depend on the crop around the ROI (round 18).

Positions of new grid points were computed relative to the crop, so their last bits moved
with ``crop.margin_mm``. A maximum tied between two voxels in exact arithmetic (an integer
image on a finer grid) then lost one of them: ``loc.peak_local`` went from 173.088 to
164.724 between margins of 10 and 20 mm, and a robust statistic moved by 0.6 %.
"""

from __future__ import annotations

import itertools
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi

import radiomix
from radiomix.process.interpolate import aligned_grid, resample

SHAPE = (30, 40, 44)
SPACING = (3.0, 0.9, 0.9)


def _image() -> np.ndarray:
    rng = np.random.default_rng(12)
    noise = ndi.gaussian_filter(rng.normal(0.0, 1.0, SHAPE), 1.0) * 100.0
    return np.round(noise + np.linspace(0.0, 300.0, SHAPE[2])[None, None, :])


def _mask() -> np.ndarray:
    m = np.zeros(SHAPE, dtype=np.uint8)
    m[10:18, 15:25, 18:26] = 1
    return m


def _extract(margin: float) -> radiomix.pd.Series:  # type: ignore[name-defined]
    settings_ = {"dimensionality": "2d",
                 "interpolation": {"spacing": [None, 1.5, 1.5], "method": "linear"},
                 "crop": {"margin_mm": margin}, "features": {"families": ["loc", "stat"]}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return radiomix.extract(_image(), _mask(), settings_, spacing=SPACING).iloc[0]


def _exact_peak_local() -> float:
    """IBSI 9ST6 / VJGA from exact rational linear interpolation: the voxels that hold the
    maximum (exactly), then the highest of their sphere means."""
    img, msk = _image(), _mask()
    old = [Fraction(3), Fraction(9, 10), Fraction(9, 10)]
    new = [Fraction(3), Fraction(3, 2), Fraction(3, 2)]
    size = [-(-SHAPE[a] * old[a] // new[a]) for a in range(3)]
    off = [(old[a] * (SHAPE[a] - 1) - new[a] * (size[a] - 1)) / 2 for a in range(3)]

    def position(k):
        return tuple((off[a] + k[a] * new[a]) / old[a] for a in range(3))

    def linear(arr, pos):
        total = Fraction(0)
        for corner in itertools.product((0, 1), repeat=3):
            weight, index = Fraction(1), []
            for a, c in enumerate(corner):
                p = min(max(pos[a], Fraction(0)), Fraction(SHAPE[a] - 1))
                base = min(int(p), SHAPE[a] - 2)
                t = p - base
                weight *= t if c else 1 - t
                index.append(base + c)
            if weight:
                total += weight * int(arr[tuple(index)])
        return total

    roi = []
    for k in itertools.product(*(range(n) for n in size)):
        pos = position(k)
        if 9 <= pos[0] <= 18 and 14 <= pos[1] <= 25 and 17 <= pos[2] <= 26 and \
                linear(msk, pos) >= Fraction(1, 2):
            roi.append((k, linear(img, pos)))
    top = max(v for _, v in roi)
    tied = [k for k, v in roi if v == top]
    assert len(tied) == 2  # the premise: an exact tie
    radius = (3.0 / (4.0 * np.pi) * 1000.0) ** (1.0 / 3.0)
    reach = [int(np.ceil(radius / float(new[a]))) for a in range(3)]
    offsets = [o for o in itertools.product(*(range(-r, r + 1) for r in reach))
               if sum((o[a] * float(new[a])) ** 2 for a in range(3)) <= radius**2]
    means = []
    for k in tied:
        values = [float(linear(img, position(tuple(k[a] + o[a] for a in range(3)))))
                  for o in offsets if all(0 <= k[a] + o[a] < size[a] for a in range(3))]
        means.append(np.mean(values))
    return max(means)


def test_a_tied_maximum_gives_the_same_peak_at_every_margin():
    rows = [_extract(m) for m in (10.0, 20.0, 1000.0)]
    peaks = [r["image.original.loc.peak_local"] for r in rows]
    np.testing.assert_allclose(peaks, _exact_peak_local(), rtol=1e-12)
    for name in rows[0].index:
        if ".stat." in name:
            np.testing.assert_allclose([r[name] for r in rows[1:]], rows[0][name],
                                       rtol=1e-12, err_msg=name)


@settings(max_examples=60, deadline=None)
@given(
    n=st.tuples(*(st.integers(4, 14) for _ in range(3))),
    spacing=st.tuples(*(st.sampled_from([0.7, 0.8, 0.9, 1.0, 1.25, 3.0]) for _ in range(3))),
    target=st.sampled_from([0.5, 1.0, 1.5, 2.0]),
    order=st.sampled_from([0, 1]),
    seed=st.integers(0, 2**16),
)
def test_resample_of_a_crop_equals_the_whole_image(n, spacing, target, order, seed):
    """Every crop that holds a point's neighbours gives that point the same value."""
    rng = np.random.default_rng(seed)
    image = np.round(rng.normal(size=n) * 100.0)
    grids = tuple(aligned_grid(k, s, target) for k, s in zip(n, spacing, strict=True))
    whole = resample(image, grids, order=order)
    # new points whose neighbours lie in the crop [lo, hi) of every axis
    lo = [int(rng.integers(0, max(1, k // 3))) for k in n]
    hi = [int(rng.integers(max(lo_ + 2, 2 * k // 3), k + 1)) for lo_, k in zip(lo, n, strict=True)]
    ranges = []
    for g, a, b in zip(grids, lo, hi, strict=True):
        pos = g.start + g.step * np.arange(g.size)
        inside = np.flatnonzero((pos >= a + 1) & (pos <= b - 2))
        if inside.size == 0:
            return
        ranges.append((int(inside[0]), int(inside[-1]) + 1))
    crop = image[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]
    part = resample(crop, grids, order=order, index_range=tuple(ranges),  # type: ignore[arg-type]
                    origin=tuple(lo))  # type: ignore[arg-type]
    expected = whole[tuple(slice(a, b) for a, b in ranges)]
    np.testing.assert_array_equal(part, expected)


@pytest.mark.parametrize("order", [0, 1])
def test_the_whole_image_keeps_scipy_s_values(order):
    """The positions are scipy's for the whole grid (its zoom_shift arithmetic)."""
    rng = np.random.default_rng(5)
    image = rng.normal(size=(9, 11, 10)) * 100.0
    grids = tuple(aligned_grid(k, s, 1.3) for k, s in zip(image.shape, (2.0, 0.8, 0.9),
                                                            strict=True))
    ref = ndi.affine_transform(image, matrix=[g.step for g in grids],
                               offset=[g.start for g in grids],
                               output_shape=tuple(g.size for g in grids), order=order,
                               mode="nearest")
    got = resample(image, grids, order=order)
    if order == 0:  # away from exact midpoints (where radiomix's tie rule decides)
        pos = [g.start + g.step * np.arange(g.size) for g in grids]
        off = np.ix_(*[np.abs(p % 1.0 - 0.5) > 1e-6 for p in pos])
        np.testing.assert_array_equal(got[off], ref[off])
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)
