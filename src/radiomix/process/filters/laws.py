"""Laws kernels and texture energy maps (IBSI 2 JTXT).

The kernels act along the stored index axes, in (x, y, z) order. The odd 1D kernels
(``E3``, ``E5``, ``W5``) are antisymmetric, so a response without energy map or rotation
pooling changes sign when the image is stored with that axis reversed (``E5L5`` and a
reversed x axis); energy maps and rotation-invariant responses do not (see the Notes of
:class:`radiomix.settings.filters.FilterSettings`).
"""

from __future__ import annotations

import re

import numpy as np

from radiomix.process.filters._convolve import convolve_separable, rotation_pooled_separable
from radiomix.process.filters.mean import mean_filter
from radiomix.settings.filters import FilterSettings
from radiomix.types import FloatArray

_R6 = np.sqrt(6.0)
_R2 = np.sqrt(2.0)
_R70 = np.sqrt(70.0)
_R10 = np.sqrt(10.0)

LAWS_1D: dict[str, FloatArray] = {
    "L3": np.array([1.0, 2.0, 1.0]) / _R6,
    "E3": np.array([-1.0, 0.0, 1.0]) / _R2,
    "S3": np.array([-1.0, 2.0, -1.0]) / _R6,
    "L5": np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / _R70,
    "E5": np.array([-1.0, -2.0, 0.0, 2.0, 1.0]) / _R10,
    "S5": np.array([-1.0, 0.0, 2.0, 0.0, -1.0]) / _R6,
    "W5": np.array([-1.0, 2.0, 0.0, -2.0, 1.0]) / _R10,
    "R5": np.array([1.0, -4.0, 6.0, -4.0, 1.0]) / _R70,
}
"""The normalised 1D Laws kernels of IBSI 2 (unit Euclidean norm): level (L), edge (E),
spot (S), wave (W) and ripple (R), of length 3 or 5."""


def laws_kernels(name: str) -> list[tuple[int, FloatArray]]:
    """``(array axis, 1D kernel)`` pairs of a Laws kernel name in (x, y, z) order.

    Examples
    --------
    >>> [(axis, len(k)) for axis, k in laws_kernels("E5L5S5")]
    [(2, 5), (1, 5), (0, 5)]
    """
    parts = re.findall(r"[A-Z]\d", name.upper())
    return [(2 - i, LAWS_1D[p]) for i, p in enumerate(parts)]


def laws_filter(image: FloatArray, settings: FilterSettings) -> FloatArray:
    """Laws filter response or texture energy map (IBSI 2 JTXT).

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Validated image.
    settings : FilterSettings
        ``kind="laws"`` with ``laws_kernel`` (e.g. ``"E5L5S5"``, x/y/z order),
        ``rotation_invariant`` + ``pooling``, ``energy_distance`` δ and ``padding``.

    Returns
    -------
    (Z, Y, X) ndarray of float64

    Notes
    -----
    The response is the convolution with the outer product of the 1D kernels. Rotation
    invariance pools the responses of the kernel under the 24 right-angle rotations (3D) or
    the 4 in-plane rotations (2D), each distinct 1D convolution computed once
    (:func:`~radiomix.process.filters._convolve.rotation_pooled_separable`). The energy
    map is the mean of the absolute (pooled) response over a (2δ+1)^d neighbourhood, with
    the same boundary condition:

    .. math:: E(\\mathbf{k}) = \\frac{1}{(2\\delta+1)^d}
       \\sum_{\\|\\mathbf{j}-\\mathbf{k}\\|_\\infty \\le \\delta} |h(\\mathbf{j})|

    References
    ----------
    IBSI 2 reference manual (arXiv:2006.05470), section "Laws kernels"; Laws KI. Rapid
    texture identification. Proc SPIE 1980;0238.
    """
    kernels = [(axis, k, k.shape[0] // 2) for axis, k in laws_kernels(settings.laws_kernel or "")]
    if settings.rotation_invariant:
        response = rotation_pooled_separable(
            image, settings.ndim, settings.pooling or "max", [kernels], settings.boundary)
    else:
        response = convolve_separable(image, kernels, settings.boundary)
    if settings.energy_distance is None:
        return response
    return mean_filter(
        np.abs(response),
        support=2 * settings.energy_distance + 1,
        ndim=settings.ndim,
        padding=settings.boundary,
    )
