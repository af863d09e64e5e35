"""Numba kernels of the local intensity family (private: no validation, callers check input)."""

from __future__ import annotations

import numpy as np

from radiomix.features._kernels import I64, cached_njit


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
    n = I64(0)
    for z in range(nz):
        for y in range(ny):
            row = (z * ny + y) * nx
            interior_row = hz <= z < nz - hz and hy <= y < ny - hy
            x = I64(0)
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
                        count = I64(0)
                        for j in range(k):
                            zz = z + dz[j]
                            yy = y + dy[j]
                            xx = i + dx[j]
                            if 0 <= zz < nz and 0 <= yy < ny and 0 <= xx < nx:
                                total += image[row + i + flat[j]]
                                count += 1
                        out[n] = total / count
                    n += 1


@cached_njit(error_model="numpy")  # divisors: K >= 1 and count >= 1 (the centre)
def sphere_means_whole(
    image: np.ndarray,
    mask: np.ndarray,
    shape: tuple[int, int, int],
    runs: np.ndarray,
    limit: float,
    prefix: np.ndarray,
    acc: np.ndarray,
    out: np.ndarray,
) -> bool:  # pragma: no cover - compiled
    """:func:`sphere_means_at` for an image of whole numbers, from row prefix sums.

    Parameters
    ----------
    image : (Z * Y * X,) ndarray of float64
        Intensities, flattened in C order.
    mask : (Z * Y * X,) ndarray of bool
        Voxels at which to evaluate the mean, flattened in C order.
    shape : (Z, Y, X)
        Shape of the image.
    runs : (R, 5) ndarray of int64
        The neighbourhood as runs along x: ``dz, dy, w`` (the offsets ``(dz, dy, -w..w)``),
        then the flat offsets in ``prefix`` of the run's start and of one past its end,
        ``(dz * Y + dy) * (X + 1) - w`` and ``(dz * Y + dy) * (X + 1) + w + 1``.
    limit : float
        Largest intensity magnitude for which every sum below stays below 2**53.
    prefix : (Z * Y * (X + 1),) ndarray of float64
        Scratch: each row's prefix sums.
    acc : (X,) ndarray of float64
        Scratch (one row's sums).
    out : (N,) ndarray of float64
        Filled with one mean per ``mask`` voxel, in C (raster) order, as ``image[mask]``.

    Returns
    -------
    bool
        False, ``out`` unfilled, when an intensity is not a whole number of magnitude at
        most ``limit`` (the caller then sums in order, :func:`sphere_means_at`).

    Notes
    -----
    Whole numbers below 2**53 add exactly in any order, so a run's sum (the difference of
    two prefix sums) and the sphere's total are the very numbers the offset-by-offset sums
    of :func:`sphere_means_at` give, and so are the means (the same division): two loads
    per run instead of one per offset, four voxels of a run at a time as there.
    """
    nz, ny, nx = shape
    m = nx + 1
    for r in range(nz * ny):  # prefix sums of each row, checking every intensity
        s = 0.0
        prefix[r * m] = 0.0
        for x in range(nx):
            v = image[r * nx + x]
            if not abs(v) <= limit or v != np.floor(v):  # also NaN
                return False
            s += v
            prefix[r * m + x + 1] = s
    n_runs = runs.shape[0]
    k = I64(0)
    hz = I64(0)
    hy = I64(0)
    hx = I64(0)
    for j in range(n_runs):
        k += 2 * runs[j, 2] + 1
        hz = max(hz, abs(runs[j, 0]))
        hy = max(hy, abs(runs[j, 1]))
        hx = max(hx, runs[j, 2])
    n = I64(0)
    for z in range(nz):
        for y in range(ny):
            row = (z * ny + y) * nx
            start = (z * ny + y) * m
            interior_row = hz <= z < nz - hz and hy <= y < ny - hy
            x = I64(0)
            while x < nx:
                if not mask[row + x]:
                    x += 1
                    continue
                # A run of mask voxels x0..x1-1 on this row; a..b-1 have their whole
                # sphere inside the image.
                x0 = x
                while x < nx and mask[row + x]:
                    x += 1
                x1 = x
                a = max(x0, hx) if interior_row else x1
                b = min(x1, nx - hx) if interior_row else x1
                i = a
                while i + 4 <= b:  # four voxels at a time: four independent sums
                    c = start + i
                    t0 = 0.0
                    t1 = 0.0
                    t2 = 0.0
                    t3 = 0.0
                    for j in range(n_runs):
                        hi = c + runs[j, 4]
                        lo = c + runs[j, 3]
                        t0 += prefix[hi] - prefix[lo]
                        t1 += prefix[hi + 1] - prefix[lo + 1]
                        t2 += prefix[hi + 2] - prefix[lo + 2]
                        t3 += prefix[hi + 3] - prefix[lo + 3]
                    acc[i] = t0
                    acc[i + 1] = t1
                    acc[i + 2] = t2
                    acc[i + 3] = t3
                    i += 4
                while i < b:
                    c = start + i
                    t0 = 0.0
                    for j in range(n_runs):
                        t0 += prefix[c + runs[j, 4]] - prefix[c + runs[j, 3]]
                    acc[i] = t0
                    i += 1
                for i in range(x0, x1):
                    if a <= i < b:
                        out[n] = acc[i] / k
                    else:  # the sphere crosses the image's border: its in-image part
                        total = 0.0
                        count = I64(0)
                        for j in range(n_runs):
                            zz = z + runs[j, 0]
                            yy = y + runs[j, 1]
                            if 0 <= zz < nz and 0 <= yy < ny:
                                lo = max(i - runs[j, 2], 0)
                                hi = min(i + runs[j, 2] + 1, nx)
                                base = (zz * ny + yy) * m
                                total += prefix[base + hi] - prefix[base + lo]
                                count += hi - lo
                        out[n] = total / count
                    n += 1
    return True
