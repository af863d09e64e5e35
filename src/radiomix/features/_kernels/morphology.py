"""Numba kernels of the morphological family (private: no validation, callers check input)."""

from __future__ import annotations

import numpy as np

from radiomix.features._kernels import I64, cached_njit


@cached_njit(fastmath={"reassoc"}, error_model="numpy")
def _pair_row_sums(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, v: np.ndarray, i: int
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """Sums over ``j > i`` of ``w``, ``w v_j`` and ``w (v_i - v_j)**2``, ``w = 1/||c_j - c_i||``.

    ``fastmath={"reassoc"}`` lets LLVM reorder only these three sums (SIMD lanes); the
    weights are exact IEEE square roots and divisions. ``error_model="numpy"`` drops the
    division-by-zero branch (points are distinct, so distances are positive).
    """
    xi = x[i]
    yi = y[i]
    zi = z[i]
    vi = v[i]
    sw = 0.0
    swv = 0.0
    swd = 0.0
    for j in range(i + 1, x.shape[0]):
        dx = x[j] - xi
        dy = y[j] - yi
        dz = z[j] - zi
        w = 1.0 / np.sqrt(dx * dx + dy * dy + dz * dz)
        vj = v[j]
        d = vi - vj
        sw += w
        swv += w * vj
        swd += w * d * d
    return sw, swv, swd


@cached_njit()
def inverse_distance_pair_sums(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, centred: np.ndarray
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """Sums over ordered pairs ``k1 != k2`` with weight ``w = 1 / ||c_k1 - c_k2||``.

    Parameters
    ----------
    x, y, z : (N,) ndarray of float64
        Coordinates of distinct points in mm (one contiguous array per axis, so that the
        inner loop runs in SIMD lanes).
    centred : (N,) ndarray of float64
        Intensities minus their mean.

    Returns
    -------
    sum_w, sum_w_yy, sum_w_dd : float
        ``sum w``, ``sum w y1 y2`` and ``sum w (y1 - y2)**2`` over ordered pairs.

    Notes
    -----
    Each point's sums over the later points are accumulated separately (in SIMD lanes),
    then added up: the unordered-pair sums doubled. The result differs from a plain
    sequential sum over pairs only by rounding.
    """
    n = x.shape[0]
    sum_w = 0.0
    sum_yy = 0.0
    sum_dd = 0.0
    for i in range(n):
        sw, swv, swd = _pair_row_sums(x, y, z, centred, i)
        sum_w += sw
        sum_yy += centred[i] * swv
        sum_dd += swd
    return 2.0 * sum_w, 2.0 * sum_yy, 2.0 * sum_dd


@cached_njit()
def weighted_coordinate_sums(
    mask: np.ndarray, values: np.ndarray, spacing: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``sum_k (index_k * spacing) * values[k]`` over the ``mask`` voxels in raster order.

    The sums of ``(np.argwhere(mask) * spacing * values[:, None]).sum(axis=0)`` without the
    (N, 3) temporaries: the same products, added in raster order (numpy adds the rows of
    such an array in order, or pairwise for some sizes: equal to rounding).

    Parameters
    ----------
    mask : (Z, Y, X) ndarray of bool
        Voxels to sum over.
    values : (N,) ndarray of float64
        One weight per mask voxel, in raster order (``image[mask]``).
    spacing : (3,) ndarray of float64
        Voxel spacing in mm, (z, y, x).
    out : (3,) ndarray of float64
        Zeros on entry (allocated by the caller); receives the sums.
    """
    nz, ny, nx = mask.shape
    k = I64(0)
    # in registers (``out`` might alias ``values``: writing it in the loop would store
    # and reload each sum per voxel); the same additions in the same order
    s0 = out[0]
    s1 = out[1]
    s2 = out[2]
    for z in range(nz):
        fz = np.float64(z) * spacing[0]
        for y in range(ny):
            fy = np.float64(y) * spacing[1]
            for x in range(nx):
                if mask[z, y, x]:
                    w = values[k]
                    s0 += fz * w
                    s1 += fy * w
                    s2 += (np.float64(x) * spacing[2]) * w
                    k += 1
    out[0] = s0
    out[1] = s1
    out[2] = s2


@cached_njit()
def voxel_centres(mask: np.ndarray, spacing: np.ndarray, out: np.ndarray) -> None:
    """Centres (mm) of the ``mask`` voxels in raster order: ``np.argwhere(mask) * spacing``.

    Parameters
    ----------
    mask : (Z, Y, X) ndarray of bool
        Voxels to list.
    spacing : (3,) ndarray of float64
        Voxel spacing in mm, (z, y, x).
    out : (3, N) ndarray of float64
        Receives ``index * spacing`` along each axis (the rounding of numpy's int64 to
        float64 cast and product), one row per axis; ``out.T`` has the values and the
        memory layout of ``np.argwhere(mask).astype(float) * spacing``.
    """
    nz, ny, nx = mask.shape
    k = I64(0)
    for z in range(nz):
        fz = np.float64(z) * spacing[0]
        for y in range(ny):
            fy = np.float64(y) * spacing[1]
            for x in range(nx):
                if mask[z, y, x]:
                    out[0, k] = fz
                    out[1, k] = fy
                    out[2, k] = np.float64(x) * spacing[2]
                    k += 1


@cached_njit()
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


@cached_njit()
def _sort_xy(px: np.ndarray, py: np.ndarray, out: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Indices ``0..N-1`` sorted by ``(px, py)`` lexicographically, stable (insertion sort).

    Written out rather than ``np.argsort(kind="mergesort")``, whose generic numba
    implementation costs about 2.5 s of compilation on a first call; an insertion sort
    compiles in a fraction of a merge sort's time (cold start). The OMBB search sorts only
    without the hull's facets (the plain search of the tests) or where a direction's
    shadow boundary is not one cycle (:func:`_shadow_cycle`), where its quadratic worst
    case is acceptable.
    An element moves only past strictly larger ones: the order of ``np.lexsort((py,
    px))``. ``out`` ((N,) int64 at least) receives the order; the result is a view of it.
    """
    n = px.shape[0]
    a = out[:n]
    for i in range(n):
        j = i
        x = px[i]
        y = py[i]
        while j > 0 and (x < px[a[j - 1]] or (x == px[a[j - 1]] and y < py[a[j - 1]])):
            a[j] = a[j - 1]
            j -= 1
        a[j] = i
    return a


@cached_njit()
def _monotone_chain(
    px: np.ndarray, py: np.ndarray, order: np.ndarray, out: np.ndarray
) -> int:  # pragma: no cover - compiled
    """The 2D convex hull of the points ``order`` (sorted by ``(px, py)``): monotone chain.

    Writes the hull's point indices, counter-clockwise from the first point of ``order``,
    to ``out[:m]`` (int64, at least ``2 len(order)`` long, allocated by the caller) and
    returns ``m``. Collinear points are left out.
    """
    n = order.shape[0]
    k = I64(0)
    for t in range(n):  # lower hull
        p = order[t]
        while k >= 2:
            o, a = out[k - 2], out[k - 1]
            cross = (px[a] - px[o]) * (py[p] - py[o]) - (py[a] - py[o]) * (px[p] - px[o])
            if cross > 0:
                break
            k -= 1
        out[k] = p
        k += 1
    lower = k + 1
    for t in range(n - 2, -1, -1):  # upper hull
        p = order[t]
        while k >= lower:
            o, a = out[k - 2], out[k - 1]
            cross = (px[a] - px[o]) * (py[p] - py[o]) - (py[a] - py[o]) * (px[p] - px[o])
            if cross > 0:
                break
            k -= 1
        out[k] = p
        k += 1
    return k - 1 if k > 0 else 0


SHADOW_FLAT = 1e-12
"""Facets whose unit normal has a component of at most this magnitude along a projection
direction count as parallel to it (edge-on) in the OMBB search (:func:`_min_box_into`)."""


@cached_njit(inline="always")  # one call site: typed and lowered inside the caller
def _shadow_cycle(
    facets: np.ndarray,
    neighbours: np.ndarray,
    flipped: np.ndarray,
    side: np.ndarray,
    nxt: np.ndarray,
    touched: np.ndarray,
    cycle: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """The shadow boundary of a convex polytope along a direction, as a cycle of vertices.

    ``side`` ((F,) float64) holds each facet's normal component along the direction;
    facets with ``side >= -SHADOW_FLAT`` face up or are edge-on (*upper*), the others face
    down. The edges between an upper and a lower facet, each directed as it runs in its
    upper facet (corners counter-clockwise about the outward normal; ``flipped`` marks the
    facets whose ``facets`` row runs clockwise), form one closed cycle: around a vertex
    the facet normals are a convex spherical polygon, which a closed hemisphere meets in
    one run, so every vertex of the cycle has one edge out of it. Every corner of the
    polytope's projection along the direction is the projection of a vertex of the cycle
    (the lowest point over the corner has an upper and a lower facet), and the cycle
    passes the corners in order around the projected polygon.

    ``nxt`` ((N,) int64, all -1 on entry and on return) and ``touched`` ((N,) int64) are
    scratch; ``cycle`` ((N,) int64) receives the vertices in order. Returns their number,
    or -1 when the edges do not form one simple cycle (a vertex with two edges out of it,
    or several cycles: rounding of nearly edge-on facets), for the caller to fall back on
    every point, sorted.
    """
    n_touched = I64(0)
    count = I64(0)
    simple = n_touched == 0  # True, typed bool (a literal widens on a further typing pass)
    for g in range(facets.shape[0]):
        if side[g] < -SHADOW_FLAT:
            continue
        for i in range(3):
            if side[neighbours[g, i]] < -SHADOW_FLAT:
                a = facets[g, (i + 1) % 3]
                b = facets[g, (i + 2) % 3]
                if flipped[g]:
                    a, b = b, a
                if nxt[a] >= 0:
                    simple = False
                else:
                    nxt[a] = b
                    touched[n_touched] = a
                    n_touched += 1
                count += 1
    if simple and count >= 3:
        first = touched[0]
        p = first
        for t in range(count):
            cycle[t] = p
            p = nxt[p]
            if p < 0 or (p == first and t < count - 1):
                simple = False
                break
        if p != first:
            simple = False
    for t in range(n_touched):
        nxt[touched[t]] = -1
    return count if simple else I64(-1)


@cached_njit(inline="always")  # one call site: typed and lowered inside the caller
def _cyclic_hull(px: np.ndarray, py: np.ndarray, n: int, out: np.ndarray) -> int:
    """Convex hull of ``n`` points met in order around a convex polygon (either way round).

    The points (``px``, ``py``) run around the boundary of their convex hull, with points
    on its edges (or repeated) among the corners, as :func:`_shadow_cycle`'s vertices do.
    Writes the corners' indices counter-clockwise from the least ``(px, py)`` point to
    ``out[:m]`` (as :func:`_monotone_chain`, collinear points left out) and returns ``m``;
    0 for a degenerate polygon (fewer than three corners, no area). A Graham scan: the
    points in this order are sorted by angle about the least one.
    """
    area2 = 0.0
    s = I64(0)
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        area2 += px[i] * py[j] - px[j] * py[i]
        if px[i] < px[s] or (px[i] == px[s] and py[i] < py[s]):
            s = i
    if not (area2 > 0.0 or area2 < 0.0):
        return 0
    step = I64(1) if area2 > 0.0 else n - 1
    k = I64(0)
    p = s
    # the corners that do not turn left are dropped as in _monotone_chain's passes (the
    # loop written out: a helper inlined by numba made the OMBB search 15 % slower)
    for _ in range(n):
        while k >= 2:
            o, a = out[k - 2], out[k - 1]
            cross = (px[a] - px[o]) * (py[p] - py[o]) - (py[a] - py[o]) * (px[p] - px[o])
            if cross > 0:
                break
            k -= 1
        out[k] = p
        k += 1
        p += step
        if p >= n:
            p -= n
    while k >= 3:  # corners of the last edge back to the first point
        o, a, p = out[k - 2], out[k - 1], out[0]
        cross = (px[a] - px[o]) * (py[p] - py[o]) - (py[a] - py[o]) * (px[p] - px[o])
        if cross > 0:
            break
        k -= 1
    return k if k >= 3 else I64(0)


@cached_njit(error_model="numpy")  # divisors: voxel spacings > 0
def plane_hull_candidates(
    vertices: np.ndarray,
    spacing: np.ndarray,
    keep: np.ndarray,
    grid: np.ndarray,
    order: np.ndarray,
    spare: np.ndarray,
    counts: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    ident: np.ndarray,
    chain: np.ndarray,
) -> bool:  # pragma: no cover - compiled
    """Clear ``keep`` for mesh vertices inside the 2D hull of a grid plane's vertices.

    The filter of :func:`radiomix.features.morphology.hull_candidates` (see there): each
    vertex's half-grid coordinates ``rint(2 v / spacing)``; then for each axis in turn the
    vertices still kept whose coordinate along it is even (a grid plane), sorted by
    (plane, then the two other half-grid coordinates in axis order) with three stable
    counting sorts, and each plane's group of three or more points reduced to the
    vertices of its 2D hull by the monotone chain (collinear points left out) on the
    coordinates of the two other axes in mm. Groups of fewer than three points are left
    as they are.

    Parameters
    ----------
    vertices : (N, 3) ndarray of float64
        Mesh vertices in mm.
    spacing : (3,) ndarray of float64
        Voxel spacing in mm.
    keep : (N,) ndarray of bool
        True on entry; cleared for the vertices found inside a plane's hull.
    grid : (N, 3) ndarray of int64
        Scratch: the half-grid coordinates.
    order, spare, ident : (N,) ndarray of int64
        Scratch; ``ident`` holds ``0 .. N-1``.
    counts : (S,) ndarray of int64
        Scratch, longer than the half-grid extent along every axis.
    px, py : (N,) ndarray of float64
        Scratch: one plane's in-plane coordinates, in sorted order.
    chain : (2N + 2,) ndarray of int64
        Scratch of the monotone chain.

    Returns
    -------
    bool
        False, with ``keep`` untouched, when a vertex is more than 1e-6 off the half-grid
        (not a mask mesh); True otherwise.
    """
    n = vertices.shape[0]
    lo0 = lo1 = lo2 = I64(1 << 62)
    for p in range(n):
        for a in range(3):
            scaled = 2.0 * vertices[p, a] / spacing[a]
            half = np.rint(scaled)
            if abs(scaled - half) > 1e-6:
                return False
            grid[p, a] = np.int64(half)
        lo0 = min(lo0, grid[p, 0])
        lo1 = min(lo1, grid[p, 1])
        lo2 = min(lo2, grid[p, 2])
    for axis in range(3):
        b = 1 if axis == 0 else 0
        c = 1 if axis == 2 else 2
        m = I64(0)
        for p in range(n):
            if keep[p] and grid[p, axis] % 2 == 0:  # in a grid plane of this axis
                order[m] = p
                m += 1
        if m < 3:
            continue
        # stable counting sorts by c, then b, then the plane: (plane, b, c) order
        src = order
        dst = spare
        for key in (c, b, axis):
            low = lo0 if key == 0 else (lo1 if key == 1 else lo2)
            for i in range(counts.shape[0]):
                counts[i] = 0
            for t in range(m):
                counts[grid[src[t], key] - low + 1] += 1
            for i in range(1, counts.shape[0]):
                counts[i] += counts[i - 1]
            for t in range(m):
                k = grid[src[t], key] - low
                dst[counts[k]] = src[t]
                counts[k] += 1
            src, dst = dst, src
        start = I64(0)
        while start < m:
            plane = grid[src[start], axis]
            stop = start + 1
            while stop < m and grid[src[stop], axis] == plane:
                stop += 1
            size = stop - start
            if size >= 3:
                for t in range(size):
                    q = src[start + t]
                    px[t] = vertices[q, b]
                    py[t] = vertices[q, c]
                    keep[q] = False
                hull = _monotone_chain(px[:size], py[:size], ident[:size], chain)
                for t in range(hull):
                    keep[src[start + chain[t]]] = True
            start = stop
    return True


def min_box_flush_with_planes(
    points: np.ndarray,
    normals: np.ndarray,
    us: np.ndarray,
    vs: np.ndarray,
    facets: np.ndarray,
    neighbours: np.ndarray,
    facet_normals: np.ndarray,
) -> np.ndarray:
    """Smallest box enclosing ``points`` with one face perpendicular to one of ``normals``.

    Plain Python: allocates the buffers of the compiled search :func:`_min_box_into` (see
    there; no allocation is compiled on a first call).

    Returns
    -------
    (4,) ndarray of float64
        Volume and the three edge lengths (two base sides, height) of the best box (the
        smallest volume; among equal volumes the smallest surface area); volume ``inf`` if
        every projection is degenerate.
    """
    n_pts = points.shape[0]
    best = np.array([np.inf, 0.0, 0.0, 0.0])
    _min_box_into(
        points, normals, us, vs, facets, neighbours, facet_normals,
        np.empty(facets.shape[0]), np.empty(facets.shape[0]),
        np.empty(facets.shape[0], dtype=np.bool_),
        np.empty(n_pts), np.empty(n_pts), np.empty(n_pts + 1), np.empty(n_pts + 1),
        np.empty(2 * n_pts, dtype=np.int64), np.empty(n_pts, dtype=np.int64),
        np.full(n_pts, -1, dtype=np.int64), np.empty(n_pts, dtype=np.int64),
        np.empty(n_pts, dtype=np.int64), best,
    )  # fmt: skip
    return best


@cached_njit(error_model="numpy")  # divisors: edge lengths > 1e-12, hull sizes >= 3
def _min_box_into(
    points: np.ndarray,
    normals: np.ndarray,
    us: np.ndarray,
    vs: np.ndarray,
    facets: np.ndarray,
    neighbours: np.ndarray,
    facet_normals: np.ndarray,
    side: np.ndarray,
    facet_area: np.ndarray,
    flipped: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    hx: np.ndarray,
    hy: np.ndarray,
    hull: np.ndarray,
    work: np.ndarray,
    nxt: np.ndarray,
    touched: np.ndarray,
    cycle: np.ndarray,
    best: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Smallest box enclosing ``points`` with one face perpendicular to one of ``normals``.

    For each unit normal ``n`` (with in-plane orthonormal basis ``u``, ``v``) the height is
    the extent of the points along ``n`` and the base the minimum-area rectangle of the
    projected points, which has a side collinear with an edge of their 2D convex hull
    (one rectangle per hull edge, by rotating calipers: :func:`_flush_rectangles`).
    Normals whose height times projected hull area (a lower bound of their boxes) exceeds
    the best volume found by more than 1e-6 relative are skipped: they cannot win.

    When ``facets`` (the hull's triangles as indices into ``points``, (F, 3)),
    ``neighbours`` (facet opposite each triangle corner, (F, 3)) and ``facet_normals``
    ((F, 3), outward) are given (F > 0), the projected polygon is built from the hull's
    shadow boundary along ``n`` (:func:`_shadow_cycle`): its vertices come in order around
    the polygon, so a Graham scan (:func:`_cyclic_hull`) gives the polygon without sorting
    the points, the same corners (the projections of the same or, on a column parallel to
    ``n``, of a point projecting onto the same one to rounding) as the hull of every
    point. Should the boundary edges not form one cycle (rounding of a nearly edge-on
    facet; not met on any hull of the tests or the sarcoma cohort), every point is projected
    and sorted instead (:func:`_sort_xy`, :func:`_monotone_chain`), as for F = 0. With the
    facets, the
    projected hull area is known before the 2D hull (Cauchy's projection formula,
    :math:`\\frac12\\sum_f |n\\cdot n_f| A_f`, equal to it up to rounding): a normal whose
    bound exceeds the best volume by more than 2e-6 relative, which the test on the 2D
    hull's area would skip too, is skipped before its boundary and 2D hull are built.

    The caller allocates every array (no allocation is compiled here): scratch ``side``
    and ``facet_area`` ((F,) float64), ``flipped`` ((F,) bool: the facets whose corners run
    clockwise about their normal), ``px``, ``py`` ((N,) float64), ``hx``, ``hy`` ((N + 1,)
    float64), ``hull`` ((2N,) int64), ``work`` ((N,) int64: the sort's order), ``nxt``
    ((N,) int64, all -1), ``touched`` and ``cycle`` ((N,) int64), and ``best`` ((4,)
    float64, ``(inf, 0, 0, 0)`` on entry), which receives the volume and the three edge
    lengths (two base sides, height) of the best box (the smallest volume; among equal
    volumes the smallest surface area); volume ``inf`` if every projection is degenerate.
    """
    n_pts = points.shape[0]
    n_fac = facets.shape[0]
    best_area = np.inf
    for g in range(n_fac):  # twice each facet's area, |(b - a) x (c - a)|
        ia = facets[g, 0]
        ib = facets[g, 1]
        ic = facets[g, 2]
        u0 = points[ib, 0] - points[ia, 0]
        u1 = points[ib, 1] - points[ia, 1]
        u2 = points[ib, 2] - points[ia, 2]
        v0 = points[ic, 0] - points[ia, 0]
        v1 = points[ic, 1] - points[ia, 1]
        v2 = points[ic, 2] - points[ia, 2]
        c0 = u1 * v2 - u2 * v1
        c1 = u2 * v0 - u0 * v2
        c2 = u0 * v1 - u1 * v0
        facet_area[g] = np.sqrt(c0 * c0 + c1 * c1 + c2 * c2)
        outward = c0 * facet_normals[g, 0] + c1 * facet_normals[g, 1] + c2 * facet_normals[g, 2]
        flipped[g] = outward < 0.0
    for f in range(normals.shape[0]):
        n0 = normals[f, 0]
        n1 = normals[f, 1]
        n2 = normals[f, 2]
        # the extent along n (extremes are the same in any order: two running pairs)
        lo0 = lo1 = np.inf
        hi0 = hi1 = -np.inf
        n2p = n_pts - n_pts % 2
        for p in range(0, n2p, 2):
            h = points[p, 0] * n0 + points[p, 1] * n1 + points[p, 2] * n2
            g = points[p + 1, 0] * n0 + points[p + 1, 1] * n1 + points[p + 1, 2] * n2
            lo0 = min(lo0, h)
            hi0 = max(hi0, h)
            lo1 = min(lo1, g)
            hi1 = max(hi1, g)
        for p in range(n2p, n_pts):
            h = points[p, 0] * n0 + points[p, 1] * n1 + points[p, 2] * n2
            lo0 = min(lo0, h)
            hi0 = max(hi0, h)
        height = max(hi0, hi1) - min(lo0, lo1)
        k = I64(0)
        m = I64(0)
        if n_fac > 0:
            proj4 = 0.0  # four times the projected hull area
            for g in range(n_fac):
                sg = facet_normals[g, 0] * n0 + facet_normals[g, 1] * n1 + facet_normals[g, 2] * n2
                side[g] = sg
                proj4 += abs(sg) * facet_area[g]
            if 0.25 * proj4 * height > best[0] * (1.0 + 2e-6):
                continue
            k = _shadow_cycle(facets, neighbours, flipped, side, nxt, touched, cycle)
            if k >= 3:
                for t in range(k):
                    p = cycle[t]
                    x0 = points[p, 0]
                    x1 = points[p, 1]
                    x2 = points[p, 2]
                    px[t] = x0 * us[f, 0] + x1 * us[f, 1] + x2 * us[f, 2]
                    py[t] = x0 * vs[f, 0] + x1 * vs[f, 1] + x2 * vs[f, 2]
                m = _cyclic_hull(px, py, k, hull)
        if k < 3:  # no facets, or no single boundary cycle: every point, sorted
            for p in range(n_pts):
                x0 = points[p, 0]
                x1 = points[p, 1]
                x2 = points[p, 2]
                px[p] = x0 * us[f, 0] + x1 * us[f, 1] + x2 * us[f, 2]
                py[p] = x0 * vs[f, 0] + x1 * vs[f, 1] + x2 * vs[f, 2]
            m = _monotone_chain(px, py, _sort_xy(px, py, work), hull)
        if m < 3:
            continue
        # the polygon's corners in order, contiguous, the first repeated at the end
        for t in range(m):
            hx[t] = px[hull[t]]
            hy[t] = py[hull[t]]
        hx[m] = hx[0]
        hy[m] = hy[0]
        # Lower bound: every box of this height has a base of at least the area of the
        # projected hull. A bound above the best volume by far more than rounding (1e-6
        # relative) cannot give a smaller volume nor a near-tie: skip its rectangles.
        poly2 = 0.0
        for e in range(m):
            poly2 += hx[e] * hy[e + 1] - hx[e + 1] * hy[e]
        if 0.5 * poly2 * height > best[0] * (1.0 + 1e-6):
            continue
        best_area = _flush_rectangles(hx, hy, m, height, best, best_area)


@cached_njit(error_model="numpy")  # divisors: edge lengths > 1e-12
def _flush_rectangles(
    hx: np.ndarray, hy: np.ndarray, m: int, height: float, best: np.ndarray, best_area: float
) -> float:  # pragma: no cover - compiled
    """Boxes of ``height`` on each rectangle with a side on an edge of a convex polygon.

    ``hx``, ``hy`` hold the ``m`` corners of a strictly convex polygon counter-clockwise,
    the first repeated at ``m``. For the edge ``e`` (corners ``e``, ``e + 1``, unit
    direction ``d``, left normal ``d⊥``) the enclosing rectangle with a side on it spans
    the corners' projections ``s = c·d`` and ``r = c·d⊥``: ``r`` is least on the edge (the
    polygon lies to its left) and the other three extremes are found by rotating calipers
    (Toussaint 1983): the corners of largest ``s``, of least ``s`` and of largest ``r``
    only move forward around the polygon as the edge does (a convex polygon's projection on
    a direction rises, then falls, around it), so each pointer climbs from where it stood
    for the previous edge while the next corner's projection is not smaller; the first
    edge's extremes are found by a scan. Each extreme is the maximum of the full scan over
    the corners up to rounding of the projections (corners equal to within rounding may
    stand in for each other). The volume of each box ``w d h`` updates ``best`` (volume,
    ``w``, ``d``, height) when smaller by more than 1e-9 relative, or equal to 1e-9 with a
    surface area smaller by more than 1e-9; returns the best box's surface area.
    """
    i_hi = I64(-1)  # corner of largest s
    i_lo = I64(0)  # corner of least s
    i_far = I64(0)  # corner of largest r
    for e in range(m):
        dx = hx[e + 1] - hx[e]
        dy = hy[e + 1] - hy[e]
        ln = np.sqrt(dx * dx + dy * dy)
        if ln <= 1e-12:
            continue
        dx /= ln
        dy /= ln
        if i_hi < 0:
            i_hi = i_lo = i_far = I64(e)
            for t in range(m):
                s = hx[t] * dx + hy[t] * dy
                if s > hx[i_hi] * dx + hy[i_hi] * dy:
                    i_hi = t
                if s < hx[i_lo] * dx + hy[i_lo] * dy:
                    i_lo = t
                if -hx[t] * dy + hy[t] * dx > -hx[i_far] * dy + hy[i_far] * dx:
                    i_far = t
        else:
            for _ in range(m):
                j = i_hi + 1 if i_hi + 1 < m else 0
                if hx[j] * dx + hy[j] * dy < hx[i_hi] * dx + hy[i_hi] * dy:
                    break
                i_hi = j
            for _ in range(m):
                j = i_lo + 1 if i_lo + 1 < m else 0
                if hx[j] * dx + hy[j] * dy > hx[i_lo] * dx + hy[i_lo] * dy:
                    break
                i_lo = j
            for _ in range(m):
                j = i_far + 1 if i_far + 1 < m else 0
                if -hx[j] * dy + hy[j] * dx < -hx[i_far] * dy + hy[i_far] * dx:
                    break
                i_far = j
        w = (hx[i_hi] * dx + hy[i_hi] * dy) - (hx[i_lo] * dx + hy[i_lo] * dy)
        r0 = min(-hx[e] * dy + hy[e] * dx, -hx[e + 1] * dy + hy[e + 1] * dx)
        d = (-hx[i_far] * dy + hy[i_far] * dx) - r0
        vol = w * d * height
        area = w * d + w * height + d * height
        # Smaller volume wins; near-ties (1e-9 relative) go to the smaller surface, so
        # the choice does not depend on the order of the candidates.
        if vol < best[0] * (1.0 - 1e-9) or (
            vol <= best[0] * (1.0 + 1e-9) and area < best_area * (1.0 - 1e-9)
        ):
            best[0] = vol
            best[1] = w
            best[2] = d
            best[3] = height
            best_area = area
    return best_area


def khachiyan_weights(points: np.ndarray, tol: float, max_iter: int) -> tuple[np.ndarray, int]:
    """Barycentric weights of the minimum volume enclosing ellipsoid (Khachiyan 1996).

    Parameters
    ----------
    points : (N, 3) ndarray of float64
        Points spanning 3 dimensions (centred for numerical stability).
    tol : float
        Stop when the Euclidean norm of the weight change falls below ``tol``.
    max_iter : int
        Iteration limit.

    Returns
    -------
    u : (N,) ndarray of float64
        Weights; the ellipsoid centre is ``points.T @ u``.
    iterations : int
        Iterations used (``max_iter`` when the tolerance was not reached).

    Raises
    ------
    ValueError
        Points that are not (N, 3), or whose scatter matrix is singular (they do not span
        3 dimensions).

    Notes
    -----
    Plain Python: allocates the buffers of the compiled iteration :func:`_khachiyan_into`
    (no allocation is compiled on a first call).
    """
    pts = np.asarray(points, dtype=np.float64)
    n, d = pts.shape
    if d != 3:
        raise ValueError(f"khachiyan_weights needs (N, 3) points, got {pts.shape}")
    k = d + 1
    q = np.empty((k, n))  # lifted points, one row per coordinate, then a row of ones
    q[:d] = pts.T
    q[d] = 1.0
    u = np.full(n, 1.0 / n)
    iterations = _khachiyan_into(q, u, tol, max_iter, np.empty(n))
    if iterations < 0:
        raise ValueError("MVEE: singular scatter matrix (points do not span 3D)")
    return u, int(iterations)


KHACHIYAN_TIE = 1e-12
"""Relative margin within which two Mahalanobis distances are a tie in the MVEE iteration
(:func:`_khachiyan_into`): the point of lowest index among them is chosen."""


@cached_njit(error_model="numpy")  # the divisor (d + 1)(max m_p - 1) >= (d + 1) d > 0
def _khachiyan_into(
    q: np.ndarray, u: np.ndarray, tol: float, max_iter: int, dist: np.ndarray
) -> int:  # pragma: no cover - compiled
    """The iteration of :func:`khachiyan_weights`; updates ``u`` in place, returns the count
    (-1 for a singular scatter matrix).

    ``q`` ((4, N) float64) holds the lifted 3D points (coordinates, then ones), ``u``
    ((N,) float64) the starting weights ``1 / N`` and ``dist`` ((N,) float64) is scratch.

    Each iteration computes the Mahalanobis distances :math:`m_p = q_p^T X^{-1} q_p` of
    the lifted scatter matrix :math:`X = \\sum_p u_p q_p q_p^T` and moves weight to the
    farthest point :math:`j`: :math:`u \\leftarrow (1-\\beta)u + \\beta e_j`. With
    :math:`X = [[S, c], [c^T, t]]` (:math:`t = \\sum_p u_p`), the inverse by blocks gives
    :math:`m_p = (x_p - g)^T M^{-1} (x_p - g) + 1/t`, with the weighted centre
    :math:`g = c/t` and :math:`M = S - c c^T / t` (the Schur complement), inverted by its
    adjugate. :math:`X` (its ten distinct entries) is summed over the points once and then
    follows the weights as the same rank-one update,
    :math:`X \\leftarrow (1-\\beta)X + \\beta q_j q_j^T`: an iteration costs one pass over the
    points for the distances and one for the weights.

    Distances within :data:`KHACHIYAN_TIE` (relative) of the largest are a tie, won by the
    lowest index: points equally far in exact arithmetic (symmetric and lattice point
    sets) are told apart by their order, not by rounding, so that the path does not
    depend on the order of the floating-point operations.
    """
    n = q.shape[1]
    d = 3.0
    s00 = s01 = s02 = s03 = s11 = s12 = s13 = s22 = s23 = s33 = 0.0
    for p in range(n):
        w = u[p]
        q0 = q[0, p]
        q1 = q[1, p]
        q2 = q[2, p]
        s00 += w * q0 * q0
        s01 += w * q0 * q1
        s02 += w * q0 * q2
        s03 += w * q0
        s11 += w * q1 * q1
        s12 += w * q1 * q2
        s13 += w * q1
        s22 += w * q2 * q2
        s23 += w * q2
        s33 += w
    for it in range(max_iter):
        g0 = s03 / s33
        g1 = s13 / s33
        g2 = s23 / s33
        m00 = s00 - s03 * g0
        m01 = s01 - s03 * g1
        m02 = s02 - s03 * g2
        m11 = s11 - s13 * g1
        m12 = s12 - s13 * g2
        m22 = s22 - s23 * g2
        a00 = m11 * m22 - m12 * m12
        a01 = m02 * m12 - m01 * m22
        a02 = m01 * m12 - m02 * m11
        a11 = m00 * m22 - m02 * m02
        a12 = m01 * m02 - m00 * m12
        a22 = m00 * m11 - m01 * m01
        det = (m00 * a00 + m01 * a01) + m02 * a02
        if not det > 0.0:
            return -1
        r = 1.0 / det
        a00 *= r
        a11 *= r
        a22 *= r
        a01 *= 2.0 * r
        a02 *= 2.0 * r
        a12 *= 2.0 * r
        base = 1.0 / s33
        for p in range(n):
            d0 = q[0, p] - g0
            d1 = q[1, p] - g1
            d2 = q[2, p] - g2
            square = (a00 * d0 * d0 + a11 * d1 * d1) + a22 * d2 * d2
            cross = (a01 * d0 * d1 + a02 * d0 * d2) + a12 * d1 * d2
            dist[p] = (square + cross) + base
        # the largest distance (a maximum is the same in any order: four running ones)
        t0 = t1 = t2 = t3 = -1.0
        n4 = n - n % 4
        for p in range(0, n4, 4):
            t0 = max(t0, dist[p])
            t1 = max(t1, dist[p + 1])
            t2 = max(t2, dist[p + 2])
            t3 = max(t3, dist[p + 3])
        for p in range(n4, n):
            t0 = max(t0, dist[p])
        top = max(max(t0, t1), max(t2, t3))
        floor = top * (1.0 - KHACHIYAN_TIE)
        j = I64(0)
        while j < n - 1 and dist[j] < floor:
            j += 1
        best = dist[j]
        step = (best - d - 1.0) / ((d + 1.0) * (best - 1.0))
        # u_new = (1 - step) u + step e_j; accumulate ||u_new - u||^2 on the way.
        err2 = 0.0
        for p in range(n):
            du = -step * u[p]
            if p == j:
                du += step
            err2 += du * du
            u[p] = (1.0 - step) * u[p]
        u[j] += step
        keep = 1.0 - step
        q0 = q[0, j]
        q1 = q[1, j]
        q2 = q[2, j]
        s00 = keep * s00 + step * (q0 * q0)
        s01 = keep * s01 + step * (q0 * q1)
        s02 = keep * s02 + step * (q0 * q2)
        s03 = keep * s03 + step * q0
        s11 = keep * s11 + step * (q1 * q1)
        s12 = keep * s12 + step * (q1 * q2)
        s13 = keep * s13 + step * q1
        s22 = keep * s22 + step * (q2 * q2)
        s23 = keep * s23 + step * q2
        s33 = keep * s33 + step
        if np.sqrt(err2) < tol:
            return it + 1
    return max_iter


@cached_njit()
def spectral_pair_sums_block(
    w_block: np.ndarray, block: np.ndarray, k0_start: int, k0_last: int
) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """Frequency-domain sums over one block of first-axis bins (blocked Parseval sums).

    Parameters
    ----------
    w_block : (B, L1/2+1, L2/2+1) ndarray of float64
        Real spectrum ``W`` of an even kernel on the even padded grid ``(L0, L1, L2)`` at
        the block's first-axis bins, one quadrant of the two other axes:
        ``W(k0_start + j, k1, k2) = w_block[j, min(k1, L1-k1), min(k2, L2-k2)]``.
    block : (B, 3, L1, L2) ndarray of complex128
        Spectra ``M``, ``Y``, ``Y2`` of the mask, ``y`` and ``y**2`` at the first-axis
        bins ``k0_start .. k0_start + B - 1`` of the half spectrum (bin leading).
    k0_start : int
        First-axis bin of the block's first slab.
    k0_last : int
        Last bin of the half spectrum (``L0/2``).

    Returns
    -------
    s_mm, s_yy, s_y2m : float
        ``sum W |M|^2``, ``sum W |Y|^2`` and ``sum W Re(Y2 conj M)`` over these bins of
        the full spectrum (half-spectrum bins ``0 < k0 < L0/2`` count twice), not divided
        by ``L0 L1 L2``. Summed row by row: each ``(bin, k1)`` row of ``L2`` values is
        summed along ``k2`` (contiguous), weighted by the bin's multiplicity, then added to
        the totals.
    """
    nb = block.shape[0]
    n1 = block.shape[2]
    n2 = block.shape[3]
    s_mm = 0.0
    s_yy = 0.0
    s_ym = 0.0
    for j in range(nb):
        k0 = k0_start + j
        twice = 0 < k0 < k0_last
        for k1 in range(n1):
            w_row = w_block[j, k1 if 2 * k1 <= n1 else n1 - k1]
            m = block[j, 0, k1]
            y = block[j, 1, k1]
            y2 = block[j, 2, k1]
            a_mm = 0.0
            a_yy = 0.0
            a_ym = 0.0
            for k2 in range(n2):
                w = w_row[k2 if 2 * k2 <= n2 else n2 - k2]
                a_mm += w * (m[k2].real * m[k2].real + m[k2].imag * m[k2].imag)
                a_yy += w * (y[k2].real * y[k2].real + y[k2].imag * y[k2].imag)
                a_ym += w * (y2[k2].real * m[k2].real + y2[k2].imag * m[k2].imag)
            if twice:
                a_mm *= 2.0
                a_yy *= 2.0
                a_ym *= 2.0
            s_mm += a_mm
            s_yy += a_yy
            s_ym += a_ym
    return s_mm, s_yy, s_ym


@cached_njit()
def mesh_cubes(
    padded: np.ndarray,
    spacing: np.ndarray,
    offset: np.ndarray,
    counts: np.ndarray,
    corner_sums: np.ndarray,
    vertices: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Cube configurations and edge-midpoint vertices of a padded binary mask, in one pass.

    The pass of :func:`radiomix.features.morphology.roi_mesh` (see there for the maths).

    Parameters
    ----------
    padded : (Z, Y, X) ndarray of uint8
        The mask (0 or 1) in its bounding box with one layer of 0 around it (C order).
    spacing, offset : (3,) ndarray of float64
        Voxel spacing and the position (mm) of voxel ``(0, 0, 0)`` of ``padded``.
    counts : (256,) ndarray of int64
        Zeros on entry; receives :math:`n_c`, the number of cubes of each configuration
        ``c``: bit ``4 dz + 2 dy + dx`` of ``c`` is the voxel ``(z + dz, y + dy, x + dx)``
        of the cube with lower corner ``(z, y, x)``. Configurations 0 and 255 (no
        surface) are not counted.
    corner_sums : (256, 3) ndarray of int64
        Zeros on entry; receives :math:`\\mathbf{O}_c`, the sum of those lower corners.
    vertices : (M, 3) ndarray of float64
        Receives, in its first rows, the midpoints (mm) of the grid edges whose two voxels
        differ: each cube's edges along x, y and z at its lower corner, cube by cube in
        raster order (an edge with a differing pair is such an edge of a crossed cube, as
        the padding's edges never differ). ``M`` is at least their number.

    Returns
    -------
    int
        Number of rows of ``vertices`` written.
    """
    nz, ny, nx = padded.shape
    s0 = 0.5 * spacing[0]
    s1 = 0.5 * spacing[1]
    s2 = 0.5 * spacing[2]
    n = I64(0)
    for z in range(nz - 1):
        for y in range(ny - 1):
            # the four voxels of a cube's side at x as bits 0, 2, 4, 6 (dx = 0), slid along
            # x: the cube with lower corner x - 1 is ``left | right << 1``
            left = np.int64(0)
            for x in range(nx):
                right = (
                    np.int64(padded[z, y, x])
                    | np.int64(padded[z, y + 1, x]) << 2
                    | np.int64(padded[z + 1, y, x]) << 4
                    | np.int64(padded[z + 1, y + 1, x]) << 6
                )
                c = left | right << 1
                left = right
                if x == 0 or c == 0 or c == 255:
                    continue
                counts[c] += 1
                o = x - 1
                corner_sums[c, 0] += z
                corner_sums[c, 1] += y
                corner_sums[c, 2] += o
                for a in range(3):  # the edges from corner 0 to corners 1, 2, 4
                    k = 1 << a
                    if (c ^ c >> k) & 1:
                        vertices[n, 0] = np.float64(2 * z + (k >> 2)) * s0 + offset[0]
                        vertices[n, 1] = np.float64(2 * y + (k >> 1 & 1)) * s1 + offset[1]
                        vertices[n, 2] = np.float64(2 * o + (k & 1)) * s2 + offset[2]
                        n += 1
    return n
