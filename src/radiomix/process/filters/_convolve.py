"""Convolution machinery shared by the IBSI 2 filters (private; inputs are validated upstream).

Everything here works on float64 arrays indexed (z, y, x). "Filtered axes" are (1, 2) for 2D
(slice by slice) and (0, 1, 2) for 3D filters.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence

import numpy as np

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
    convolution.
    """
    n = kernel.shape[0]
    widths = [(0, 0)] * image.ndim
    widths[axis] = (n - 1 - anchor, anchor)
    padded = pad(image, widths, padding)
    length = image.shape[axis]
    out = np.zeros(image.shape, dtype=np.float64)
    index: list[slice] = [slice(None)] * image.ndim
    for j in range(n):
        if kernel[j] == 0.0:
            continue
        start = n - 1 - j
        index[axis] = slice(start, start + length)
        out += kernel[j] * padded[tuple(index)]
    return out


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


def rotate(image: FloatArray, rotation: Rotation) -> FloatArray:
    """Rotate the grid: permute the filtered axes, then flip."""
    perm, flips = rotation
    out = np.transpose(image, _full_perm(perm))
    axes = _flip_axes(len(perm), flips)
    return np.flip(out, axes) if axes else out


def unrotate(image: FloatArray, rotation: Rotation) -> FloatArray:
    """Inverse of :func:`rotate`."""
    perm, flips = rotation
    axes = _flip_axes(len(perm), flips)
    out = np.flip(image, axes) if axes else image
    return np.transpose(out, np.argsort(_full_perm(perm)))


def pooled(
    responses: Iterator[FloatArray],
    pooling: str,
) -> FloatArray:
    """Pool a stream of response maps voxel-wise (average, max or min), in constant memory."""
    acc: FloatArray | None = None
    count = 0
    for r in responses:
        count += 1
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
        acc /= count
    return acc


def rotation_pooled(
    image: FloatArray,
    ndim: int,
    pooling: str,
    filt: Callable[[FloatArray], FloatArray],
) -> FloatArray:
    """Rotation-invariant response: ``filt`` applied to every rotated copy, rotated back and
    pooled. Rotating the image instead of the kernel is equivalent and exact for all four
    boundary conditions, which commute with axis flips and permutations."""
    return pooled(
        (unrotate(filt(np.ascontiguousarray(rotate(image, r))), r) for r in rotations(ndim)),
        pooling,
    )


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
