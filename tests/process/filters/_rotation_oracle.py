"""The rotation-invariant response by its definition (IBSI 2, rotation invariance): every
right-angle rotation of the image filtered and rotated back, then pooled. An independent
computation for the tests of
:func:`radiomix.process.filters._convolve.rotation_pooled_separable`, which works on the
unrotated grid."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from radiomix.process.filters._convolve import Rotation, pooled, rotations


def _full_perm(perm: tuple[int, ...]) -> tuple[int, ...]:
    return perm if len(perm) == 3 else (0, 1 + perm[0], 1 + perm[1])


def _flipped(perm: tuple[int, ...], flips: tuple[bool, ...]) -> tuple[int, ...]:
    offset = 0 if len(perm) == 3 else 1
    return tuple(a + offset for a, f in enumerate(flips) if f)


def rotate(image: np.ndarray, rotation: Rotation) -> np.ndarray:
    """Rotate the grid: permute the filtered axes, then reverse the flipped ones."""
    perm, flips = rotation
    out = np.transpose(image, _full_perm(perm))
    axes = _flipped(perm, flips)
    return np.flip(out, axes) if axes else out


def unrotate(image: np.ndarray, rotation: Rotation) -> np.ndarray:
    """Inverse of :func:`rotate`."""
    perm, flips = rotation
    axes = _flipped(perm, flips)
    out = np.flip(image, axes) if axes else image
    return np.transpose(out, np.argsort(_full_perm(perm)))


def rotation_pooled(image: np.ndarray, ndim: int, pooling: str,
                    filt: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``filt`` applied to every rotated copy of ``image``, rotated back, pooled."""
    return pooled(
        (unrotate(filt(np.ascontiguousarray(rotate(image, r))), r) for r in rotations(ndim)),
        pooling,
    )


def convolve1d_by_array_sums(image: np.ndarray, kernel: np.ndarray, axis: int, padding: str,
                             anchor: int) -> np.ndarray:
    """``out[i] = Σ_j kernel[j] · image[i + anchor − j]`` as whole-array sums: the padded
    image shifted once per nonzero tap, scaled and added (``numpy.pad`` modes of the IBSI 2
    boundary conditions)."""
    mode = {"constant": "constant", "nearest": "edge", "periodic": "wrap",
            "mirror": "symmetric"}[padding]
    n = kernel.shape[0]
    widths = [(0, 0)] * image.ndim
    widths[axis] = (n - 1 - anchor, anchor)
    padded = np.pad(image, widths, mode=mode)
    out = np.zeros(image.shape)
    index = [slice(None)] * image.ndim
    for j in range(n):
        if kernel[j] == 0.0:
            continue
        index[axis] = slice(n - 1 - j, n - 1 - j + image.shape[axis])
        out += kernel[j] * padded[tuple(index)]
    return out
