"""Rotation-invariant separable filters (Laws, wavelets) computed on the unrotated grid with
shared convolutions (``rotation_pooled_separable``) against their definition: every
right-angle rotation of the image filtered and rotated back, then pooled
(``_rotation_oracle``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _rotation_oracle import convolve1d_by_array_sums, rotation_pooled
from hypothesis import given, settings
from hypothesis import strategies as st

import radiomix.process.filters._convolve as conv
from radiomix.process.filters import FilterSettings, apply_filter
from radiomix.process.filters._convolve import convolve_separable, rotation_pooled_separable

PADDINGS = ("mirror", "periodic", "constant", "nearest")
ISO = (1.0, 1.0, 1.0)


def _oracle(image, ndim, pooling, stages, padding):
    def filt(img):
        out = img
        for stage in stages:
            out = convolve_separable(out, stage, padding)
        return out

    return rotation_pooled(image, ndim, pooling, filt), filt(image)


def _close(got, want, single):
    # pooled responses of antisymmetric kernels cancel to ~0: compare on the scale of one
    scale = max(float(np.max(np.abs(want))), float(np.max(np.abs(single))), 1e-300)
    assert float(np.max(np.abs(got - want))) <= 1e-12 * scale


@st.composite
def _kernel(draw):
    n = draw(st.integers(1, 7))
    kind = draw(st.sampled_from(("symmetric", "antisymmetric", "general")))
    values = np.array(draw(st.lists(st.floats(-2, 2, allow_nan=False, width=32),
                                    min_size=n, max_size=n)), dtype=np.float64)
    if kind == "symmetric":
        values = values + values[::-1]
    elif kind == "antisymmetric":
        values = values - values[::-1]
    if not np.any(values):
        values[0] = 1.0
    anchor = (n - 1) // 2 if kind != "general" or n % 2 else draw(st.integers(0, n - 1))
    return values, anchor


@settings(max_examples=80, deadline=None)
@given(
    ndim=st.sampled_from((2, 3)),
    n_stages=st.integers(1, 2),
    kernels=st.lists(_kernel(), min_size=6, max_size=6),
    padding=st.sampled_from(PADDINGS),
    pooling=st.sampled_from(("average", "max", "min")),
    shape=st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 7)),
    seed=st.integers(0, 2**16),
)
def test_shared_convolutions_equal_the_rotated_images_pooled(ndim, n_stages, kernels, padding,
                                                             pooling, shape, seed):
    axes = (2, 1, 0) if ndim == 3 else (2, 1)
    stages = []
    it = iter(kernels)
    for _ in range(n_stages):
        stages.append([(a, *next(it)) for a in axes])
    # any shape, kernels longer than an axis included (boundary conditions reflected or
    # wrapped more than once)
    image = np.random.default_rng(seed).normal(size=shape)
    want, _ = _oracle(image, ndim, pooling, stages, padding)
    got = rotation_pooled_separable(image, ndim, pooling, stages, padding)
    # on the scale of the largest response the chain can give (sums that cancel are ~0)
    bound = float(np.max(np.abs(image))) * float(np.prod(
        [np.sum(np.abs(k)) for stage in stages for _, k, _ in stage]))
    assert float(np.max(np.abs(got - want))) <= 1e-12 * bound


LAWS = ["S5E5L5", "E5W5R5", "L5L5S5", "E3S3L3", "E5E5E5", "L5E5", "W5S5"]
WAVELETS = [("coif3", "LHH", 1), ("coif3", "HHH", 2), ("db2", "HLH", 3), ("haar", "LLL", 2),
            ("db3", "HL", 2), ("coif1", "HH", 1)]


def _invariant_and_oracle(settings: FilterSettings, image):
    got = apply_filter(image, spacing=ISO, settings=settings)
    plain = dataclasses.replace(settings, rotation_invariant=False, pooling=None)

    def filt(img):
        return apply_filter(img, spacing=ISO, settings=plain)

    return got, rotation_pooled(image, settings.ndim, settings.pooling, filt), filt(image)


@pytest.mark.parametrize("kernel", LAWS)
@pytest.mark.parametrize("padding", PADDINGS)
def test_laws_rotation_invariance_by_its_definition(kernel, padding):
    image = np.random.default_rng(3).normal(size=(6, 7, 8))
    for pooling in ("max", "average", "min"):
        s = FilterSettings(kind="laws", laws_kernel=kernel, rotation_invariant=True,
                           pooling=pooling, padding=padding,
                           dimensionality="2d" if len(kernel) == 4 else "3d")
        got, want, single = _invariant_and_oracle(s, image)
        _close(got, want, single)


@pytest.mark.parametrize(("wavelet", "subband", "level"), WAVELETS)
@pytest.mark.parametrize("padding", PADDINGS)
def test_wavelet_rotation_invariance_by_its_definition(wavelet, subband, level, padding):
    image = np.random.default_rng(5).normal(size=(7, 8, 9))
    s = FilterSettings(kind="wavelet", wavelet=wavelet, subband=subband, level=level,
                       rotation_invariant=True, pooling="average", padding=padding,
                       dimensionality="2d" if len(subband) == 2 else "3d")
    got, want, single = _invariant_and_oracle(s, image)
    _close(got, want, single)


@pytest.mark.parametrize(("stages_of", "expected"), [
    # S5 and L5 are symmetric, E5 antisymmetric: the 24 chains are the 6 axis orders of the
    # three kernels (up to sign): 3 + 6 + 6 convolutions
    ("laws S5E5L5", 15),
    # two equal symmetric kernels and a third: the 3 axes the third can take (2 + 3 + 3)
    ("laws L5L5S5", 8),
    # coif3 HHH level 2: 8 flip patterns of the low-pass stage (2 + 4 + 8), each followed by
    # its own 3 high-pass convolutions (24)
    ("wavelet HHH 2", 38),
])
def test_each_distinct_convolution_runs_once(monkeypatch, stages_of, expected):
    calls = []
    original = conv.convolve1d
    monkeypatch.setattr(conv, "convolve1d", lambda *a: calls.append(a) or original(*a))
    image = np.random.default_rng(0).normal(size=(5, 6, 7))
    if stages_of.startswith("laws"):
        s = FilterSettings(kind="laws", laws_kernel=stages_of.split()[1],
                           rotation_invariant=True, pooling="max")
    else:
        s = FilterSettings(kind="wavelet", wavelet="coif3", subband="HHH", level=2,
                           rotation_invariant=True, pooling="average")
    apply_filter(image, spacing=ISO, settings=s)
    assert len(calls) == expected


@settings(max_examples=80, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 7)),
    axis=st.integers(0, 2),
    kernel=st.lists(st.sampled_from((0.0, 1.0, -0.5, 0.3, 2.75, -1e-3)), min_size=1,
                    max_size=9),
    anchor_frac=st.floats(0, 1),
    padding=st.sampled_from(PADDINGS),
    seed=st.integers(0, 2**16),
)
def test_convolve1d_is_the_array_sums(shape, axis, kernel, anchor_frac, padding, seed):
    # one pass of compiled sums, each voxel's terms in the order of the taps, against
    # whole-array shifted sums (the same operations in the same order: equal here; a
    # tolerance of rounding, since another CPU's kernels are not asserted bit for bit)
    k = np.array(kernel)
    anchor = min(len(k) - 1, int(anchor_frac * len(k)))
    image = np.random.default_rng(seed).normal(size=shape)
    got = conv.convolve1d(image, k, axis, padding, anchor)
    want = convolve1d_by_array_sums(image, k, axis, padding, anchor)
    assert got.shape == want.shape
    scale = float(np.sum(np.abs(k)) * np.max(np.abs(image)))
    np.testing.assert_allclose(got, want, rtol=0, atol=4e-16 * scale)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("kernel_length", [1, 5, 18])
def test_convolve1d_plane_by_plane_equals_the_array_sums(padding, kernel_length):
    # along the first axis of a volume whose planes hold >= LINE_BLOCK voxels the lines are
    # read through the padded-line map one plane at a time; a kernel longer than the axis
    # (7 planes, 18 taps) reflects or wraps it more than once
    assert conv.LINE_BLOCK <= 33 * 32
    rng = np.random.default_rng(kernel_length)
    image = rng.normal(size=(7, 33, 32))
    k = rng.normal(size=kernel_length)
    k[1::3] = 0.0 if kernel_length > 2 else k[1::3]  # holes, as in an à trous kernel
    for anchor in sorted({0, kernel_length // 2, kernel_length - 1}):
        got = conv.convolve1d(image, k, 0, padding, anchor)
        want = convolve1d_by_array_sums(image, k, 0, padding, anchor)
        scale = float(np.sum(np.abs(k)) * np.max(np.abs(image)))
        np.testing.assert_allclose(got, want, rtol=0, atol=4e-16 * scale)
