"""The separable crop sampler against scipy's ``map_coordinates`` (the oracle).

``sample_lesion`` interpolates one axis at a time on the outer grid of the pixel positions;
``scipy.ndimage.map_coordinates(order=1, mode="constant")`` interpolates each point from its
eight corners. The two must agree to rounding on any volume, spacing, lesion and field of
view, including fields of view that leave the image (those pixels take the lowest mapped
value) and positions exactly on the last voxel. A field of view of which fewer than two
positions along a sampled axis lie inside the image is refused instead (all fill).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from radiomix.deep.inputs import (
    _axis_positions,
    _mapper,
    _sample_grid,
    lesion_geometry,
    sample_lesion,
)
from radiomix.errors import InputError


def fill_only_axis(image, mask, spacing, *, mode, size, margin_mm):
    """The first axis sampled at several positions of which fewer than two lie between the
    outermost voxel centres (a crop of fill along it, refused), else ``None``."""
    geo = lesion_geometry(mask, spacing, margin_mm)
    axes = (1, 2) if mode in ("slices", "max_slice") else (0, 1, 2)
    extent = max(geo.extent_mm[a] for a in axes) + 2 * margin_mm
    for d in axes:
        p = _axis_positions(geo.centre[d], extent, spacing[d], size)
        if len(p) > 1 and np.count_nonzero((p >= 0) & (p <= image.shape[d] - 1)) < 2:
            return d
    return None


def reference(image, mask, spacing, *, mode, size, margin_mm, intensity, mask_background):
    """Pixel values by map_coordinates on the whole mapped volume (the module's geometry)."""
    geo = lesion_geometry(mask, spacing, margin_mm)
    clip, a, b = _mapper(image, geo, intensity)

    def apply(x):
        v = (x - a) / b
        return np.clip(v, 0.0, 1.0) if clip == "clip" else v

    stats = image[tuple(slice(lo, hi) for lo, hi in zip(geo.stats_lo, geo.stats_hi, strict=True))]
    low = float(apply(np.array([stats.min()]))[0])
    centre = geo.centre
    if mode in ("slices", "max_slice"):
        side = max(geo.extent_mm[1:]) + 2 * margin_mm
        zs = (
            np.flatnonzero(mask.any(axis=(1, 2)))
            if mode == "slices"
            else [int(np.argmax(mask.sum(axis=(1, 2))))]
        )
        ys = _axis_positions(centre[1], side, spacing[1], size)
        xs = _axis_positions(centre[2], side, spacing[2], size)
        grids = [np.meshgrid([float(z)], ys, xs, indexing="ij") for z in zs]
    else:
        side = max(geo.extent_mm) + 2 * margin_mm
        pos = [_axis_positions(centre[d], side, spacing[d], size) for d in range(3)]
        if mode == "3d":
            grids = [np.meshgrid(*pos, indexing="ij")]
        else:
            grids = []
            for ax in range(3):
                p = list(pos)
                p[ax] = np.array([float((geo.lo[ax] + geo.hi[ax]) // 2)])
                grids.append(np.meshgrid(*p, indexing="ij"))
    out = []
    for g in grids:
        coords = np.stack([c.ravel() for c in g])
        v = ndimage.map_coordinates(apply(image), coords, order=1, mode="constant", cval=low)
        if mask_background:
            m = ndimage.map_coordinates(mask.astype(float), coords, order=1, mode="constant")
            v[m < 0.5] = low
        out.append(v.reshape(size, size) if mode != "3d" else v.reshape(size, size, size))
    return out[0] if mode == "3d" else np.stack(out)


@st.composite
def lesions(draw):
    shape = tuple(draw(st.integers(2, 12)) for _ in range(3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    image = rng.normal(0.0, 300.0, shape).round(draw(st.sampled_from([0, 3])))
    lo = [draw(st.integers(0, n - 1)) for n in shape]
    hi = [draw(st.integers(a, n - 1)) for a, n in zip(lo, shape, strict=True)]
    mask = np.zeros(shape, bool)
    mask[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1, lo[2] : hi[2] + 1] = (
        rng.random([h - a + 1 for a, h in zip(lo, hi, strict=True)]) < 0.7
    )
    mask[lo[0], lo[1], lo[2]] = True
    spacing = tuple(draw(st.sampled_from([0.5, 0.8, 1.0, 2.5, 3.27])) for _ in range(3))
    return image, mask, spacing


@settings(max_examples=150, deadline=None)
@given(
    lesion=lesions(),
    mode=st.sampled_from(["slices", "max_slice", "2.5d", "3d"]),
    size=st.integers(1, 9),
    margin=st.sampled_from([0.0, 1.0, 4.0, 25.0]),
    intensity=st.sampled_from(["ct_soft_tissue", "minmax", "zscore", (0.0, 50.0)]),
    mask_background=st.booleans(),
)
def test_sampler_matches_map_coordinates(lesion, mode, size, margin, intensity, mask_background):
    image, mask, spacing = lesion
    kw = {
        "mode": mode,
        "size": size,
        "margin_mm": margin,
        "intensity": intensity,
        "mask_background": mask_background,
    }
    axis = fill_only_axis(image, mask, spacing, mode=mode, size=size, margin_mm=margin)
    if axis is not None:
        with pytest.raises(InputError, match=f"positions along {'zyx'[axis]} .* fill"):
            sample_lesion(image, mask, spacing, **kw)
        return
    got, _ = sample_lesion(image, mask, spacing, **kw)
    want = reference(image, mask, spacing, **kw)
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * scale)


def test_positions_on_the_edges_and_outside():
    """Positions at 0 and n - 1 interpolate; a hair outside takes the constant."""
    rng = np.random.default_rng(3)
    volume = rng.normal(size=(4, 5, 6))
    eps = 1e-12
    pos = [
        np.array([0.0, 1.5, 3.0, 3.0 + eps, -eps]),
        np.array([0.0, 4.0, 2.25, -0.5]),
        np.array([5.0, 0.0, 5.0 + eps, 2.75]),
    ]
    got = _sample_grid(volume, pos, lambda v: v, -7.0)
    coords = np.stack([c.ravel() for c in np.meshgrid(*pos, indexing="ij")])
    want = ndimage.map_coordinates(volume, coords, order=1, mode="constant", cval=-7.0)
    np.testing.assert_allclose(got.ravel(), want, rtol=0, atol=1e-14)
    assert (got[3] == -7.0).all()
    assert (got[:, 3] == -7.0).all()
    assert (got[:, :, 2] == -7.0).all()


def test_no_position_inside_gives_the_constant():
    volume = np.ones((3, 3, 3))
    pos = [np.array([1.0]), np.array([-2.0, 5.0]), np.array([0.0, 1.0])]
    got = _sample_grid(volume, pos, lambda v: v, 4.0)
    np.testing.assert_array_equal(got, np.full((1, 2, 2), 4.0))
