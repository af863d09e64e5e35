"""Numba kernels of the local intensity family (private: no validation, callers check input)."""

from __future__ import annotations

import numpy as np

from radiomix.features._kernels import cached_njit


@cached_njit(error_model="numpy")  # divisors: K >= 1 and count >= 1 (the centre)
def sphere_means_at(
    image: np.ndarray,
    mask: np.ndarray,
    offsets: np.ndarray,
    flat: np.ndarray,
    acc: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Mean of ``image`` over the in-image voxels at ``offsets`` around each ``mask`` voxel.

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Intensities.
    mask : (Z, Y, X) ndarray of bool
        Voxels at which to evaluate the mean.
    offsets : (K, 3) ndarray of int64
        Neighbourhood offsets (z, y, x), the centre included.
    flat : (K,) ndarray of int64
        The same offsets in the flattened image, ``(dz * Y + dy) * X + dx``.
    acc : (X,) ndarray of float64
        Scratch (one row's sums).
    out : (N,) ndarray of float64
        Filled with one mean per ``mask`` voxel, in C (raster) order, as ``image[mask]``.
        The caller allocates every array: no allocation is compiled here.

    Notes
    -----
    Each voxel's sum adds the offsets in their order. Along a run of mask voxels of a row,
    the voxels whose neighbourhood lies inside the image are summed four at a time (four
    independent sums in flight instead of one chain of dependent additions); the others
    average the in-image offsets.
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
    n = 0
    for z in range(nz):
        for y in range(ny):
            row = (z * ny + y) * nx
            x = 0
            while x < nx:
                if not mask[z, y, x]:
                    x += 1
                    continue
                # A run of mask voxels x0..x1-1 on this row.
                x0 = x
                while x < nx and mask[z, y, x]:
                    x += 1
                x1 = x
                interior_row = hz <= z < nz - hz and hy <= y < ny - hy
                # Voxels whose whole neighbourhood lies inside the image: each one's sum
                # takes the offsets in order (as a voxel-by-voxel loop); four voxels of the
                # run at a time, so that four sums run side by side (no reassociation).
                a = max(x0, hx) if interior_row else x1
                b = min(x1, nx - hx) if interior_row else x1
                i = a
                while i + 4 <= b:  # four voxels at a time: four independent sums
                    c = row + i
                    t0 = 0.0
                    t1 = 0.0
                    t2 = 0.0
                    t3 = 0.0
                    for j in range(k):
                        q = c + flat[j]
                        t0 += flat_image[q]
                        t1 += flat_image[q + 1]
                        t2 += flat_image[q + 2]
                        t3 += flat_image[q + 3]
                    acc[i] = t0
                    acc[i + 1] = t1
                    acc[i + 2] = t2
                    acc[i + 3] = t3
                    i += 4
                while i < b:
                    c = row + i
                    t0 = 0.0
                    for j in range(k):
                        t0 += flat_image[c + flat[j]]
                    acc[i] = t0
                    i += 1
                for i in range(x0, x1):
                    if a <= i < b:
                        out[n] = acc[i] / k
                    else:
                        total = 0.0
                        count = 0
                        for j in range(k):
                            zz = z + offsets[j, 0]
                            yy = y + offsets[j, 1]
                            xx = i + offsets[j, 2]
                            if 0 <= zz < nz and 0 <= yy < ny and 0 <= xx < nx:
                                total += image[zz, yy, xx]
                                count += 1
                        out[n] = total / count
                    n += 1
