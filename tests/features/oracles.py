"""Independent (brute-force) computations shared by the feature-kernel tests.

Plain Python/numpy formulations of what the numba kernels compute: the inverse-distance pair
sums of Moran's I / Geary's C, the local-intensity sphere means, the zones of the
GLSZM/GLDZM by breadth-first search, and the mask mesh drawn by scikit-image's marching
cubes with its per-triangle volume and area sums.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.spatial.distance import pdist, squareform


def brute_pair_sums(image, mask, spacing) -> tuple[float, float, float]:
    pts = np.argwhere(mask) * np.asarray(spacing)
    x = image[mask]
    y = x - x.mean()
    w = squareform(1.0 / pdist(pts))  # zero diagonal: ordered pairs k1 != k2
    return (
        float(w.sum()),
        float((w * np.outer(y, y)).sum()),
        float((w * (y[:, None] - y[None, :]) ** 2).sum()),
    )


def pair_product_scale(image, mask, spacing) -> float:
    """The size of the terms of ``sum w y1 y2`` (which may cancel): ``sum w |y1 y2|``,
    the scale against which its rounding error is bounded."""
    pts = np.argwhere(mask) * np.asarray(spacing)
    y = np.abs(image[mask] - image[mask].mean())
    return float((squareform(1.0 / pdist(pts)) * np.outer(y, y)).sum())


def brute_force_sphere_means(image: np.ndarray, mask: np.ndarray, offsets: np.ndarray):
    """Mean over the in-image offsets around each mask voxel, offsets added in order."""
    out = []
    for z, y, x in np.argwhere(mask):
        total, count = 0.0, 0
        for dz, dy, dx in offsets:
            zz, yy, xx = z + dz, y + dy, x + dx
            if 0 <= zz < image.shape[0] and 0 <= yy < image.shape[1] and 0 <= xx < image.shape[2]:
                total += image[zz, yy, xx]
                count += 1
        out.append(total / count)
    return np.array(out)


def bfs_zone_partition(levels: np.ndarray, mask: np.ndarray, distance: int, planar: bool):
    """Zone index of each mask voxel (C order, zones numbered by first voxel): voxels of
    one grey level within Chebyshev ``distance`` are linked (within slices if planar)."""
    coords = [tuple(c) for c in np.argwhere(mask)]
    index = {c: i for i, c in enumerate(coords)}
    zone = [-1] * len(coords)
    span = range(-distance, distance + 1)
    dzs = (0,) if planar else span
    n = 0
    for start, c in enumerate(coords):
        if zone[start] >= 0:
            continue
        zone[start] = n
        todo = [c]
        while todo:
            z, y, x = todo.pop()
            for dz in dzs:
                for dy in span:
                    for dx in span:
                        j = index.get((z + dz, y + dy, x + dx))
                        if j is not None and zone[j] < 0 and levels[coords[j]] == levels[z, y, x]:
                            zone[j] = n
                            todo.append(coords[j])
        n += 1
    return np.array(zone)


def marching_cubes_mesh(mask: np.ndarray, spacing) -> dict:
    """The mesh of a binary mask by :func:`skimage.measure.marching_cubes` and its sums.

    Marching cubes (Lewiner, every cube visited) at level 0.5 on the mask zero-padded by one
    voxel, moved to the frame of the mask's voxel centres. Returns ``half_grid``, each
    vertex in half-voxel units (``2 v / spacing``: skimage's vertices are exact halves),
    ``vertices`` (mm, skimage's scaling by ``spacing``), ``faces``, and the ``volume``
    (:math:`|\\sum_k a_k\\cdot(b_k\\times c_k)|/6`) and ``area``
    (:math:`\\sum_k |(b_k-a_k)\\times(c_k-a_k)|/2`) summed over the triangles.
    """
    from skimage.measure import marching_cubes

    sp = np.asarray(spacing, dtype=np.float64)
    padded = np.pad(np.asarray(mask, dtype=bool), 1).astype(np.float32)
    unit, faces = marching_cubes(padded, level=0.5)[:2]
    half_grid = np.rint(2.0 * unit).astype(np.int64) - 2
    verts = unit * sp - sp  # float32 times float64, as skimage's ``spacing`` scales
    a, b, c = (verts[faces[:, i]] for i in range(3))
    volume = abs(float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum())) / 6.0
    area = float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum()) / 2.0
    return {
        "vertices": verts,
        "faces": faces,
        "volume": volume,
        "area": area,
        "half_grid": half_grid,
    }


@numba.njit
def khachiyan_oracle(points, tol, max_iter):  # pragma: no cover - compiled
    """The MVEE (Khachiyan) iteration as written in textbooks, with numba's generic ``@`` and
    ``np.linalg.inv`` (the scatter matrix summed again at every iteration) and sums from
    ``0.0``: the oracle of the compiled iteration (weights to rounding, the same iteration
    count). Ties as the kernel defines them: the lowest index among the distances within
    1e-12 (relative) of the largest."""
    n, d = points.shape
    q = np.ones((d + 1, n))
    q[:d, :] = points.T
    u = np.full(n, 1.0 / n)
    dist = np.empty(n)
    for it in range(max_iter):
        xinv = np.linalg.inv((q * u) @ q.T)
        for p in range(n):
            m = 0.0
            for a in range(d + 1):
                t = 0.0
                for b in range(d + 1):
                    t += xinv[a, b] * q[b, p]
                m += q[a, p] * t
            dist[p] = m
        top = dist.max()
        j = 0
        while dist[j] < top * (1.0 - 1e-12):
            j += 1
        best = dist[j]
        step = (best - d - 1.0) / ((d + 1.0) * (best - 1.0))
        err2 = 0.0
        for p in range(n):
            du = -step * u[p]
            if p == j:
                du += step
            err2 += du * du
            u[p] = (1.0 - step) * u[p]
        u[j] += step
        if np.sqrt(err2) < tol:
            return u, it + 1
    return u, max_iter
