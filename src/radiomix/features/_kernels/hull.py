"""Exact convex hull of points on the half-voxel grid (the vertices of a mask's mesh).

Marching cubes at iso-level 0.5 on a binary mask puts every vertex on the half-voxel grid:
``2 v / spacing`` is an integer along every axis. Scaling by the (positive, diagonal)
spacing maps convex hulls to convex hulls, so the hull of the mesh vertices is found on
those integer coordinates, with every orientation test exact in int64 arithmetic: no
precision merging of the many coplanar facets of a lattice point set (which makes Qhull
three times slower on them than on points in general position), and the same hull on
every machine.

Bound: with half-grid coordinates below Q = :data:`MAX_COORDINATE` = 2**19 in absolute
value, a facet normal ``(b - a) x (c - a)`` has components below ``8 Q**2``, and an
orientation ``n . g - d`` (``d = n . a``) is the difference of two sums of three products
each below ``8 Q**3``: every term and partial sum stays below ``48 Q**3 < 2**63``. Points
further out (2**18 voxels from the mask's first voxel, in the mesh frame) go to Qhull.
"""

from __future__ import annotations

import numpy as np

from radiomix.features._kernels import I64, cached_njit

MAX_COORDINATE = 1 << 19
"""Half-grid coordinates (absolute) below which the int64 orientation tests are exact."""
GRID_TOLERANCE = 1e-6
"""Largest distance (in half-grid steps) of a point from the half-grid taken as on it."""


def lattice_hull(
    points: np.ndarray, spacing: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float] | None:
    """Convex hull of points on the half-grid of ``spacing``, in exact integer arithmetic.

    Parameters
    ----------
    points : (N, 3) ndarray of float64, C-contiguous
        Points in mm, each within :data:`GRID_TOLERANCE` half-grid steps of the grid
        ``k * spacing / 2`` (k integer).
    spacing : (3,) ndarray of float64
        Voxel spacing in mm (positive).

    Returns
    -------
    tuple or None
        ``(order, facets, neighbours, normals, volume, area)``: ``order`` ((V,) int64) the
        indices of the hull's extreme points in ascending order; ``facets`` ((F, 3) int64,
        F = 2V - 4) triangles as indices into ``order``, counter-clockwise seen from
        outside; ``neighbours`` ((F, 3) int64) the facet opposite each corner;
        ``normals`` ((F, 3) float64) unit outward normals in mm, the same for every
        triangle of one face; the volume (mm³) and area (mm²). None where the exact hull
        does not apply: fewer than 4 points, a point off the half-grid or with a
        coordinate of :data:`MAX_COORDINATE` half-steps or more, or points spanning fewer
        than 3 dimensions.

    Notes
    -----
    Plain Python: allocates the buffers of the compiled hull :func:`_quickhull` (see
    there; no allocation is compiled on a first call).
    """
    n = points.shape[0]
    if n < 4:
        return None
    m = 2 * n + 8  # facet slots: a closed triangulated hull of V <= N vertices has 2V - 4
    order = np.empty(n, dtype=np.int64)
    facets = np.empty((m, 3), dtype=np.int64)
    neighbours = np.empty((m, 3), dtype=np.int64)
    normals = np.empty((m, 3))
    measures = np.empty(2)
    nv = _quickhull(
        points, spacing, np.empty((n, 3), dtype=np.int64), np.empty((m, 3), dtype=np.int64),
        np.empty((m, 3), dtype=np.int64), np.empty((m, 4), dtype=np.int64),
        np.empty((7, m), dtype=np.int64), np.empty((6, n), dtype=np.int64),
        np.empty((n, 4), dtype=np.int64), order, facets, neighbours, normals, measures,
    )  # fmt: skip
    if nv < 0:
        return None
    nf = 2 * nv - 4
    return (
        order[:nv], facets[:nf], neighbours[:nf], normals[:nf], float(measures[0]),
        float(measures[1]),
    )  # fmt: skip


@cached_njit()
def _orient(plane: np.ndarray, f: int, grid: np.ndarray, q: int) -> int:  # pragma: no cover
    """``n . g_q - d`` of facet ``f``'s plane ``n . g = d``: > 0 with point q above it.

    A helper, not written out at each use: numba compiles each array access it meets,
    and a call costs about as much as one access.
    """
    return (
        plane[f, 0] * grid[q, 0] + plane[f, 1] * grid[q, 1] + plane[f, 2] * grid[q, 2]
        - plane[f, 3]
    )  # fmt: skip


