"""Numba kernels of the morphological family (private: no validation, callers check input)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def inverse_distance_pair_sums(
    coords: np.ndarray, centred: np.ndarray
) -> tuple[float, float, float]:
    """Sums over ordered pairs ``k1 != k2`` with weight ``w = 1 / ||c_k1 - c_k2||``.

    Parameters
    ----------
    coords : (N, 3) ndarray of float64
        Point positions in mm.
    centred : (N,) ndarray of float64
        Intensities minus their mean.

    Returns
    -------
    sum_w, sum_w_yy, sum_w_dd : float
        ``sum w``, ``sum w y1 y2`` and ``sum w (y1 - y2)**2`` over ordered pairs.
    """
    n = coords.shape[0]
    sum_w = 0.0
    sum_yy = 0.0
    sum_dd = 0.0
    for i in range(n):
        xi = coords[i, 0]
        yi = coords[i, 1]
        zi = coords[i, 2]
        vi = centred[i]
        for j in range(i + 1, n):
            dx = coords[j, 0] - xi
            dy = coords[j, 1] - yi
            dz = coords[j, 2] - zi
            w = 1.0 / np.sqrt(dx * dx + dy * dy + dz * dz)
            vj = centred[j]
            sum_w += w
            sum_yy += w * vi * vj
            sum_dd += w * (vi - vj) * (vi - vj)
    return 2.0 * sum_w, 2.0 * sum_yy, 2.0 * sum_dd


@numba.njit(cache=True)
def max_pairwise_distance(points: np.ndarray) -> float:
    """Largest Euclidean distance between two rows of ``points`` ((N, 3) float64, mm)."""
    n = points.shape[0]
    best = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            d = 0.0
            for a in range(points.shape[1]):
                t = points[j, a] - points[i, a]
                d += t * t
            if d > best:
                best = d
    return float(np.sqrt(best))
