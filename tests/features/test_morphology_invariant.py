"""Morphological features are invariant to translation, 90° rotation and mirroring.

Hypothesis draws small random masks (connected or not) with random intensities. Moving the
ROI inside a larger array, rotating it by 90° in the axial plane (equal in-plane spacing),
or mirroring it along an axis describes the same object, so every morphological feature
must keep its value. The volume by voxel counting always equals the voxel count times the
voxel volume, and the mesh volume never exceeds it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from radiomix.features.registry import all_features, family_compute
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings

SPECS = [s for s in all_features() if s.family == "morph"]


def morph_features(mask: np.ndarray, image: np.ndarray, spacing) -> dict[str, float]:
    ctx = RoiContext(
        image,
        mask,
        mask,
        spacing,
        levels=np.where(mask, 1, 0),
        n_levels=1,
        ivh=IvhInput(values=image[mask], lower=0.0, upper=1.0, step=1.0),
        settings=FeatureSettings(),
    )
    return family_compute("morph")(ctx, None, SPECS)


ITERATIVE = {"morph.volume_density_mvee", "morph.area_density_mvee"}
"""Khachiyan's MVEE iterations stop at IBSI's tolerance 0.001 on the weights, so a
transformed point set (other vertex order) gives the same ellipsoid only to about the
stopping tolerance: hypothesis found a 2x2x2 mask whose mirrored MVEE area density differs
by 1.3e-3 relative (on the code of session 3 as well), hence 5e-3 for these two features."""


def assert_same(a: dict[str, float], b: dict[str, float]) -> None:
    for name, va in a.items():
        vb = b[name]
        rel = 5e-3 if name in ITERATIVE else 1e-9
        if math.isnan(va):
            assert math.isnan(vb), name
        else:
            assert vb == pytest.approx(va, rel=rel, abs=1e-12), name


masks = arrays(bool, st.tuples(*[st.integers(1, 5)] * 3)).filter(lambda m: m.any())
spacings = st.tuples(
    st.sampled_from([0.5, 1.0, 2.0, 3.0]),
    st.sampled_from([0.7, 1.0, 2.0]),
)


@st.composite
def cases(draw):
    mask = draw(masks)
    image = draw(arrays(np.float64, mask.shape, elements=st.integers(-50, 50).map(float)))
    sz, sxy = draw(spacings)
    return mask, image, (sz, sxy, sxy)


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(case=cases(), shift=st.tuples(*[st.integers(0, 3)] * 3))
def test_translation(case, shift) -> None:
    mask, image, spacing = case
    big_shape = tuple(n + 4 for n in mask.shape)
    big_mask = np.zeros(big_shape, bool)
    big_image = np.full(big_shape, 99.0)  # image outside the ROI must not matter
    sl = tuple(slice(s, s + n) for s, n in zip(shift, mask.shape, strict=True))
    big_mask[sl] = mask
    big_image[sl] = image
    assert_same(morph_features(mask, image, spacing), morph_features(big_mask, big_image, spacing))


@SETTINGS
@given(case=cases(), k=st.integers(1, 3))
def test_axial_rotation_by_90_degrees(case, k) -> None:
    mask, image, spacing = case
    rot_mask = np.ascontiguousarray(np.rot90(mask, k, axes=(1, 2)))
    rot_image = np.ascontiguousarray(np.rot90(image, k, axes=(1, 2)))
    assert_same(morph_features(mask, image, spacing), morph_features(rot_mask, rot_image, spacing))


@SETTINGS
@given(case=cases(), axis=st.integers(0, 2))
def test_mirroring(case, axis) -> None:
    mask, image, spacing = case
    flip_mask = np.ascontiguousarray(np.flip(mask, axis))
    flip_image = np.ascontiguousarray(np.flip(image, axis))
    assert_same(
        morph_features(mask, image, spacing), morph_features(flip_mask, flip_image, spacing)
    )


@SETTINGS
@given(case=cases())
def test_volumes(case) -> None:
    mask, image, spacing = case
    f = morph_features(mask, image, spacing)
    voxel = spacing[0] * spacing[1] * spacing[2]
    assert f["morph.volume_voxels"] == pytest.approx(mask.sum() * voxel)
    assert 0 < f["morph.volume_mesh"] <= f["morph.volume_voxels"]
    # the convex hull and the bounding boxes enclose the mesh
    assert f["morph.volume_density_convex_hull"] <= 1 + 1e-12
    assert f["morph.volume_density_ombb"] <= 1 + 1e-12
    assert f["morph.volume_density_ombb"] >= f["morph.volume_density_aabb"] - 1e-12
