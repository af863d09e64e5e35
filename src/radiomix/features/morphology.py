"""Morphological features (IBSI family HCUG), computed on the morphological mask.

Three representations of the ROI are used, as in the IBSI 1 manual (§3.1): the voxel
point set of the morphological mask (voxel centres in mm; PCA, centre of mass), the voxel
intensity set of the intensity mask (integrated intensity, Moran's I, Geary's C), and a
triangle mesh of the morphological mask drawn by marching cubes at iso-level 0.5 on the
zero-padded mask (volume, area and every feature that derives from them). Expensive
intermediates (mesh, convex hull, PCA, bounding boxes, autocorrelation sums) are computed
once per ROI and cached on the :class:`~radiomix.roi.RoiContext`.

All lengths are in mm (the unit of the voxel spacing), volumes in mm³, areas in mm².
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from radiomix.errors import EmptyRoiError, InputError
from radiomix.features._kernels import hull as _kh
from radiomix.features._kernels import morphology as _k
from radiomix.features.aggregation import Aggregation
from radiomix.features.registry import FeatureSpec, evaluate_each, family, feature
from radiomix.roi import RoiContext, bounding_box
from radiomix.types import BoolArray, FloatArray, Spacing

log = logging.getLogger(__name__)

ELLIPSOID_AREA_TERMS = 20
"""Last degree ν of the Legendre series of the ellipsoid surface area (IBSI default 20)."""
MVEE_TOLERANCE = 1e-3
"""Stopping tolerance of Khachiyan's algorithm for the MVEE (IBSI default 0.001)."""
MVEE_MAX_ITERATIONS = 100_000
PAIR_SUM_BLOCK_BYTES = 1 << 20
"""Bytes of one block of padded spectra in the blocked FFT pair sums (Moran, Geary).

Small enough for a block to stay in a core's L2 cache through its two transforms and sums.
"""


# --------------------------------------------------------------------------------------
# Intermediates: mesh, convex hull, PCA, bounding boxes, ellipsoids, autocorrelation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mesh:
    """Closed triangle mesh of a binary mask (IBSI mesh representation WRJH).

    Attributes
    ----------
    vertices : (N_vx, 3) ndarray of float64
        Vertex positions in mm, (z, y, x), in the frame where voxel ``(i, j, k)`` of the
        mask has its centre at ``(i, j, k) * spacing``.
    faces : (N_fc, 3) ndarray of int64
        Vertex indices of each triangle, consistently oriented.
    volume : float
        Mesh volume in mm³, the absolute sum of the signed tetrahedron volumes.
    area : float
        Mesh surface area in mm².
    """

    vertices: FloatArray
    faces: np.ndarray
    volume: float
    area: float


def roi_mesh(mask: BoolArray, *, spacing: Spacing) -> Mesh:
    """Triangle mesh of a binary mask by marching cubes (IBSI WRJH).

    Parameters
    ----------
    mask : (Z, Y, X) ndarray of bool
        Morphological mask; it must hold at least one voxel.
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x).

    Returns
    -------
    Mesh
        The mesh drawn at iso-level 0.5 on the mask cropped to its bounding box and padded
        with one layer of zeros, so that ROI voxels at the array edge are closed off.

    Raises
    ------
    EmptyRoiError
        If the mask holds no voxel.

    Notes
    -----
    Uses :func:`skimage.measure.marching_cubes` (Lewiner et al. 2003), visiting only the
    cubes the surface crosses (:func:`crossed_cubes`); its vertices, in voxel units, are
    scaled by the voxel spacing as skimage's ``spacing`` argument would scale them (the
    same mesh, bit for bit), in one pass with the face terms. The volume is
    :math:`|\\sum_k \\mathbf{a}_k\\cdot(\\mathbf{b}_k\\times\\mathbf{c}_k)/6|` and
    the area :math:`\\sum_k |\\mathbf{ab}_k\\times\\mathbf{ac}_k|/2` over the faces
    :math:`k` with vertices :math:`\\mathbf{a}_k,\\mathbf{b}_k,\\mathbf{c}_k`.

    Examples
    --------
    A single voxel of 1 mm gives an octahedron of volume 1/6 mm³:

    >>> import numpy as np
    >>> round(roi_mesh(np.ones((1, 1, 1), bool), spacing=(1.0, 1.0, 1.0)).volume, 6)
    0.166667
    """
    from skimage.measure import marching_cubes

    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 3:
        raise InputError(f"roi_mesh needs a 3D (Z, Y, X) mask, got ndim={mask.ndim}")
    if not mask.any():
        raise EmptyRoiError("the morphological mask holds no voxel; no mesh can be drawn")
    box = bounding_box(mask)
    lo = tuple(b.start for b in box)
    # the bounding box with one layer of zeros around it (np.pad, without its overhead)
    padded = np.zeros(tuple(b.stop - b.start + 2 for b in box), dtype=bool)
    padded[1:-1, 1:-1, 1:-1] = mask[box]
    sp = np.asarray(spacing, dtype=np.float64)
    # float32: the type skimage marches in (0 and 1 are exact); only the cubes the surface
    # crosses are visited (the others add nothing to the mesh). Unit spacing: the kernel
    # scales the vertices as skimage would (float32 vertices times the spacing), then
    # moves them back to the frame of the uncropped mask (undoing the padding and crop).
    raw_verts, raw_faces, _normals, _values = marching_cubes(
        padded.astype(np.float32), level=0.5, spacing=(1.0, 1.0, 1.0), mask=crossed_cubes(padded)
    )
    verts = np.empty(raw_verts.shape)
    faces = np.empty(raw_faces.shape, dtype=np.int64)
    volume_terms = np.empty(raw_faces.shape[0])
    area_terms = np.empty(raw_faces.shape[0])
    offset = (np.asarray(lo, dtype=np.float64) - 1.0) * sp
    _k.mesh_geometry(raw_verts, raw_faces, sp, offset, verts, faces, volume_terms, area_terms)
    volume = abs(float(volume_terms.sum())) / 6.0
    area = float(area_terms.sum()) / 2.0
    return Mesh(vertices=verts, faces=faces, volume=volume, area=area)


def crossed_cubes(volume: BoolArray) -> BoolArray:
    """The cubes of a binary volume that an iso-surface at 0.5 crosses, as a marching mask.

    Parameters
    ----------
    volume : (Z, Y, X) ndarray of bool
        At least 2 voxels along every axis.

    Returns
    -------
    (Z, Y, X) ndarray of bool
        True at ``[z + 1, y + 1, x + 1]`` when the cube of voxels ``z..z+1, y..y+1,
        x..x+1`` holds both values (row 0 of each axis is False): the ``mask`` of
        :func:`skimage.measure.marching_cubes`, which visits the cube with lower corner
        ``(z, y, x)`` only where the mask is True at its upper corner. Cubes whose eight
        corners are equal hold no part of the surface, so the mesh is the same, vertex for
        vertex and face for face, as without a mask (tested).
    """
    v = np.asarray(volume, dtype=bool)
    # OR and AND over the eight corners, one axis at a time (pairs along x, then y, z)
    some = v[:, :, :-1] | v[:, :, 1:]
    every = v[:, :, :-1] & v[:, :, 1:]
    some = some[:, :-1] | some[:, 1:]
    every = every[:, :-1] & every[:, 1:]
    out = np.zeros(v.shape, dtype=bool)
    np.greater(some[:-1] | some[1:], every[:-1] & every[1:], out=out[1:, 1:, 1:])
    return out


