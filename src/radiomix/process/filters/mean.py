"""Mean filter (IBSI 2 S60F)."""

from __future__ import annotations

import numpy as np

from radiomix.process.filters._convolve import convolve_separable
from radiomix.types import FloatArray


def mean_filter(image: FloatArray, *, support: int, ndim: int, padding: str) -> FloatArray:
    """Mean filter of support M (IBSI 2 S60F).

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Image to filter.
    support : int
        Odd support M in voxels.
    ndim : {2, 3}
        2: average over M×M voxels in each axial slice; 3: over M×M×M voxels.
    padding : {"constant", "nearest", "periodic", "mirror"}
        IBSI 2 boundary condition.

    Returns
    -------
    (Z, Y, X) ndarray of float64

    Notes
    -----
    .. math:: h(\\mathbf{k}) = M^{-d} \\text{ for } \\|\\mathbf{k}\\|_\\infty \\le (M-1)/2

    The kernel is separable and applied as d one-dimensional box filters.

    References
    ----------
    IBSI 2 reference manual (arXiv:2006.05470), section "Mean filter".
    """
    kernel = np.full(support, 1.0 / support)
    axes = (1, 2) if ndim == 2 else (0, 1, 2)
    return convolve_separable(image, [(a, kernel, support // 2) for a in axes], padding)