@cached_njit(error_model="numpy")  # divisors: spacings > 0, gcds and norms of normals > 0
def _quickhull(
    points: np.ndarray,
    spacing: np.ndarray,
    grid: np.ndarray,
    corners: np.ndarray,
    adjacent: np.ndarray,
    plane: np.ndarray,
    fstate: np.ndarray,
    pstate: np.ndarray,
    horizon: np.ndarray,
    order: np.ndarray,
    facets: np.ndarray,
    neighbours: np.ndarray,
    normals: np.ndarray,
    measures: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Quickhull (Barber, Dobkin & Huhdanpaa 1996) in exact integer arithmetic.

    The points' half-grid coordinates ``rint(2 v / spacing)`` go to ``grid``. From a
    tetrahedron of four of the points, each facet keeps the points strictly above it that
    were assigned to it (its outside set); the furthest point of an outside set (of
    equally far ones, the lowest index) is added: every facet it sees weakly (the point
    above or on its plane, found from the first by adjacency: a disk) is replaced by the
    cone of triangles from the point to the disk's boundary (the horizon), and the
    replaced facets' points are reassigned to the first new facet they are strictly
    above, or dropped as inside (a point above a replaced facet and outside the new hull
    is above a new facet). A point never strictly above a facet is never added, and
    replacing the weakly seen facets removes every vertex that the new point makes
    non-extreme (one in the middle of an edge or a face of the new hull), so the hull's
    vertices are its extreme points and the triangles of one plane tile its face.

    The tetrahedron is built as the first insertion: its first three points (the
    extremes along axis 0 and the point furthest from their line, the lowest index of
    equal ones) make two back-to-back triangles, and the point furthest from their plane
    replaces the one it sees. So of equal points the first is the vertex.

    Each facet's plane is ``n . g = d`` with ``n = (b - a) x (c - a)`` of its corners a,
    b, c (counter-clockwise from outside) and ``d = n . a``; ``n . g_q - d > 0`` when
    point q is strictly above it. Orientations are exact below ``MAX_COORDINATE`` (see the
    module docstring).

    At the end the hull's vertices (ascending) and facets (renumbered in slot order) go
    to the outputs, with the volume (exact in integers: six times it is the sum over the
    facets of ``d - n . g_r``, r a hull vertex), the area and the unit normals from each
    facet's primitive integer normal (divided by the gcd of its components: the same for
    every triangle of one face). Two checks, which have never failed: the facet count is
    2V - 4 (Euler), and every vertex is extreme: at least three edges around it join
    facets of different planes (fewer faces meet at a point in the middle of an edge or
    a face).

    The caller allocates every array (no allocation is compiled here): ``grid`` ((N, 3)
    int64); facet slots, M = 2N + 8 of them: ``corners``, ``adjacent`` ((M, 3) int64:
    corner point indices, and the facet opposite each corner), ``plane`` ((M, 4) int64:
    ``n`` and ``d``), ``fstate`` ((7, M) int64: outside-set head, visit stamp, alive flag,
    pending flag, free-slot stack, pending stack, visited and new facets); ``pstate``
    ((6, N) int64: outside-set link, height above the facet, points to reassign, new
    facet by horizon start and end point, vertex position); ``horizon`` ((N, 4) int64);
    and the outputs ``order`` ((N,) int64: extreme point indices, ascending),
    ``facets``, ``neighbours`` ((M, 3) int64: triangles as positions in ``order``,
    counter-clockwise from outside, and the facet opposite each corner), ``normals``
    ((M, 3) float64: unit outward normals in mm) and ``measures`` ((2,) float64: volume
    in mm³, area in mm²).

    Returns
    -------
    int
        The number V of hull vertices (the first V of ``order``, and the first 2V - 4
        rows of the facet outputs), or -1 for a point off the half-grid, -2 for a
        coordinate of ``MAX_COORDINATE`` or more, -3 for points spanning fewer than 3
        dimensions, -4 for a failed check.
    """
    n = points.shape[0]
    m = corners.shape[0]
    position = pstate[5]
    # half-grid coordinates; the extremes along axis 0
    i0 = I64(0)
    i1 = I64(0)
    for p in range(n):
        position[p] = -1
        off = I64(0)  # -1 off the grid, -2 too far out (one return: see the scratch rows)
        for a in range(3):
            scaled = 2.0 * points[p, a] / spacing[a]
            half = np.rint(scaled)
            if not abs(scaled - half) <= 1e-6:  # GRID_TOLERANCE; NaN is off the grid too
                off = -1
                break
            if abs(half) >= 524288.0:  # MAX_COORDINATE
                off = -2
                break
            grid[p, a] = I64(half)
        if off < 0:
            return off
        if grid[p, 0] < grid[i0, 0]:
            i0 = p
        if grid[p, 0] > grid[i1, 0]:
            i1 = p
    # the triangle's third point: the furthest from the line of the extremes
    x0 = grid[i0, 0]
    x1 = grid[i0, 1]
    x2 = grid[i0, 2]
    e0 = grid[i1, 0] - x0
    e1 = grid[i1, 1] - x1
    e2 = grid[i1, 2] - x2
    i2 = I64(-1)
    best = 0.0
    for p in range(n):
        d0 = grid[p, 0] - x0
        d1 = grid[p, 1] - x1
        d2 = grid[p, 2] - x2
        c0 = e1 * d2 - e2 * d1
        c1 = e2 * d0 - e0 * d2
        c2 = e0 * d1 - e1 * d0
        s = float(c0) * float(c0) + float(c1) * float(c1) + float(c2) * float(c2)
        if s > best:  # s > 0: exactly off the line
            best = s
            i2 = p
    if i2 < 0:
        return -3
    # the scratch rows, named after the checks above: every array alive at a return is
    # released there, in code compiled at each return
    head = fstate[0]
    stamp = fstate[1]
    alive = fstate[2]
    pending_flag = fstate[3]
    free = fstate[4]
    pending = fstate[5]
    visited = fstate[6]
    link = pstate[0]
    height = pstate[1]
    moved = pstate[2]
    by_start = pstate[3]
    by_end = pstate[4]
    # two back-to-back triangles, each the other's neighbour across all three edges
    for f in range(m):
        head[f] = -1
        stamp[f] = 0
        alive[f] = 0
        pending_flag[f] = 0
        free[f] = m - 1 - f  # popped lowest slot first
    corners[0, 0] = corners[1, 0] = i0
    corners[0, 1] = corners[1, 2] = i1
    corners[0, 2] = corners[1, 1] = i2
    adjacent[0, 0] = adjacent[0, 1] = adjacent[0, 2] = 1
    adjacent[1, 0] = adjacent[1, 1] = adjacent[1, 2] = 0
    visited[0] = 0
    visited[1] = 1
    n_new = I64(2)
    n_free = m - 2
    n_pending = I64(0)
    n_moved = I64(0)
    step = I64(0)
    p = I64(-1)
    f = I64(-1)
    while True:
        # planes of the new facets, visited[:n_new] (n = (b - a) x (c - a) and d = n . a of
        # their corners a, b, c), and their points from moved[:n_moved]
        for t in range(n_new):
            g = visited[t]
            a = corners[g, 0]
            b = corners[g, 1]
            c = corners[g, 2]
            x0 = grid[a, 0]  # each array read once (numba compiles every access it meets)
            x1 = grid[a, 1]
            x2 = grid[a, 2]
            u0 = grid[b, 0] - x0
            u1 = grid[b, 1] - x1
            u2 = grid[b, 2] - x2
            v0 = grid[c, 0] - x0
            v1 = grid[c, 1] - x1
            v2 = grid[c, 2] - x2
            e0 = u1 * v2 - u2 * v1
            e1 = u2 * v0 - u0 * v2
            e2 = u0 * v1 - u1 * v0
            plane[g, 0] = e0
            plane[g, 1] = e1
            plane[g, 2] = e2
            plane[g, 3] = e0 * x0 + e1 * x1 + e2 * x2
            head[g] = -1
            alive[g] = 1
            stamp[g] = 0
        if step == 0:
            # the tetrahedron's apex: the point furthest from the triangles' plane
            far = I64(0)
            side = I64(0)
            f = visited[0]
            for q in range(n):
                o = _orient(plane, f, grid, q)
                if abs(o) > far:
                    far = abs(o)
                    p = q
                    side = o
            if far == 0:
                return -3
            if side < 0:  # p above the other triangle
                f = visited[1]
        else:
            if step == 1:  # every point but the tetrahedron's, against all four faces
                for q in range(n):
                    if q != i0 and q != i1 and q != i2 and q != p:
                        moved[n_moved] = q
                        n_moved += 1
                visited[n_new] = 1 - f
                n_new += 1
            for s in range(n_moved):
                q = moved[s]
                for t in range(n_new):
                    g = visited[t]
                    o = _orient(plane, g, grid, q)
                    if o > 0:
                        link[q] = head[g]
                        head[g] = q
                        height[q] = o
                        if pending_flag[g] == 0:
                            pending_flag[g] = 1
                            pending[n_pending] = g
                            n_pending += 1
                        break
            # the next facet with an outside set, and its furthest point p
            f = I64(-1)
            while n_pending > 0 and f < 0:
                n_pending -= 1
                f = pending[n_pending]
                pending_flag[f] = 0
                if alive[f] == 0 or head[f] < 0:
                    f = I64(-1)
            if f < 0:
                break
            p = head[f]
            q = link[p]
            while q >= 0:  # ties to the lowest index: of equal points, the first is kept
                if height[q] > height[p] or (height[q] == height[p] and q < p):
                    p = q
                q = link[q]
        # the facets p sees weakly (a disk, found by adjacency from f) and their horizon
        step += 1
        seen = 2 * step
        unseen = seen + 1
        stamp[f] = seen
        visited[0] = f
        n_seen = I64(1)
        n_horizon = I64(0)
        t = I64(0)
        while t < n_seen:
            g = visited[t]
            t += 1
            for j in range(3):
                h = adjacent[g, j]
                if stamp[h] == seen:
                    continue
                if stamp[h] != unseen:
                    if _orient(plane, h, grid, p) >= 0:
                        stamp[h] = seen
                        visited[n_seen] = h
                        n_seen += 1
                        continue
                    stamp[h] = unseen
                a = corners[g, (j + 1) % 3]
                b = corners[g, (j + 2) % 3]
                k = I64(0)  # h's corner opposite the edge a - b
                while corners[h, k] == a or corners[h, k] == b:
                    k += 1
                horizon[n_horizon, 0] = a
                horizon[n_horizon, 1] = b
                horizon[n_horizon, 2] = h
                horizon[n_horizon, 3] = k
                n_horizon += 1
        # the seen facets' outside points (p apart) are reassigned; their slots freed
        n_moved = I64(0)
        for t in range(n_seen):
            g = visited[t]
            q = head[g]
            while q >= 0:
                if q != p:
                    moved[n_moved] = q
                    n_moved += 1
                q = link[q]
            alive[g] = 0
            free[n_free] = g
            n_free += 1
        # the cone from p to the horizon, each triangle (a, b, p) turning as the facet it
        # replaces along a -> b; across b -> p the triangle starting at b, across p -> a
        # the one ending at a
        for t in range(n_horizon):
            n_free -= 1
            g = free[n_free]
            a = horizon[t, 0]
            b = horizon[t, 1]
            h = horizon[t, 2]
            corners[g, 0] = a
            corners[g, 1] = b
            corners[g, 2] = p
            adjacent[g, 2] = h
            adjacent[h, horizon[t, 3]] = g
            by_start[a] = g
            by_end[b] = g
            visited[t] = g  # the new facets (the seen list is no longer needed)
        for t in range(n_horizon):
            g = visited[t]
            adjacent[g, 0] = by_start[corners[g, 1]]
            adjacent[g, 1] = by_end[corners[g, 0]]
        n_new = n_horizon
    # the vertices (ascending), the live facets renumbered in slot order
    nf = I64(0)
    for f in range(m):
        if alive[f] == 1:
            stamp[f] = nf
            nf += 1
            position[corners[f, 0]] = 0
            position[corners[f, 1]] = 0
            position[corners[f, 2]] = 0
    nv = I64(0)
    for q in range(n):
        if position[q] == 0:
            position[q] = nv
            order[nv] = q
            link[nv] = 0  # plane changes around the vertex, counted below
            nv += 1
    if nf != 2 * nv - 4:  # Euler's formula for a closed triangulated sphere
        return -4
    s0 = spacing[0]
    s1 = spacing[1]
    s2 = spacing[2]
    r = order[0]  # a hull vertex: below or on every facet's plane
    volume6 = I64(0)  # six times the volume in half-grid units, exact
    area8 = 0.0  # eight times the area in mm
    for f in range(m):
        if alive[f] == 0:
            continue
        g = stamp[f]
        volume6 -= _orient(plane, f, grid, r)
        # the cross product in mm (times 4) is n * s0 s1 s2 / s; the primitive integer
        # normal (n over the gcd of its components) is the same for every triangle of a face
        cross = 0.0
        norm = 0.0
        k = I64(0)
        for a in range(3):
            b = plane[f, a]
            w = float(b) / spacing[a]
            cross += w * w
            b = abs(b)
            while b != 0:
                k, b = b, k % b
        for a in range(3):
            b = plane[f, a] // k
            plane[f, a] = b
            w = float(b) / spacing[a]
            normals[g, a] = w
            norm += w * w
        area8 += np.sqrt(cross) * (s0 * s1 * s2)
        norm = np.sqrt(norm)
        for a in range(3):
            normals[g, a] /= norm
        for j in range(3):
            facets[g, j] = position[corners[f, j]]
            neighbours[g, j] = stamp[adjacent[f, j]]
    # every vertex extreme: at least three plane changes around it (fewer faces meet at a
    # point in the middle of an edge or a face); an edge between facets of two planes
    # counts once from each side, at both of its ends
    for f in range(m):
        if alive[f] == 1:
            for j in range(3):
                h = adjacent[f, j]
                same = plane[f, 0] == plane[h, 0] and plane[f, 1] == plane[h, 1]
                if not (same and plane[f, 2] == plane[h, 2]):
                    link[position[corners[f, (j + 1) % 3]]] += 1
                    link[position[corners[f, (j + 2) % 3]]] += 1
    for q in range(nv):
        if link[q] < 6:
            return -4
    measures[0] = float(volume6) * (s0 * s1 * s2 / 48.0)
    measures[1] = area8 / 8.0
    return nv
