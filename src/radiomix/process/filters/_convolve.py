"""Convolution machinery shared by the IBSI 2 filters (private; inputs are validated upstream).

Everything here works on float64 arrays indexed (z, y, x). "Filtered axes" are (1, 2) for 2D
(slice by slice) and (0, 1, 2) for 3D filters.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from radiomix._numba import cached_njit
from radiomix.types import FloatArray

NUMPY_PAD_MODE = {
    "constant": "constant",
    "nearest": "edge",
    "periodic": "wrap",
    "mirror": "symmetric",
}
"""IBSI 2 boundary condition -> :func:`numpy.pad` mode (mirror = symmetric: edge repeated)."""


def pad(image: FloatArray, widths: Sequence[tuple[int, int]], padding: str) -> FloatArray:
    """Pad with an IBSI 2 boundary condition (widths may exceed the axis length)."""
    mode = NUMPY_PAD_MODE[padding]
    pad_width = [tuple(w) for w in widths]
    if mode == "constant":
        return np.pad(image, pad_width, mode="constant", constant_values=0.0)
    return np.pad(image, pad_width, mode=mode)  # type: ignore[call-overload]


def convolve1d(
    image: FloatArray, kernel: FloatArray, axis: int, padding: str, anchor: int
) -> FloatArray:
    """Discrete convolution along one axis with an explicit kernel anchor.

    ``out[i] = sum_j kernel[j] * image[i + anchor - j]``, the image being extended beyond its
    edges by ``padding``. For an odd kernel of length 2r+1, ``anchor = r`` is the centred
    convolution. The terms are added in the order of ``j`` (zero taps, the holes of an à
    trous kernel, left out), in one compiled pass (:func:`_tap_sums`) that reads the image
    lines of the padded axis through :func:`padded_lines` instead of a padded copy.
    """
    n = kernel.shape[0]
    image = np.ascontiguousarray(image, dtype=np.float64)
    length = image.shape[axis]
    lines = padded_lines(length, n - 1 - anchor, anchor, padding)
    outer = int(np.prod(image.shape[:axis], dtype=np.int64))
    inner = int(np.prod(image.shape[axis + 1 :], dtype=np.int64))
    out = np.empty(image.shape, dtype=np.float64)
    scratch = np.empty(lines.shape[0] * inner if inner < LINE_BLOCK else 1)
    _tap_sums(
        image.reshape(outer, length * inner),
        lines,
        n - 1 - anchor,
        np.ascontiguousarray(kernel, dtype=np.float64),
        inner,
        out.reshape(outer, length * inner),
        scratch,
        np.empty(n, dtype=np.int64),
    )
    return out


def padded_lines(length: int, before: int, after: int, padding: str) -> np.ndarray:
    """Index of the image line at each position of an axis padded by ``before`` and
    ``after`` lines with an IBSI 2 boundary condition (:func:`pad`'s modes, widths longer
    than the axis included); −1 where the constant (zero) boundary puts zeros."""
    mode = NUMPY_PAD_MODE[padding]
    index = np.arange(length, dtype=np.int64)
    if mode == "constant":
        return np.pad(index, (before, after), mode="constant", constant_values=-1)
    return np.pad(index, (before, after), mode=mode)  # type: ignore[call-overload]


LINE_BLOCK = 1024
"""Lines of at least this many voxels are summed one at a time over the taps (:func:`_tap_sums`)."""


@cached_njit()
def _tap_sums(
    image: np.ndarray,
    lines: np.ndarray,
    before: int,
    kernel: np.ndarray,
    inner: int,
    out: np.ndarray,
    scratch: np.ndarray,
    offsets: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """The sums of :func:`convolve1d` on (outer, axis × inner) views of C-ordered arrays.

    With ``P`` the padded axis (line ``q`` is image line ``lines[q]``, zeros where that is
    −1; lines ``before`` … ``before + length − 1`` are the image's own), ``out[a, i] =
    Σ_j kernel[j] · P[a, i + n − 1 − j]`` line by line (``inner`` voxels) for ``j``
    ascending, the terms of zero taps left out, from 0.0: each voxel's sum is the same
    sequence of products and additions as the whole-array sums ``out += kernel[j] *
    shifted`` over a padded copy (no fused multiply-add), so the same numbers. Lines of
    :data:`LINE_BLOCK` voxels or more (the first axis of a volume: planes) are summed one
    output line at a time over all taps, read from the image through ``lines``; shorter
    lines are copied into ``scratch`` (the padded row, ``len(lines) * inner``) and summed a
    row at a time (:func:`_sum_taps`; ``offsets``, one per tap, is scratch too).
    Contiguous 1D views let the compiler vectorise the inner loops.
    """
    n = kernel.shape[0]
    rows, width = out.shape
    length = width // inner if inner > 0 else 0
    padded = lines.shape[0]
    for a in range(rows):
        row = image[a]
        if inner >= LINE_BLOCK:
            for i in range(length):
                for j in range(n):
                    q = lines[i + n - 1 - j]
                    offsets[j] = q * inner if q >= 0 else -1
                _sum_taps(out[a, i * inner : (i + 1) * inner], kernel, row, offsets)
        else:
            # the row itself, then the padded lines before and after it
            start = before * inner
            for t in range(width):
                scratch[start + t] = row[t]
            for q in range(padded):
                if before <= q < before + length:
                    continue
                s = lines[q]
                base = q * inner
                for t in range(inner):
                    scratch[base + t] = row[s * inner + t] if s >= 0 else 0.0
            for j in range(n):
                offsets[j] = (n - 1 - j) * inner
            _sum_taps(out[a], kernel, scratch, offsets)


@cached_njit()
def _sum_taps(
    acc: np.ndarray, kernel: np.ndarray, source: np.ndarray, offsets: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``acc[t] = Σ_j kernel[j] · source[offsets[j] + t]`` for ``j`` ascending from 0.0, zero
    taps left out; a tap whose offset is −1 adds ``kernel[j] · 0.0`` (the zero boundary)."""
    m = acc.shape[0]
    for t in range(m):
        acc[t] = 0.0
    for j in range(kernel.shape[0]):
        kj = kernel[j]
        if kj == 0.0:
            continue
        o = offsets[j]
        if o < 0:
            zero = kj * 0.0
            for t in range(m):
                acc[t] += zero
            continue
        src = source[o : o + m]
        for t in range(m):
            acc[t] += kj * src[t]


def convolve_separable(
    image: FloatArray,
    kernels: Sequence[tuple[int, FloatArray, int]],
    padding: str,
) -> FloatArray:
    """Apply 1D convolutions ``(axis, kernel, anchor)`` one after the other."""
    out = image
    for axis, kernel, anchor in kernels:
        out = convolve1d(out, kernel, axis, padding, anchor)
    return out


class PlaneConvolver:
    """Centred 2D convolution of every (axis 1, axis 2) plane of one image with many
    odd-sized kernels (possibly complex), sharing the FFT of the padded image.

    The planes are padded by ``radius`` with the boundary condition; each kernel of radius
    <= ``radius`` is applied by circular convolution on a grid at least as large as the
    padded planes, which equals the linear ('valid') convolution on the image voxels.
    """

    def __init__(self, image: FloatArray, radius: tuple[int, int], padding: str) -> None:
        from scipy import fft

        self._fft = fft
        self.radius = radius
        padded = pad(image, [(0, 0), (radius[0], radius[0]), (radius[1], radius[1])], padding)
        self.shape = (fft.next_fast_len(padded.shape[1]), fft.next_fast_len(padded.shape[2]))
        self.out_shape = image.shape
        self.spectrum = fft.fft2(padded, s=self.shape, axes=(1, 2))

    def __call__(self, kernel: np.ndarray) -> np.ndarray:
        """Convolve with ``kernel`` (odd sizes, radius <= the padding radius)."""
        fft = self._fft
        ky, kx = kernel.shape[0] // 2, kernel.shape[1] // 2
        kspec = fft.fft2(kernel, s=self.shape)
        full = fft.ifft2(self.spectrum * kspec[np.newaxis], axes=(1, 2))
        # output voxel i sits at padded index i + radius; full index = padded index + k_radius
        y0 = self.radius[0] + ky
        x0 = self.radius[1] + kx
        _, ny, nx = self.out_shape
        return full[:, y0 : y0 + ny, x0 : x0 + nx]


# -- rotations --------------------------------------------------------------------------------

Rotation = tuple[tuple[int, ...], tuple[bool, ...]]


def rotations(ndim: int) -> list[Rotation]:
    """The proper right-angle rotations of the grid: 24 in 3D, 4 in 2D (in-plane).

    Each rotation is an axis permutation followed by axis flips, with determinant +1. The
    identity comes first.
    """
    axes = (0, 1, 2) if ndim == 3 else (1, 2)
    out: list[Rotation] = []
    for perm in itertools.permutations(range(len(axes))):
        sign = np.linalg.det(np.eye(len(axes))[list(perm)])
        for flips in itertools.product((False, True), repeat=len(axes)):
            if sign * (-1) ** sum(flips) > 0:
                out.append((perm, flips))
    out.sort(key=lambda r: (r[0] != tuple(range(len(axes))), r[1] != (False,) * len(axes)))
    return out


def _full_perm(perm: tuple[int, ...]) -> tuple[int, ...]:
    if len(perm) == 3:
        return perm
    return (0, 1 + perm[0], 1 + perm[1])


def _flip_axes(perm_len: int, flips: tuple[bool, ...]) -> tuple[int, ...]:
    offset = 0 if perm_len == 3 else 1
    return tuple(a + offset for a, f in enumerate(flips) if f)


def pooled(
    responses: Iterator[FloatArray],
    pooling: str,
    count: int | None = None,
) -> FloatArray:
    """Pool a stream of response maps voxel-wise (average, max or min), in constant memory.

    The average divides the sum by ``count`` when given (responses standing for several
    maps each, weighted by the caller), by the number of responses otherwise.
    """
    acc: FloatArray | None = None
    seen = 0
    for r in responses:
        seen += 1
        if acc is None:
            acc = np.array(r, dtype=np.float64, copy=True)
        elif pooling == "average":
            acc += r
        elif pooling == "max":
            np.maximum(acc, r, out=acc)
        else:
            np.minimum(acc, r, out=acc)
    assert acc is not None
    if pooling == "average":
        acc /= seen if count is None else count
    return acc


Step = tuple[int, FloatArray, int]
"""One 1D convolution of a separable filter: ``(axis, kernel, anchor)`` as
:func:`convolve1d` takes them."""


def _on_original_grid(step: Step, rotation: Rotation) -> tuple[Step, float]:
    """The convolution on the unrotated grid that ``step`` on the rotated grid amounts to,
    and its sign.

    Rotated axis ``k`` is original axis ``full_perm[k]``, reversed where the rotation flips
    it; a convolution along a reversed axis is the convolution with the reversed kernel
    anchored at ``n - 1 - anchor`` (the boundary conditions commute with the reversal). A
    kernel equal to its reversal (same anchor) is the same step; one equal to its negated
    reversal is the same step with sign −1 (negation is exact in floating point).
    """
    axis, kernel, anchor = step
    perm, flips = rotation
    full = _full_perm(perm)
    original = full[axis]
    if axis not in _flip_axes(len(perm), flips):
        return (original, kernel, anchor), 1.0
    reversed_kernel = kernel[::-1]
    reversed_anchor = kernel.shape[0] - 1 - anchor
    if reversed_anchor == anchor and np.array_equal(reversed_kernel, kernel):
        return (original, kernel, anchor), 1.0
    if reversed_anchor == anchor and np.array_equal(reversed_kernel, -kernel):
        return (original, kernel, anchor), -1.0
    return (original, np.ascontiguousarray(reversed_kernel), reversed_anchor), 1.0


def rotation_pooled_separable(
    image: FloatArray,
    ndim: int,
    pooling: str,
    stages: Sequence[Sequence[Step]],
    padding: str,
) -> FloatArray:
    """Rotation-invariant response of a separable filter, each distinct convolution once.

    The filter is ``stages`` of 1D convolutions along distinct axes (one stage per level of
    a wavelet; a Laws kernel is one stage), applied in order. Its response under rotation
    ``r`` (the rotated image filtered and rotated back) is the same chain of convolutions
    on the unrotated image, each along the axis the rotation maps it to, with the kernel
    reversed where the rotation reverses that axis (:func:`_on_original_grid`).
    Convolutions along different axes commute, so within a stage they run in axis order;
    the rotations' chains then share their leading convolutions, which are computed once
    (a Laws ``S5E5L5`` kernel: 15 convolutions for the 24 rotations instead of 72). Equal
    chains (a wavelet's ``HHH`` sub-band under the 3 axis permutations of the same flips)
    are one response counted with its multiplicity; a kernel antisymmetric under reversal
    gives the same chain with sign −1. The pooled map equals the pooled responses of the
    rotated images to rounding (sums in another order), not bit for bit.

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
    ndim : {2, 3}
        2: the 4 in-plane rotations (axes 1 and 2); 3: the 24 rotations of the grid.
    pooling : {"average", "max", "min"}
    stages : sequence of sequences of (axis, kernel, anchor)
        The filter on the unrotated grid.
    padding : str
        IBSI 2 boundary condition of every convolution.

    Returns
    -------
    (Z, Y, X) ndarray of float64
    """
    # each rotation's chain on the unrotated grid: stages in order, a stage in axis order
    leaves: dict[tuple[Any, ...], list[Any]] = {}
    turns = rotations(ndim)
    for rotation in turns:
        chain: list[Step] = []
        sign = 1.0
        for stage in stages:
            moved = [_on_original_grid(step, rotation) for step in stage]
            for step, s in sorted(moved, key=lambda m: m[0][0]):
                chain.append(step)
                sign *= s
        key = tuple(_key(step) for step in chain)
        leaf = leaves.setdefault(key, [key, chain, 0, 0])
        leaf[2 if sign > 0 else 3] += 1  # rotations giving +response, -response
    # chains in key order: those sharing leading convolutions are neighbours
    ordered = [leaves[key] for key in sorted(leaves)]

    def terms() -> Iterator[FloatArray]:
        for response, plus, minus in _shared_chains(image, ordered, padding):
            if pooling == "average":  # weighted by the rotations giving it, less the negated
                weight = plus - minus
                yield response if weight == 1 else response * float(weight)
            elif plus and minus:  # both signs: max |r|, min -|r|
                yield np.abs(response) if pooling == "max" else -np.abs(response)
            else:
                yield response if plus else -response

    return pooled(terms(), pooling, count=len(turns))


def _shared_chains(
    image: FloatArray, leaves: list[list[Any]], padding: str
) -> Iterator[tuple[FloatArray, int, int]]:
    """``(response, plus, minus)`` of each leaf ``[keys, chain, plus, minus]`` (``keys``: the
    chain's steps by :func:`_key`), in the leaves' order, convolving each distinct leading
    part of the chains once (depth first: one intermediate map per chain position held at
    a time)."""
    path: list[tuple[Any, ...]] = []  # the keys of the current path's convolutions
    maps: list[FloatArray] = []  # their outputs
    for keys, chain, plus, minus in leaves:
        depth = 0  # the longest computed prefix of this chain
        while depth < min(len(path), len(chain)) and path[depth] == keys[depth]:
            depth += 1
        del path[depth:], maps[depth:]
        out = maps[-1] if maps else image
        for key, (axis, kernel, anchor) in zip(keys[depth:], chain[depth:], strict=True):
            out = convolve1d(out, kernel, axis, padding, anchor)
            path.append(key)
            maps.append(out)
        yield out, plus, minus


def _key(step: Step) -> tuple[Any, ...]:
    axis, kernel, anchor = step
    return axis, kernel.tobytes(), anchor


# -- Fourier-domain helpers -------------------------------------------------------------------


def dft_frequencies(shape: Sequence[int]) -> list[FloatArray]:
    """Open-grid DFT frequencies (cycles per voxel, in [-0.5, 0.5)) of each axis."""
    grids = []
    for i, n in enumerate(shape):
        f: FloatArray = np.fft.fftfreq(n).astype(np.float64)
        s = [1] * len(shape)
        s[i] = n
        grids.append(f.reshape(s))
    return grids


def riesz_multiplier(shape: Sequence[int], order: Sequence[int]) -> np.ndarray:
    """Fourier multiplier of the Riesz transform of order ``order`` (one entry per axis of
    ``shape``, in the same axis order).

    ``R(ν) = (-j)^L sqrt(L! / Π l_i!) Π ν_i^{l_i} / ‖ν‖^L`` with L = Σ l_i (IBSI 2 §Riesz);
    the multiplier is 0 at ν = 0. Only the direction of ν matters, so the DFT frequency grid
    is used directly.
    """
    from math import factorial

    freqs = dft_frequencies(shape)
    total = int(sum(order))
    norm2 = sum(f * f for f in freqs)
    num: np.ndarray = np.ones(tuple(shape), dtype=np.float64)
    for f, o in zip(freqs, order, strict=True):
        if o:
            num = num * f**o
    denom = np.asarray(norm2, dtype=np.float64) ** (total / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), 0.0)
    prefactor = (-1j) ** total * np.sqrt(
        factorial(total) / np.prod([factorial(int(o)) for o in order])
    )
    return prefactor * ratio


def fourier_pad_widths(
    shape: Sequence[int], axes: Sequence[int], padding: str, max_pad: int
) -> list[tuple[int, int]]:
    """Padding before a Fourier-domain filter: none for periodic boundaries (the DFT is
    periodic), otherwise ``min(n // 2, max_pad)`` voxels on both sides of every filtered
    axis of length n. The padding emulates the boundary condition for a kernel of infinite
    support; ``max_pad`` (a few times the kernel's effective radius) bounds the memory."""
    widths = [(0, 0)] * len(shape)
    if padding != "periodic":
        for a in axes:
            h = min(shape[a] // 2, max_pad)
            widths[a] = (h, h)
    return widths


def crop(image: np.ndarray, widths: Sequence[tuple[int, int]]) -> np.ndarray:
    """Remove padding added with ``widths``."""
    return image[tuple(slice(lo, image.shape[i] - hi) for i, (lo, hi) in enumerate(widths))]
