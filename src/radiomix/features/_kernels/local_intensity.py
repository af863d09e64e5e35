"""Numba kernels of the local intensity family (private: no validation, callers check input)."""

from __future__ import annotations

import numpy as np

from radiomix.features._kernels import cached_njit


@cached_njit(error_model="numpy")  # divisors: K >= 1 and count >= 1 (the centre)
def sphere_means_at(
    image: np.ndarray,
    mask: np.ndarray,
    shape: tuple[int, int, int],
    halo: tuple[int, int, int],
    dz: np.ndarray,
    dy: np.ndarray,
    dx: np.ndarray,
    flat: np.ndarray,
    acc: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Mean of ``image`` over the in-image voxels at the offsets around each ``mask`` voxel.

    Parameters
    ----------
    image : (Z * Y * X,) ndarray of float64
        Intensities, flattened in C order.
    mask : (Z * Y * X,) ndarray of bool
        Voxels at which to evaluate the mean, flattened in C order.
    shape : (Z, Y, X)
        Shape of the image.
    halo : (3,) tuple of int
        Largest ``|offset|`` along z, y and x.
    dz, dy, dx : (K,) ndarray of int64
        Neighbourhood offsets, the centre included.
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
    average the in-image offsets. Flat indices only: three-dimensional indexing costs
    numba several times the compile time.
    """
    nz, ny, nx = shape
    hz, hy, hx = halo
    k = flat.shape[0]
    n = 0
    for z in range(nz):
        for y in range(ny):
            row = (z * ny + y) * nx
            interior_row = hz <= z < nz - hz and hy <= y < ny - hy
            x = 0
            while x < nx:
                if not mask[row + x]:
                    x += 1
                    continue
                # A run of mask voxels x0..x1-1 on this row.
                x0 = x
                while x < nx and mask[row + x]:
                    x += 1
                x1 = x
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
                        t0 += image[q]
                        t1 += image[q + 1]
                        t2 += image[q + 2]
                        t3 += image[q + 3]
                    acc[i] = t0
                    acc[i + 1] = t1
                    acc[i + 2] = t2
                    acc[i + 3] = t3
                    i += 4
                while i < b:
                    c = row + i
                    t0 = 0.0
                    for j in range(k):
                        t0 += image[c + flat[j]]
                    acc[i] = t0
                    i += 1
                for i in range(x0, x1):
                    if a <= i < b:
                        out[n] = acc[i] / k
                    else:
                        total = 0.0
                        count = 0
                        for j in range(k):
                            zz = z + dz[j]
                            yy = y + dy[j]
                            xx = i + dx[j]
                            if 0 <= zz < nz and 0 <= yy < ny and 0 <= xx < nx:
                                total += image[row + i + flat[j]]
                                count += 1
                        out[n] = total / count
                    n += 1
