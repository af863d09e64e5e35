"""Numba kernels of the local intensity family (private: no validation, callers check input)."""

from __future__ import annotations

import numpy as np

from radiomix.features._kernels import cached_njit


@cached_njit()
def sphere_means_at(image: np.ndarray, mask: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Mean of ``image`` over the in-image voxels at ``offsets`` around each ``mask`` voxel.

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Intensities.
    mask : (Z, Y, X) ndarray of bool
        Voxels at which to evaluate the mean.
    offsets : (K, 3) ndarray of int64
        Neighbourhood offsets (z, y, x), the centre included.

    Returns
    -------
    (N,) ndarray of float64
        One mean per ``mask`` voxel, in C (raster) order, as ``image[mask]``.
    """
    nz, ny, nx = image.shape
    k = offsets.shape[0]
    hz = 0
    hy = 0
    hx = 0
    for j in range(k):
        hz = max(hz, abs(offsets[j, 0]))
        hy = max(hy, abs(offsets[j, 1]))
        hx = max(hx, abs(offsets[j, 2]))
    flat_image = image.ravel()
    flat = np.empty(k, dtype=np.int64)
    for j in range(k):
        flat[j] = (offsets[j, 0] * ny + offsets[j, 1]) * nx + offsets[j, 2]
    n_out = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                n_out += mask[z, y, x]
    out = np.empty(n_out, dtype=np.float64)
    n = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x]:
                    continue
                total = 0.0
                if hz <= z < nz - hz and hy <= y < ny - hy and hx <= x < nx - hx:
                    # the whole neighbourhood lies inside the image
                    centre = (z * ny + y) * nx + x
                    for j in range(k):
                        total += flat_image[centre + flat[j]]
                    out[n] = total / k
                else:
                    count = 0
                    for j in range(k):
                        zz = z + offsets[j, 0]
                        yy = y + offsets[j, 1]
                        xx = x + offsets[j, 2]
                        if 0 <= zz < nz and 0 <= yy < ny and 0 <= xx < nx:
                            total += image[zz, yy, xx]
                            count += 1
                    out[n] = total / count
                n += 1
    return out