@dataclass(frozen=True, slots=True)
class Hull:
    """Convex hull of the mesh vertex set (IBSI :math:`\\mathbf{X}_{vx,convex}`).

    Attributes
    ----------
    vertices : (N, 3) ndarray of float64
        Hull vertices in mm: the extreme points, in ascending order of the input points.
    normals : (F, 3) ndarray of float64
        Outward unit normals of the hull facets.
    volume, area : float
        Hull volume (mm³) and surface area (mm²).
    facets, neighbours : (F, 3) ndarray of int64, optional
        The triangles (indices into ``vertices``) of the facets of ``normals``, and the
        facet opposite each corner of each triangle.
    """

    vertices: FloatArray
    normals: FloatArray
    volume: float
    area: float
    facets: np.ndarray | None = None
    neighbours: np.ndarray | None = None


def convex_hull(points: FloatArray, *, spacing: Spacing | None = None) -> Hull:
    """Convex hull of a 3D point set: exact on a mask mesh's half-voxel grid, else Qhull.

    Parameters
    ----------
    points : (N, 3) ndarray of float64
        Points in mm, not all coplanar (mesh vertices always span 3D).
    spacing : tuple of 3 float, optional
        Voxel spacing in mm, (z, y, x), of the grid of a mask whose mesh the points come
        from (:func:`roi_mesh`): each coordinate is then a multiple of half the spacing,
        and the hull is computed exactly on those integer multiples
        (:func:`~radiomix.features._kernels.hull.lattice_hull`).

    Returns
    -------
    Hull
        Hull vertices (the extreme points, in ascending input order), outward facet
        normals, volume, area, triangles and their adjacency.

    Notes
    -----
    Mesh vertices are on the half-voxel grid (``2 v / spacing`` integer), and scaling by
    the spacing maps hulls to hulls, so with ``spacing`` the hull is built by an exact
    Quickhull in int64 arithmetic on the half-grid coordinates: its vertices are exactly
    the extreme points (of equal points, the first), and a face holding many lattice
    points needs none of the precision merging that makes Qhull slow on them (ten times
    slower than this hull on the STS masks' candidates).
    The vertices equal Qhull's (checked on the hull candidates of every STS mask, CT, PET
    and MR, at the ibsi-A, B and C grids); the triangles of one face may differ, and the
    volume and area differ by rounding only (the volume is exact in integers up to one
    final product), and every triangle of one face has the same normal. Points off the
    half-grid (by more than 1e-6 of a step) or 2**19 half-steps or more from 0 along an
    axis, flat point sets and calls without ``spacing`` go to Qhull
    (:class:`scipy.spatial.ConvexHull`), whose vertices are in ascending input order too.
    """
    pts = np.ascontiguousarray(points, dtype=np.float64)
    if spacing is not None:
        exact = _kh.lattice_hull(pts, np.asarray(spacing, dtype=np.float64))
        if exact is not None:
            order, facets, neighbours, normals, volume, area = exact
            return Hull(
                vertices=pts[order],
                normals=normals,
                volume=volume,
                area=area,
                facets=facets,
                neighbours=neighbours,
            )
    from scipy.spatial import ConvexHull

    h = ConvexHull(pts)
    order = np.asarray(h.vertices, dtype=np.int64)  # ascending input indices in 3D
    position = np.full(h.points.shape[0], -1, dtype=np.int64)
    position[order] = np.arange(order.size)
    return Hull(
        vertices=h.points[order],
        normals=np.ascontiguousarray(h.equations[:, :3]),
        volume=float(h.volume),
        area=float(h.area),
        facets=np.ascontiguousarray(position[h.simplices]),
        neighbours=np.ascontiguousarray(h.neighbors, dtype=np.int64),
    )


def hull_candidates(vertices: FloatArray, spacing: Spacing) -> BoolArray:
    """Mesh vertices that can be vertices of the mesh's convex hull (a superset).

    Parameters
    ----------
    vertices : (N, 3) ndarray of float64
        Vertices of :func:`roi_mesh` (mm, in the frame of the mask's grid).
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x).

    Returns
    -------
    (N,) ndarray of bool
        True for the vertices kept: the convex hull of the kept vertices is the convex hull
        of all vertices, with the same vertices in the same order.

    Notes
    -----
    Marching cubes at iso-level 0.5 on a binary mask puts every vertex at the midpoint of a
    grid edge: two of its grid coordinates are integers, so it lies in two grid planes. A
    vertex that is not a vertex of the 2D convex hull of mesh vertices in one of its planes
    is a convex combination of other vertices, hence not a vertex of the 3D hull. Each
    vertex still standing is tested in each of its planes in turn (grouped by plane and
    sorted by in-plane coordinates with counting sorts, then a monotone chain per plane,
    all in :func:`~radiomix.features._kernels.morphology.plane_hull_candidates`); testing
    both planes leaves about half the candidates of one, and a few percent of a large
    mesh's vertices go to Qhull, whose time grows with them.
    Vertices off the half-integer grid (not a mask mesh) are all kept.
    """
    v = np.ascontiguousarray(vertices, dtype=np.float64)
    sp = np.asarray(spacing, dtype=np.float64)
    n = v.shape[0]
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep
    # longer than the half-grid extent along every axis (2 ptp / spacing, + rounding);
    # column by column: numpy's max/min over axis 0 of an (N, 3) array is 50 times slower
    extent = max(int(2.0 * float(np.ptp(v[:, a])) / float(sp[a])) for a in range(3)) + 4
    # off the half-grid the kernel returns False and leaves every vertex kept
    _k.plane_hull_candidates(
        v, sp, keep, np.empty((n, 3), dtype=np.int64), np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64), np.empty(extent, dtype=np.int64), np.empty(n),
        np.empty(n), np.arange(n, dtype=np.int64), np.empty(2 * n + 2, dtype=np.int64),
    )  # fmt: skip
    return keep


def pca_eigenvalues(points: FloatArray) -> FloatArray:
    """Eigenvalues of the covariance matrix of a point set, largest first (mm²).

    Notes
    -----
    The covariance is the sample covariance (normalised by :math:`N-1`), which reproduces
    the IBSI digital-phantom axis lengths (major 11.4 mm; with :math:`N` it would be 11.3).
    A single point gives zeros; eigenvalues below :math:`10^{-12}\\lambda_{major}`
    (round-off for collinear or coplanar voxel sets) are set to zero.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape[0] < 2:
        return np.zeros(3)
    ev = np.sort(np.linalg.eigvalsh(np.cov(pts.T, ddof=1)))[::-1]
    # Eigenvalues at round-off level (collinear or coplanar voxels) are zero.
    ev[ev <= 1e-12 * ev[0]] = 0.0
    return ev


def ellipsoid_surface_area(
    a: float, b: float, c: float, *, terms: int = ELLIPSOID_AREA_TERMS
) -> float:
    """Surface area of an ellipsoid with semi-axes ``a >= b >= c`` (IBSI RDD2 series).

    Notes
    -----
    .. math::
        A(a,b,c) = 4\\pi a b \\sum_{\\nu=0}^{20} \\frac{(\\alpha\\beta)^\\nu}{1-4\\nu^2}
        P_\\nu\\!\\left(\\frac{\\alpha^2+\\beta^2}{2\\alpha\\beta}\\right),\\quad
        \\alpha=\\sqrt{1-b^2/a^2},\\ \\beta=\\sqrt{1-c^2/a^2}

    Each term :math:`(\\alpha\\beta)^\\nu P_\\nu(\\cdot)` is evaluated as the polynomial
    :math:`\\sum_k c_{\\nu k}(\\alpha\\beta)^{2k} s^{\\nu-2k}` with
    :math:`s=(\\alpha^2+\\beta^2)/2` and the Legendre coefficients :math:`c_{\\nu k}`,
    which stays finite when :math:`\\alpha\\beta=0` (spheroids, spheres). The axes are
    sorted first, so any order may be passed.

    This is the series as IBSI defines it (with :math:`\\alpha` from :math:`b/a`), and the
    IBSI reference values of RDD2 follow it. It is exact for spheres but not the exact
    surface area of a general ellipsoid: the convergent series for the true area uses
    :math:`\\alpha=\\sqrt{1-c^2/a^2}`, :math:`\\beta=\\sqrt{1-c^2/b^2}` (for the IBSI
    digital phantom that variant gives an area density of 1.30 instead of the reference
    1.36).
    """
    a, b, c = sorted((float(a), float(b), float(c)), reverse=True)
    if a <= 0.0:
        return 0.0
    alpha = math.sqrt(max(0.0, 1.0 - (b / a) ** 2))
    beta = math.sqrt(max(0.0, 1.0 - (c / a) ** 2))
    ab = alpha * beta
    s = (alpha * alpha + beta * beta) / 2.0
    total = 0.0
    for nu in range(terms + 1):
        term = 0.0
        for k, coef in enumerate(_legendre_coefficients(nu)):
            term += coef * ab ** (2 * k) * s ** (nu - 2 * k)
        total += term / (1.0 - 4.0 * nu * nu)
    return 4.0 * math.pi * a * b * total


@functools.cache
def _legendre_coefficients(nu: int) -> tuple[float, ...]:
    """Coefficients :math:`c_{\\nu k}` of :math:`x^{\\nu-2k}` in :math:`P_\\nu(x)`.

    Computed once per degree (the two ellipsoid areas of each case ask for 42 tuples).
    """
    return tuple(
        (-1) ** k
        * math.factorial(2 * nu - 2 * k)
        / (2**nu * math.factorial(k) * math.factorial(nu - k) * math.factorial(nu - 2 * k))
        for k in range(nu // 2 + 1)
    )


def oriented_bounding_box(
    points: FloatArray,
    normals: FloatArray,
    facets: np.ndarray | None = None,
    neighbours: np.ndarray | None = None,
) -> FloatArray:
    """Edge lengths (mm) of an approximate oriented minimum bounding box (IBSI ZH1A).

    Parameters
    ----------
    points : (N, 3) ndarray of float64
        Convex hull vertices.
    normals : (F, 3) ndarray of float64
        Unit facet normals of the hull.
    facets, neighbours : (F, 3) ndarray of int64, optional
        The hull's triangles (indices into ``points``) and facet adjacency
        (:class:`Hull`): with them, only each direction's silhouette points are projected
        for its 2D hull (the same boxes, less work).

    Returns
    -------
    (3,) ndarray of float64
        Edge lengths of the smallest box found, sorted in decreasing order.

    Notes
    -----
    The exact OMBB (O'Rourke 1985) is cubic in the hull size. We search the boxes that
    have one face flush with a hull facet (and the axis-aligned box): for each distinct
    facet normal the points are projected onto the facet plane and the minimum-area
    enclosing rectangle of the projection is found among the rectangles with a side
    collinear with an edge of the projected 2D convex hull (Freeman & Shapira 1975). Boxes
    of equal volume (to 1e-9) are told apart by the smaller surface area, so the result does
    not depend on the order of the facets. The result is an upper bound on the OMBB volume;
    it equals the OMBB when the OMBB has a face flush with a hull facet.
    """
    pts = np.ascontiguousarray(points, dtype=np.float64)
    pts = pts - pts.mean(axis=0)
    cands = _unique_directions(np.vstack([np.eye(3), np.asarray(normals, dtype=np.float64)]))
    us, vs = _plane_bases(cands)
    if facets is None or neighbours is None:
        facets = neighbours = np.zeros((0, 3), dtype=np.int64)
        facet_normals = np.zeros((0, 3))
    else:
        facet_normals = np.asarray(normals, dtype=np.float64)
    best = _k.min_box_flush_with_planes(
        pts,
        cands,
        us,
        vs,
        np.ascontiguousarray(facets, dtype=np.int64),
        np.ascontiguousarray(neighbours, dtype=np.int64),
        np.ascontiguousarray(facet_normals),
    )
    if not math.isfinite(best[0]):
        return np.sort(np.ptp(pts, axis=0))[::-1]
    return np.sort(best[1:])[::-1]


def _unique_directions(dirs: FloatArray) -> FloatArray:
    """Unit directions with n and -n identified, duplicates (to 1e-9) removed."""
    d = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    # Canonical sign: first component with |x| > 1e-12 positive.
    first = np.argmax(np.abs(d) > 1e-12, axis=1)
    sign = np.sign(d[np.arange(len(d)), first])
    d = d * sign[:, None]
    # the first of each group of equal rounded rows (np.unique(axis=0, return_index=True)
    # without its structured-dtype sort): a stable sort brings each group together, its
    # first index leading
    r = np.round(d, 9)
    order = np.lexsort((r[:, 2], r[:, 1], r[:, 0]))
    rows = r[order]
    new = np.ones(order.size, dtype=bool)
    new[1:] = np.any(rows[1:] != rows[:-1], axis=1)
    return d[np.sort(order[new])]


def _plane_bases(normals: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Orthonormal in-plane bases (u, v) for each unit normal (rows)."""
    helper = np.where(
        (np.abs(normals[:, 0]) < 0.9)[:, None], np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    )
    u = np.cross(normals, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(normals, u)
    return np.ascontiguousarray(u), np.ascontiguousarray(v)


def minimum_volume_enclosing_ellipsoid(
    points: FloatArray, *, tol: float = MVEE_TOLERANCE
) -> FloatArray:
    """Semi-axis lengths (mm, largest first) of the MVEE by Khachiyan's algorithm (IBSI SWZ1).

    Notes
    -----
    Barycentric coordinate ascent (Khachiyan 1996; Todd & Yildirim 2007): weights
    :math:`u` on the points are updated towards the point of largest Mahalanobis distance
    until the weight change :math:`\\|u_{new}-u\\|_2 < \\tau` (IBSI default
    :math:`\\tau=0.001`). The ellipsoid is :math:`(x-c)^T E (x-c)\\le 1` with
    :math:`c=Pu` and :math:`E = (P\\,\\mathrm{diag}(u)P^T - cc^T)^{-1}/d`; its semi-axes
    are :math:`1/\\sqrt{\\mathrm{eig}(E)}`. Points spanning fewer than 3 dimensions give
    zero axes.
    """
    pts = np.asarray(points, dtype=np.float64)
    pts = pts - pts.mean(axis=0)
    n, d = pts.shape
    if n <= d or np.linalg.matrix_rank(pts) < d:
        return np.zeros(d)
    u, iterations = _k.khachiyan_weights(np.ascontiguousarray(pts), tol, MVEE_MAX_ITERATIONS)
    if iterations >= MVEE_MAX_ITERATIONS:
        log.debug("MVEE: Khachiyan iterations stopped at %d before tolerance", iterations)
    c = pts.T @ u
    shape = np.linalg.inv((pts.T * u) @ pts - np.outer(c, c)) / d
    ev = np.linalg.eigvalsh(shape)
    return np.sort(1.0 / np.sqrt(ev))[::-1]


def spatial_autocorrelation(
    image: FloatArray,
    mask: BoolArray,
    *,
    spacing: Spacing,
    max_voxels: int | None = None,
    sample_voxels: int | None = None,
    seed: int = 0,
) -> tuple[float, float, str | None]:
    """Moran's I and Geary's C of the intensities in ``mask`` (IBSI N365, NPT7).

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Intensities.
    mask : (Z, Y, X) ndarray of bool
        Intensity mask.
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x); weights are inverse Euclidean distances in mm.
    max_voxels : int, optional
        Opt-in approximation: above this many mask voxels the statistics are those of a
        random subsample of ``sample_voxels`` voxels. ``None`` (the default): exact for
        every ROI size.
    sample_voxels : int, optional
        Size of that subsample (default ``max_voxels``); its cost is O(sample²).
    seed : int
        Seed of the subsample.

    Returns
    -------
    moran, geary : float
        NaN when fewer than two voxels or all intensities are equal (zero variance).
    note : str or None
        Description of the approximation used, ``None`` when exact.

    Notes
    -----
    The exact sums over ordered voxel pairs :math:`k_1\\neq k_2` are evaluated without the
    :math:`O(N^2)` pair loop: with :math:`y=X-\\mu` (zero outside the mask), :math:`m` the
    mask indicator and :math:`w(\\mathbf{d}) = 1/\\|\\mathbf{d}\\|_2` (:math:`w(0)=0`) on
    the grid of offsets,

    .. math::
        \\sum w = \\langle m, w * m\\rangle,\\quad
        \\sum w\\,y_1 y_2 = \\langle y, w * y\\rangle,\\quad
        \\sum w\\,(y_1-y_2)^2 = 2\\langle y^2, w * m\\rangle - 2\\langle y, w * y\\rangle

    where :math:`*` is a linear convolution over the mask's bounding box, computed with
    FFTs in blocks (cost :math:`O(G\\log G)` time and :math:`O(G)` memory for a bounding
    box of :math:`G` voxels; about 0.12 s CPU for a 290 000-voxel ROI in a 1.2 M-voxel box). The
    result equals the direct :math:`O(N^2)` pair sums to about 1e-12 relative. The opt-in
    approximation draws ``sample_voxels`` voxels without replacement and evaluates the
    pair sums directly (numba).
    """
    mask = np.asarray(mask, dtype=bool)
    n = int(np.count_nonzero(mask))
    if n < 2:
        return math.nan, math.nan, None
    if max_voxels is not None and n > max_voxels:
        size = min(n, sample_voxels or max_voxels)
        coords = np.argwhere(mask).astype(np.float64)
        values = image[mask]
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(n, size=size, replace=False))
        coords = coords[pick] * np.asarray(spacing, dtype=np.float64)
        y = values[pick] - values[pick].mean()
        x0, x1, x2 = (np.ascontiguousarray(coords[:, a]) for a in range(3))
        sum_w, sum_yy, sum_dd = _k.inverse_distance_pair_sums(x0, x1, x2, y)
        m = size
        note = (
            f"approximated: random subsample of {size} of {n} voxels "
            f"(seed {seed}); exact up to features.moran_max_voxels={max_voxels}"
        )
    else:
        sum_w, sum_yy, sum_dd = _fft_pair_sums(image, mask, spacing)
        m = n
        values = image[mask]
        y = values - values.mean()
        note = None
    ss = float(np.dot(y, y))
    if ss <= 0.0 or sum_w <= 0.0:
        return math.nan, math.nan, note
    moran = m / sum_w * sum_yy / ss
    geary = (m - 1) / (2.0 * sum_w) * sum_dd / ss
    return float(moran), float(geary), note


def _fft_pair_sums(
    image: FloatArray,
    mask: BoolArray,
    spacing: Spacing,
    *,
    block_bytes: int = PAIR_SUM_BLOCK_BYTES,
) -> tuple[float, float, float]:
    """Exact inverse-distance pair sums over the mask by FFT (see the caller).

    The three inner products are evaluated in the frequency domain (Parseval):
    :math:`\\langle a, w * b\\rangle = L^{-1}\\sum_k W(k)\\,\\mathrm{Re}(\\hat a(k)
    \\overline{\\hat b(k)})` on a zero-padded grid of :math:`L` voxels, at least
    :math:`2s-1` along each axis of the bounding box size :math:`s` (no wrap-around) and
    even. The kernel :math:`w` is even along every axis, so its spectrum :math:`W` is real
    and is one octant's type-I DCT.

    Blocked evaluation: the three fields (the mask, :math:`y` and :math:`y^2`) are stored
    interleaved and zero-padded along the first axis, (L0, 3, s1, s2), so that their
    real-to-complex transform along that axis is the half spectrum with the first-axis
    frequency leading, each block of frequencies one contiguous slab, with no transposing
    copy (one transform when the padded fields take at most ``8 * block_bytes``;
    otherwise one per chunk of rows of at most ``2 * block_bytes``, its spectrum copied
    into place, so that the transient memory stays small). The padded transforms along
    the two other axes, and the spectral sums, then run over blocks of first-axis
    frequencies of at most ``block_bytes`` each, small enough to stay in cache (the kernel
    octant read in its natural layout). Memory is :math:`O(G)` for a box of :math:`G`
    voxels (about 60 bytes a voxel), not the :math:`8G` complex values of the whole
    padded spectrum. The float64 sums of each block are accumulated row by row (one
    contiguous row of the spectra at a time, in a fixed order for a given box and block
    size); the result equals the direct pair sum to about 1e-12 relative (tested against
    brute force).
    """
    from scipy import fft

    sl = bounding_box(mask)
    msk = mask[sl]
    img = image[sl]
    s0, s1, s2 = shape = msk.shape
    size = tuple(_even_fast_len(2 * s - 1) for s in shape)
    n0, n1, n2 = size
    w = _kernel_spectrum(shape, size, spacing)  # (L0/2+1, L1/2+1, L2/2+1)
    mean = img[msk].mean()
    n_half = n0 // 2 + 1
    # the fields of rows j0:j1 of the box; the padding (slices s0..L0-1) is never written
    # (the real transform leaves its input as it is), so a reused chunk is only refilled
    row_bytes = n0 * 3 * s2 * 8
    rows = s1 if s1 * row_bytes <= 8 * block_bytes else max(1, 2 * block_bytes // row_bytes)
    stack = np.zeros((n0, 3, rows, s2), dtype=np.float64)
    half = None if rows == s1 else np.empty((n_half, 3, s1, s2), dtype=np.complex128)
    for j0 in range(0, s1, rows):
        j1 = min(s1, j0 + rows)
        part = stack[:, :, : j1 - j0]
        box = part[:s0]
        m = msk[:, j0:j1]
        if j0:
            box[:, 1] = 0.0  # written below at mask voxels only
        np.copyto(box[:, 0], m)
        np.subtract(img[:, j0:j1], mean, out=box[:, 1], where=m)
        np.multiply(box[:, 1], box[:, 1], out=box[:, 2])
        spectrum = fft.rfft(part, axis=0)
        if half is not None:
            half[:, :, j0:j1] = spectrum
    if half is None:  # a single chunk: its spectrum is the half spectrum
        half = spectrum
    del stack, spectrum
    per_bin = 3 * n1 * n2 * 16  # bytes of one first-axis bin after padding
    step = max(1, min(n_half, block_bytes // per_bin))
    s_mm = s_yy = s_ym = 0.0
    # a C-contiguous buffer (its leading slices too): one compiled signature of the sums
    buffer = np.empty((step, 3, n1, n2), dtype=np.complex128)
    for k0 in range(0, n_half, step):
        stop = min(n_half, k0 + step)
        block = buffer[: stop - k0]
        # zero padding written in place; both transforms overwrite the block
        block[:, :, s1:] = 0.0
        block[:, :, :s1, s2:] = 0.0
        block[:, :, :s1, :s2] = half[k0:stop]
        fft.fft(block[:, :, :s1], axis=3, overwrite_x=True)
        fft.fft(block, axis=2, overwrite_x=True)
        a, b, c = _k.spectral_pair_sums_block(w[k0:stop], block, k0, n_half - 1)
        s_mm += a
        s_yy += b
        s_ym += c
    total = float(n0 * n1 * n2)
    sum_w = s_mm / total
    sum_yy = s_yy / total
    sum_dd = 2.0 * (s_ym / total) - 2.0 * sum_yy
    return sum_w, sum_yy, sum_dd


def _kernel_spectrum(shape: tuple[int, ...], size: tuple[int, ...], spacing: Spacing) -> FloatArray:
    """One octant of the real spectrum of :math:`w(\\mathbf d) = 1/\\|\\mathbf d\\|_2`.

    The kernel on the even padded grid ``size`` is zero at the origin (no self pairs)
    and for offsets of ``shape`` or more along an axis (they cannot occur inside the
    box); its spectrum is the type-I DCT of the octant of offsets ``0 .. L/2``.
    """
    from scipy import fft

    axes = []
    for s, n, sp in zip(shape, size, spacing, strict=True):
        off = np.arange(n // 2 + 1, dtype=np.float64) * float(sp)
        d2 = off * off
        d2[s:] = np.inf
        axes.append(d2)
    d2 = axes[0][:, None, None] + axes[1][None, :, None] + axes[2][None, None, :]
    d2[0, 0, 0] = np.inf
    np.sqrt(d2, out=d2)
    np.divide(1.0, d2, out=d2)
    return fft.dctn(d2, type=1, overwrite_x=True)


def _even_fast_len(n: int) -> int:
    """Smallest even FFT-friendly (5-smooth) length of at least ``n``."""
    from scipy import fft

    length = fft.next_fast_len(n, real=True)
    while length % 2:
        length = fft.next_fast_len(length + 1, real=True)
    return int(length)


# --------------------------------------------------------------------------------------
# Cached accessors on the ROI context
# --------------------------------------------------------------------------------------


def _mesh(ctx: RoiContext) -> Mesh:
    return ctx.cached(("morph", "mesh"), lambda: roi_mesh(ctx.morph_mask, spacing=ctx.spacing))


def _hull(ctx: RoiContext) -> Hull:
    def build() -> Hull:
        vertices = _mesh(ctx).vertices
        candidates = vertices[hull_candidates(vertices, ctx.spacing)]
        return convex_hull(candidates, spacing=ctx.spacing)

    return ctx.cached(("morph", "hull"), build)


def _morph_points(ctx: RoiContext) -> FloatArray:
    def build() -> FloatArray:
        # (N, 3) F-ordered, as np.argwhere(mask) * spacing (np.cov reads it transposed)
        out = np.empty((3, np.count_nonzero(ctx.morph_mask)))
        mask = np.ascontiguousarray(ctx.morph_mask)
        _k.voxel_centres(mask, np.asarray(ctx.spacing, dtype=np.float64), out)
        return out.T

    return ctx.cached(("morph", "points"), build)


def _eigen(ctx: RoiContext) -> FloatArray:
    return ctx.cached(("morph", "pca"), lambda: pca_eigenvalues(_morph_points(ctx)))


def _aee_axes(ctx: RoiContext) -> FloatArray:
    """Semi-axes a >= b >= c of the approximate enclosing ellipsoid: 2 sqrt(lambda)."""
    return 2.0 * np.sqrt(_eigen(ctx))


def _ombb(ctx: RoiContext) -> FloatArray:
    def build() -> FloatArray:
        h = _hull(ctx)
        return oriented_bounding_box(h.vertices, h.normals, h.facets, h.neighbours)

    return ctx.cached(("morph", "ombb"), build)


def _mvee_axes(ctx: RoiContext) -> FloatArray:
    return ctx.cached(
        ("morph", "mvee"), lambda: minimum_volume_enclosing_ellipsoid(_hull(ctx).vertices)
    )


def _intensities(ctx: RoiContext) -> FloatArray:
    x = ctx.intensities
    if x.size == 0:
        raise EmptyRoiError(
            "the intensity mask holds no voxel (after re-segmentation); intensity-based "
            "morphological features are undefined"
        )
    return x


def _autocorrelation(ctx: RoiContext) -> tuple[float, float]:
    def build() -> tuple[float, float]:
        _intensities(ctx)
        moran, geary, note = spatial_autocorrelation(
            ctx.image,
            ctx.int_mask,
            spacing=ctx.spacing,
            max_voxels=ctx.settings.moran_max_voxels,
            sample_voxels=ctx.settings.moran_sample_voxels,
            seed=ctx.settings.seed,
        )
        if note is not None:
            ctx.notes["morph.moran_i"] = note
            ctx.notes["morph.geary_c"] = note
            log.info("Moran's I / Geary's C %s", note)
        return moran, geary

    return ctx.cached(("morph", "autocorrelation"), build)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


# --------------------------------------------------------------------------------------
# The family compute function and the features
# --------------------------------------------------------------------------------------


@family("morph")
def compute(
    ctx: RoiContext, aggregation: Aggregation | None, specs: Sequence[FeatureSpec]
) -> dict[str, float]:
    """Evaluate morphological features on the ROI context (3D by definition, DHQ4)."""
    if not ctx.morph_mask.any():
        raise EmptyRoiError("the morphological mask holds no voxel; morphology is undefined")
    return evaluate_each(ctx, specs, ctx)


@feature(name="morph.volume_mesh", ibsi="RNU0", requires=("mesh",))
def volume_mesh(ctx: RoiContext) -> float:
    """Volume of the ROI mesh (IBSI RNU0), mm³.

    Notes
    -----
    .. math:: F_{morph.vol} = V = \\left|\\sum_{k=1}^{N_{fc}}
        \\frac{\\mathbf{a}_k\\cdot(\\mathbf{b}_k\\times\\mathbf{c}_k)}{6}\\right|

    over the faces of the marching-cubes mesh (see :func:`roi_mesh`).

    References
    ----------
    IBSI 1 manual, §3.1.1 "Volume (mesh)"; Zwanenburg et al., Radiology 2020,
    doi:10.1148/radiol.2020191145.
    """
    return _mesh(ctx).volume


@feature(name="morph.volume_voxels", ibsi="YEKZ")
def volume_voxels(ctx: RoiContext) -> float:
    """Volume by voxel counting (IBSI YEKZ), mm³.

    Notes
    -----
    .. math:: V_{voxel} = \\sum_{k=1}^{N_v} V_k

    the number of voxels of the morphological mask times the voxel volume.

    References
    ----------
    IBSI 1 manual, §3.1.2 "Volume (voxel counting)".
    """
    return float(ctx.morph_mask.sum()) * ctx.voxel_volume


@feature(name="morph.surface_area_mesh", ibsi="C0JK", requires=("mesh",))
def surface_area_mesh(ctx: RoiContext) -> float:
    """Surface area of the ROI mesh (IBSI C0JK), mm².

    Notes
    -----
    .. math:: F_{morph.area} = A = \\sum_{k=1}^{N_{fc}}
        \\frac{|\\mathbf{ab}_k\\times\\mathbf{ac}_k|}{2}

    References
    ----------
    IBSI 1 manual, §3.1.3 "Surface area (mesh)".
    """
    return _mesh(ctx).area


@feature(name="morph.surface_to_volume_ratio", ibsi="2PR5", requires=("mesh",))
def surface_to_volume_ratio(ctx: RoiContext) -> float:
    """Surface to volume ratio (IBSI 2PR5), mm⁻¹.

    Notes
    -----
    .. math:: F_{morph.av} = \\frac{A}{V}

    with mesh area :math:`A` and mesh volume :math:`V`.

    References
    ----------
    IBSI 1 manual, §3.1.4 "Surface to volume ratio".
    """
    m = _mesh(ctx)
    return _ratio(m.area, m.volume)


@feature(name="morph.compactness_1", ibsi="SKGS", requires=("mesh",))
def compactness_1(ctx: RoiContext) -> float:
    """Compactness 1 (IBSI SKGS).

    Notes
    -----
    .. math:: F_{morph.comp.1} = \\frac{V}{\\pi^{1/2} A^{3/2}}

    References
    ----------
    IBSI 1 manual, §3.1.5 "Compactness 1".
    """
    m = _mesh(ctx)
    return _ratio(m.volume, math.sqrt(math.pi) * m.area**1.5)


@feature(name="morph.compactness_2", ibsi="BQWJ", requires=("mesh",))
def compactness_2(ctx: RoiContext) -> float:
    """Compactness 2 (IBSI BQWJ).

    Notes
    -----
    .. math:: F_{morph.comp.2} = 36\\pi\\frac{V^2}{A^3}

    References
    ----------
    IBSI 1 manual, §3.1.6 "Compactness 2".
    """
    m = _mesh(ctx)
    return _ratio(36.0 * math.pi * m.volume**2, m.area**3)


@feature(name="morph.spherical_disproportion", ibsi="KRCK", requires=("mesh",))
def spherical_disproportion(ctx: RoiContext) -> float:
    """Spherical disproportion (IBSI KRCK).

    Notes
    -----
    .. math:: F_{morph.sph.dispr} = \\frac{A}{(36\\pi V^2)^{1/3}}

    References
    ----------
    IBSI 1 manual, §3.1.7 "Spherical disproportion".
    """
    m = _mesh(ctx)
    return _ratio(m.area, (36.0 * math.pi * m.volume**2) ** (1.0 / 3.0))


@feature(name="morph.sphericity", ibsi="QCFX", requires=("mesh",))
def sphericity(ctx: RoiContext) -> float:
    """Sphericity (IBSI QCFX).

    Notes
    -----
    .. math:: F_{morph.sphericity} = \\frac{(36\\pi V^2)^{1/3}}{A}

    equal to :math:`\\pi^{1/3}(6V)^{2/3}/A`, the lung study's definition.

    References
    ----------
    IBSI 1 manual, §3.1.8 "Sphericity".
    """
    m = _mesh(ctx)
    return _ratio((36.0 * math.pi * m.volume**2) ** (1.0 / 3.0), m.area)


@feature(name="morph.asphericity", ibsi="25C7", requires=("mesh",))
def asphericity(ctx: RoiContext) -> float:
    """Asphericity (IBSI 25C7).

    Notes
    -----
    .. math:: F_{morph.asphericity} = \\left(\\frac{1}{36\\pi}\\frac{A^3}{V^2}\\right)^{1/3}-1

    References
    ----------
    IBSI 1 manual, §3.1.9 "Asphericity".
    """
    m = _mesh(ctx)
    return _ratio(m.area**3, 36.0 * math.pi * m.volume**2) ** (1.0 / 3.0) - 1.0


@feature(name="morph.compactness_av23", ibsi=None, requires=("mesh",))
def compactness_av23(ctx: RoiContext) -> float:
    """Compactness A/V^(2/3) of the lung reference study (no IBSI code).

    Notes
    -----
    .. math:: F = \\frac{A}{V^{2/3}}

    with mesh area and volume. Not an IBSI feature: IBSI's compactness 1 (SKGS) is
    :math:`V/(\\pi^{1/2}A^{3/2})`. This ratio is dimensionless and equals
    :math:`(36\\pi)^{1/3}` ≈ 4.836 for a sphere, growing for less compact shapes.

    References
    ----------
    DESIGN brief, lung CT reference study (shape features).
    """
    m = _mesh(ctx)
    return _ratio(m.area, m.volume ** (2.0 / 3.0))


@feature(name="morph.centre_of_mass_shift", ibsi="KLMA")
def centre_of_mass_shift(ctx: RoiContext) -> float:
    """Centre of mass shift (IBSI KLMA), mm.

    Notes
    -----
    .. math::
        F_{morph.com} = \\left\\|\\frac{1}{N_{v,m}}\\sum_k \\vec X_{c,k} -
        \\frac{\\sum_k X_{gl,k}\\vec X_{c,gl,k}}{\\sum_k X_{gl,k}}\\right\\|_2

    the distance between the geometric centre of the morphological mask and the
    intensity-weighted centre of the intensity mask (voxel centres in mm). NaN when the
    intensities sum to zero.

    References
    ----------
    IBSI 1 manual, §3.1.10 "Centre of mass shift".
    """
    x = _intensities(ctx)
    geom = _morph_points(ctx).mean(axis=0)
    total = float(x.sum())
    if total == 0.0:
        return math.nan
    sums = np.zeros(3)
    _k.weighted_coordinate_sums(
        np.ascontiguousarray(ctx.int_mask),
        np.ascontiguousarray(x),
        np.asarray(ctx.spacing, dtype=np.float64),
        sums,
    )
    weighted = sums / total
    return float(np.linalg.norm(geom - weighted))


@feature(name="morph.maximum_3d_diameter", ibsi="L0JK", requires=("mesh", "hull"))
def maximum_3d_diameter(ctx: RoiContext) -> float:
    """Maximum 3D diameter (IBSI L0JK), mm.

    Notes
    -----
    .. math:: F_{morph.diam} = \\max_{k_1,k_2}\\|\\vec X_{vx,k_1}-\\vec X_{vx,k_2}\\|_2

    evaluated on the convex hull vertices, which contain the two most distant mesh
    vertices.

    References
    ----------
    IBSI 1 manual, §3.1.11 "Maximum 3D diameter".
    """
    return ctx.cached(("morph", "diameter"), lambda: _k.max_pairwise_distance(_hull(ctx).vertices))


@feature(name="morph.major_axis_length", ibsi="TDIC", requires=("pca",))
def major_axis_length(ctx: RoiContext) -> float:
    """Major axis length (IBSI TDIC), mm.

    Notes
    -----
    .. math:: F_{morph.pca.major} = 4\\sqrt{\\lambda_{major}}

    with :math:`\\lambda_{major}` the largest eigenvalue of the covariance matrix of the
    morphological voxel centres (:func:`pca_eigenvalues`).

    References
    ----------
    IBSI 1 manual, §3.1.12 "Major axis length".
    """
    return float(4.0 * math.sqrt(_eigen(ctx)[0]))


@feature(name="morph.minor_axis_length", ibsi="P9VJ", requires=("pca",))
def minor_axis_length(ctx: RoiContext) -> float:
    """Minor axis length (IBSI P9VJ), mm.

    Notes
    -----
    .. math:: F_{morph.pca.minor} = 4\\sqrt{\\lambda_{minor}}

    References
    ----------
    IBSI 1 manual, §3.1.13 "Minor axis length".
    """
    return float(4.0 * math.sqrt(_eigen(ctx)[1]))


@feature(name="morph.least_axis_length", ibsi="7J51", requires=("pca",))
def least_axis_length(ctx: RoiContext) -> float:
    """Least axis length (IBSI 7J51), mm.

    Notes
    -----
    .. math:: F_{morph.pca.least} = 4\\sqrt{\\lambda_{least}}

    References
    ----------
    IBSI 1 manual, §3.1.14 "Least axis length".
    """
    return float(4.0 * math.sqrt(_eigen(ctx)[2]))


@feature(name="morph.elongation", ibsi="Q3CK", requires=("pca",))
def elongation(ctx: RoiContext) -> float:
    """Elongation (IBSI Q3CK).

    Notes
    -----
    .. math:: F_{morph.pca.elongation} = \\sqrt{\\lambda_{minor}/\\lambda_{major}}

    NaN for a single voxel (all eigenvalues zero).

    References
    ----------
    IBSI 1 manual, §3.1.15 "Elongation".
    """
    ev = _eigen(ctx)
    return math.sqrt(_ratio(ev[1], ev[0]))


@feature(name="morph.flatness", ibsi="N17B", requires=("pca",))
def flatness(ctx: RoiContext) -> float:
    """Flatness (IBSI N17B).

    Notes
    -----
    .. math:: F_{morph.pca.flatness} = \\sqrt{\\lambda_{least}/\\lambda_{major}}

    NaN for a single voxel (all eigenvalues zero).

    References
    ----------
    IBSI 1 manual, §3.1.16 "Flatness".
    """
    ev = _eigen(ctx)
    return math.sqrt(_ratio(ev[2], ev[0]))


def _aabb_extent(ctx: RoiContext) -> FloatArray:
    return ctx.cached(("morph", "aabb"), lambda: np.ptp(_hull(ctx).vertices, axis=0))


def _box_area(e: FloatArray) -> float:
    return float(2.0 * (e[0] * e[1] + e[1] * e[2] + e[0] * e[2]))


@feature(name="morph.volume_density_aabb", ibsi="PBX1", requires=("mesh", "hull"))
def volume_density_aabb(ctx: RoiContext) -> float:
    """Volume density of the axis-aligned bounding box (IBSI PBX1).

    Notes
    -----
    .. math:: F_{morph.v.dens.aabb} = \\frac{V}{V_{aabb}}

    with the smallest axis-aligned box enclosing the mesh vertices.

    References
    ----------
    IBSI 1 manual, §3.1.17 "Volume density (axis-aligned bounding box)".
    """
    return _ratio(_mesh(ctx).volume, float(np.prod(_aabb_extent(ctx))))


@feature(name="morph.area_density_aabb", ibsi="R59B", requires=("mesh", "hull"))
def area_density_aabb(ctx: RoiContext) -> float:
    """Area density of the axis-aligned bounding box (IBSI R59B).

    Notes
    -----
    .. math:: F_{morph.a.dens.aabb} = \\frac{A}{A_{aabb}}

    References
    ----------
    IBSI 1 manual, §3.1.18 "Area density (axis-aligned bounding box)".
    """
    return _ratio(_mesh(ctx).area, _box_area(_aabb_extent(ctx)))


@feature(name="morph.volume_density_ombb", ibsi="ZH1A", requires=("mesh", "hull", "ombb"))
def volume_density_ombb(ctx: RoiContext) -> float:
    """Volume density of the oriented minimum bounding box (IBSI ZH1A).

    Notes
    -----
    .. math:: F_{morph.v.dens.ombb} = \\frac{V}{V_{ombb}}

    The OMBB is approximated as described in :func:`oriented_bounding_box` (boxes with a
    face flush with a convex hull facet); the approximate box is never larger than the
    axis-aligned box. IBSI gives no reference value for the CT phantom.

    References
    ----------
    IBSI 1 manual, §3.1.19 "Volume density (oriented minimum bounding box)";
    O'Rourke, Int J Comput Inf Sci 1985;14:183–199.
    """
    return _ratio(_mesh(ctx).volume, float(np.prod(_ombb(ctx))))


@feature(name="morph.area_density_ombb", ibsi="IQYR", requires=("mesh", "hull", "ombb"))
def area_density_ombb(ctx: RoiContext) -> float:
    """Area density of the oriented minimum bounding box (IBSI IQYR).

    Notes
    -----
    .. math:: F_{morph.a.dens.ombb} = \\frac{A}{A_{ombb}}

    with the surface area of the box of :func:`volume_density_ombb`.

    References
    ----------
    IBSI 1 manual, §3.1.20 "Area density (oriented minimum bounding box)".
    """
    return _ratio(_mesh(ctx).area, _box_area(_ombb(ctx)))


@feature(name="morph.volume_density_aee", ibsi="6BDE", requires=("mesh", "pca"))
def volume_density_aee(ctx: RoiContext) -> float:
    """Volume density of the approximate enclosing ellipsoid (IBSI 6BDE).

    Notes
    -----
    .. math:: F_{morph.v.dens.aee} = \\frac{3V}{4\\pi abc}

    with semi-axes :math:`a=2\\sqrt{\\lambda_{major}}`, :math:`b=2\\sqrt{\\lambda_{minor}}`,
    :math:`c=2\\sqrt{\\lambda_{least}}` from PCA of the voxel centres.

    References
    ----------
    IBSI 1 manual, §3.1.21 "Volume density (approximate enclosing ellipsoid)".
    """
    a, b, c = _aee_axes(ctx)
    return _ratio(3.0 * _mesh(ctx).volume, 4.0 * math.pi * a * b * c)


@feature(name="morph.area_density_aee", ibsi="RDD2", requires=("mesh", "pca"))
def area_density_aee(ctx: RoiContext) -> float:
    """Area density of the approximate enclosing ellipsoid (IBSI RDD2).

    Notes
    -----
    .. math:: F_{morph.a.dens.aee} = \\frac{A}{A_{aee}(a,b,c)}

    with the ellipsoid area of :func:`ellipsoid_surface_area` (Legendre series to
    :math:`\\nu=20`).

    References
    ----------
    IBSI 1 manual, §3.1.22 "Area density (approximate enclosing ellipsoid)".
    """
    a, b, c = _aee_axes(ctx)
    return _ratio(_mesh(ctx).area, ellipsoid_surface_area(a, b, c))


@feature(name="morph.volume_density_mvee", ibsi="SWZ1", requires=("mesh", "hull", "mvee"))
def volume_density_mvee(ctx: RoiContext) -> float:
    """Volume density of the minimum volume enclosing ellipsoid (IBSI SWZ1).

    Notes
    -----
    .. math:: F_{morph.v.dens.mvee} = \\frac{3V}{4\\pi abc}

    with the MVEE semi-axes of the convex hull vertices by Khachiyan's algorithm, tolerance
    0.001 (:func:`minimum_volume_enclosing_ellipsoid`). IBSI gives no reference value.

    References
    ----------
    IBSI 1 manual, §3.1.23 "Volume density (minimum volume enclosing ellipsoid)";
    Khachiyan, Math Oper Res 1996;21:307–320.
    """
    a, b, c = _mvee_axes(ctx)
    return _ratio(3.0 * _mesh(ctx).volume, 4.0 * math.pi * a * b * c)


@feature(name="morph.area_density_mvee", ibsi="BRI8", requires=("mesh", "hull", "mvee"))
def area_density_mvee(ctx: RoiContext) -> float:
    """Area density of the minimum volume enclosing ellipsoid (IBSI BRI8).

    Notes
    -----
    .. math:: F_{morph.a.dens.mvee} = \\frac{A}{A_{mvee}}

    with the MVEE area from the Legendre series of :func:`ellipsoid_surface_area`.

    References
    ----------
    IBSI 1 manual, §3.1.24 "Area density (minimum volume enclosing ellipsoid)".
    """
    a, b, c = _mvee_axes(ctx)
    return _ratio(_mesh(ctx).area, ellipsoid_surface_area(a, b, c))


@feature(name="morph.volume_density_convex_hull", ibsi="R3ER", requires=("mesh", "hull"))
def volume_density_convex_hull(ctx: RoiContext) -> float:
    """Volume density of the convex hull, solidity (IBSI R3ER).

    Notes
    -----
    .. math:: F_{morph.v.dens.conv.hull} = \\frac{V}{V_{convex}}

    with the convex hull of the mesh vertices.

    References
    ----------
    IBSI 1 manual, §3.1.25 "Volume density (convex hull)".
    """
    return _ratio(_mesh(ctx).volume, _hull(ctx).volume)


@feature(name="morph.area_density_convex_hull", ibsi="7T7F", requires=("mesh", "hull"))
def area_density_convex_hull(ctx: RoiContext) -> float:
    """Area density of the convex hull (IBSI 7T7F).

    Notes
    -----
    .. math:: F_{morph.a.dens.conv.hull} = \\frac{A}{A_{convex}}

    References
    ----------
    IBSI 1 manual, §3.1.26 "Area density (convex hull)".
    """
    return _ratio(_mesh(ctx).area, _hull(ctx).area)


@feature(name="morph.integrated_intensity", ibsi="99N0", requires=("mesh",))
def integrated_intensity(ctx: RoiContext) -> float:
    """Integrated intensity (IBSI 99N0), intensity × mm³.

    Notes
    -----
    .. math:: F_{morph.integ.int} = V\\,\\frac{1}{N_{v,gl}}\\sum_{k=1}^{N_{v,gl}} X_{gl,k}

    mesh volume times the mean intensity of the intensity mask (total lesion glycolysis
    in FDG-PET).

    References
    ----------
    IBSI 1 manual, §3.1.27 "Integrated intensity".
    """
    return _mesh(ctx).volume * float(np.mean(_intensities(ctx)))


@feature(name="morph.moran_i", ibsi="N365", requires=("autocorrelation",))
def moran_i(ctx: RoiContext) -> float:
    """Moran's I index (IBSI N365).

    Notes
    -----
    .. math::
        F_{morph.moran.i} = \\frac{N_{v,gl}}{\\sum_{k_1\\neq k_2} w_{k_1k_2}}
        \\frac{\\sum_{k_1\\neq k_2} w_{k_1k_2}(X_{gl,k_1}-\\mu)(X_{gl,k_2}-\\mu)}
        {\\sum_k (X_{gl,k}-\\mu)^2}

    with :math:`w` the inverse Euclidean distance (mm) between intensity-mask voxel
    centres. Exact for every ROI size (blocked FFT evaluation,
    :func:`spatial_autocorrelation`). Only when ``features.moran_max_voxels`` is set (opt
    in) is a seeded random subsample used above that many voxels, and the approximation
    recorded in ``ctx.notes["morph.moran_i"]``. NaN for a constant ROI or a single voxel.

    References
    ----------
    IBSI 1 manual, §3.1.28 "Moran's I index"; Moran, Biometrika 1950;37:17–23.
    """
    return _autocorrelation(ctx)[0]


@feature(name="morph.geary_c", ibsi="NPT7", requires=("autocorrelation",))
def geary_c(ctx: RoiContext) -> float:
    """Geary's C measure (IBSI NPT7).

    Notes
    -----
    .. math::
        F_{morph.geary.c} = \\frac{N_{v,gl}-1}{2\\sum_{k_1\\neq k_2} w_{k_1k_2}}
        \\frac{\\sum_{k_1\\neq k_2} w_{k_1k_2}(X_{gl,k_1}-X_{gl,k_2})^2}
        {\\sum_k (X_{gl,k}-\\mu)^2}

    with the weights and the opt-in approximation of :func:`moran_i`.

    References
    ----------
    IBSI 1 manual, §3.1.29 "Geary's C measure"; Geary, The Incorporated Statistician
    1954;5:115–145.
    """
    return _autocorrelation(ctx)[1]
