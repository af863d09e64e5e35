"""Morphological features on shapes whose values follow in closed form.

Oracles:

- a single voxel: marching cubes at level 0.5 draws an octahedron with vertices half a
  voxel from the centre along each axis, volume :math:`s_xs_ys_z/6` and area
  :math:`\\sqrt{s_y^2s_z^2+s_x^2s_z^2+s_x^2s_y^2}`;
- a solid box of :math:`k\\times n\\times m` voxels: its mesh is the box of faces half a
  voxel out, with chamfered edges and cut corners. Cube by cube (interior cubes 1, face
  cubes 1/2, edge cubes 1/8, corner cubes 1/48 of a cube) the volume is
  :math:`v[(k-1)(n-1)(m-1) + (k-1)(n-1) + (n-1)(m-1) + (k-1)(m-1) +
  ((k-1)+(n-1)+(m-1))/2 + 1/6]` with :math:`v` the voxel volume, and the area is the sum
  of flat faces, edge chamfer strips and corner triangles (:func:`box_mesh_area`);
- the discrete uniform variance :math:`s^2(k^2-1)/12` of voxel centres (PCA axes);
- Moran's I and Geary's C of 2 and 3 voxels computed by hand, and brute-force pair sums
  (scipy ``pdist``) on random ROIs;
- the IBSI ellipsoid-area series evaluated with scipy's Legendre polynomials, the MVEE of a
  box's corners (semi-axes :math:`\\sqrt 3` times the half edges) and the OMBB of a rotated box.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.spatial.transform import Rotation
from scipy.special import eval_legendre

from radiomix.features import morphology as morph
from radiomix.features.registry import all_features, family_compute
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings

SPECS = [s for s in all_features() if s.family == "morph"]


def make_context(
    mask: np.ndarray,
    image: np.ndarray | None = None,
    spacing=(1.0, 1.0, 1.0),
    *,
    int_mask: np.ndarray | None = None,
    moran_max_voxels: int = 10_000,
) -> RoiContext:
    image = np.ones(mask.shape) if image is None else image.astype(float)
    int_mask = mask if int_mask is None else int_mask
    levels = np.where(int_mask, 1, 0)
    vals = image[int_mask]
    return RoiContext(
        image,
        mask,
        int_mask,
        spacing,
        levels=levels,
        n_levels=1,
        ivh=IvhInput(values=vals, lower=0.0, upper=1.0, step=1.0),
        settings=FeatureSettings(
            moran_max_voxels=moran_max_voxels, moran_sample_voxels=min(moran_max_voxels, 10_000)
        ),
    )


def features(ctx: RoiContext) -> dict[str, float]:
    return family_compute("morph")(ctx, None, SPECS)


def box_mask(k: int, n: int, m: int, pad: int = 2) -> np.ndarray:
    mask = np.zeros((k + 2 * pad, n + 2 * pad, m + 2 * pad), bool)
    mask[pad : pad + k, pad : pad + n, pad : pad + m] = True
    return mask


def box_mesh_volume(k: int, n: int, m: int, sp) -> float:
    a, b, c = k - 1, n - 1, m - 1
    return (a * b * c + a * b + b * c + a * c + (a + b + c) / 2 + 1 / 6) * sp[0] * sp[1] * sp[2]


def box_mesh_area(k: int, n: int, m: int, sp) -> float:
    sz, sy, sx = sp
    a, b, c = k - 1, n - 1, m - 1  # interior extents along z, y, x
    faces = 2 * (b * c * sy * sx + a * c * sz * sx + a * b * sz * sy)
    edges = 4 * (
        a * sz * math.hypot(sy, sx) / 2
        + b * sy * math.hypot(sz, sx) / 2
        + c * sx * math.hypot(sz, sy) / 2
    )
    corners = math.sqrt((sy * sx) ** 2 + (sz * sx) ** 2 + (sz * sy) ** 2)
    return faces + edges + corners


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (3.0, 0.5, 0.8)])
def test_single_voxel_is_an_octahedron(spacing) -> None:
    f = features(make_context(np.ones((1, 1, 1), bool), spacing=spacing))
    sz, sy, sx = spacing
    assert f["morph.volume_mesh"] == pytest.approx(sz * sy * sx / 6)
    area = math.sqrt((sy * sz) ** 2 + (sx * sz) ** 2 + (sx * sy) ** 2)
    assert f["morph.surface_area_mesh"] == pytest.approx(area)
    assert f["morph.volume_voxels"] == pytest.approx(sz * sy * sx)
    # the octahedron is its own convex hull; its longest diagonal is the largest spacing
    assert f["morph.volume_density_convex_hull"] == pytest.approx(1.0)
    assert f["morph.area_density_convex_hull"] == pytest.approx(1.0)
    assert f["morph.maximum_3d_diameter"] == pytest.approx(max(spacing))
    # bounding box of the octahedron: one voxel; it fills 1/6 of it
    assert f["morph.volume_density_aabb"] == pytest.approx(1 / 6)
    # a single point has no spread: PCA ratios are undefined
    assert f["morph.major_axis_length"] == 0.0
    assert math.isnan(f["morph.elongation"])
    assert math.isnan(f["morph.moran_i"])


@pytest.mark.parametrize(
    ("shape", "spacing"),
    [((2, 3, 4), (1.0, 1.0, 1.0)), ((3, 5, 4), (2.0, 0.7, 0.9)), ((1, 6, 2), (1.5, 1.0, 1.0))],
)
def test_box_mesh_volume_area_and_derived_features(shape, spacing) -> None:
    k, n, m = shape
    f = features(make_context(box_mask(k, n, m), spacing=spacing))
    v = box_mesh_volume(k, n, m, spacing)
    a = box_mesh_area(k, n, m, spacing)
    assert f["morph.volume_mesh"] == pytest.approx(v, rel=1e-12)
    assert f["morph.surface_area_mesh"] == pytest.approx(a, rel=1e-12)
    assert f["morph.volume_voxels"] == pytest.approx(k * n * m * np.prod(spacing))
    assert f["morph.surface_to_volume_ratio"] == pytest.approx(a / v)
    assert f["morph.compactness_1"] == pytest.approx(v / (math.sqrt(math.pi) * a**1.5))
    assert f["morph.compactness_2"] == pytest.approx(36 * math.pi * v**2 / a**3)
    assert f["morph.spherical_disproportion"] == pytest.approx(a / (36 * math.pi * v**2) ** (1 / 3))
    assert f["morph.sphericity"] == pytest.approx((36 * math.pi * v**2) ** (1 / 3) / a)
    assert f["morph.asphericity"] == pytest.approx(a / (36 * math.pi * v**2) ** (1 / 3) - 1)
    assert f["morph.compactness_av23"] == pytest.approx(a / v ** (2 / 3))
    # the mesh spans whole voxels: its bounding box is k x n x m voxels
    box = k * n * m * np.prod(spacing)
    assert f["morph.volume_density_aabb"] == pytest.approx(v / box)
    ext = np.array(shape) * np.array(spacing)
    box_area = 2 * (ext[0] * ext[1] + ext[1] * ext[2] + ext[0] * ext[2])
    assert f["morph.area_density_aabb"] == pytest.approx(a / box_area)
    # a box mesh is convex, and no bounding box is smaller than the axis-aligned one
    assert f["morph.volume_density_convex_hull"] == pytest.approx(1.0)
    assert f["morph.area_density_convex_hull"] == pytest.approx(1.0)
    assert f["morph.volume_density_ombb"] == pytest.approx(v / box)
    if min(shape) > 1:
        # (a one-voxel slab also fits tilted boxes of the same volume and smaller area)
        assert f["morph.area_density_ombb"] == pytest.approx(a / box_area)


def test_box_pca_axes_follow_the_discrete_uniform_variance() -> None:
    shape, spacing = (3, 6, 9), (2.0, 1.0, 0.5)
    n = np.prod(shape)
    var = sorted(
        (s**2 * (k**2 - 1) / 12 * n / (n - 1) for k, s in zip(shape, spacing, strict=True)),
        reverse=True,
    )
    f = features(make_context(box_mask(*shape), spacing=spacing))
    assert f["morph.major_axis_length"] == pytest.approx(4 * math.sqrt(var[0]))
    assert f["morph.minor_axis_length"] == pytest.approx(4 * math.sqrt(var[1]))
    assert f["morph.least_axis_length"] == pytest.approx(4 * math.sqrt(var[2]))
    assert f["morph.elongation"] == pytest.approx(math.sqrt(var[1] / var[0]))
    assert f["morph.flatness"] == pytest.approx(math.sqrt(var[2] / var[0]))
    a, b, c = (2 * math.sqrt(x) for x in var)
    v = box_mesh_volume(*shape, spacing)
    assert f["morph.volume_density_aee"] == pytest.approx(3 * v / (4 * math.pi * a * b * c))


def test_maximum_diameter_equals_brute_force_over_all_mesh_vertices() -> None:
    rng = np.random.default_rng(3)
    mask = rng.random((5, 7, 6)) < 0.4
    spacing = (2.5, 0.8, 1.1)
    mesh = morph.roi_mesh(mask, spacing=spacing)
    f = features(make_context(mask, spacing=spacing))
    assert f["morph.maximum_3d_diameter"] == pytest.approx(pdist(mesh.vertices).max())


def test_mesh_vertices_are_in_the_frame_of_voxel_centres() -> None:
    # A voxel at index (2, 3, 4) with unit spacing: octahedron centred at (2, 3, 4).
    mask = np.zeros((5, 6, 7), bool)
    mask[2, 3, 4] = True
    mesh = morph.roi_mesh(mask, spacing=(1.0, 1.0, 1.0))
    assert mesh.vertices.mean(axis=0) == pytest.approx([2.0, 3.0, 4.0])


def test_centre_of_mass_shift_of_two_voxels() -> None:
    # Voxels 3 mm apart with intensities 1 and 3: geometric centre at 1.5 mm, weighted
    # centre at 3 * 3/4 = 2.25 mm, shift 0.75 mm.
    mask = np.zeros((1, 1, 2), bool)
    mask[...] = True
    image = np.array([[[1.0, 3.0]]])
    f = features(make_context(mask, image, spacing=(1.0, 1.0, 3.0)))
    assert f["morph.centre_of_mass_shift"] == pytest.approx(0.75)


def test_centre_of_mass_uses_the_morphological_and_intensity_masks() -> None:
    # Morphological mask: 3 voxels in a row; intensity mask: the first two only (equal
    # intensities). Centres at 1 and 0.5 voxel: shift 0.5 mm.
    mask = np.ones((1, 1, 3), bool)
    int_mask = mask.copy()
    int_mask[0, 0, 2] = False
    f = features(make_context(mask, np.full(mask.shape, 5.0), int_mask=int_mask))
    assert f["morph.centre_of_mass_shift"] == pytest.approx(0.5)


def test_integrated_intensity_is_mesh_volume_times_mean() -> None:
    mask = box_mask(2, 3, 3)
    image = np.where(mask, 7.0, -100.0)
    image[2, 2, 2] = 13.0  # inside the box
    f = features(make_context(mask, image, spacing=(2.0, 1.0, 1.0)))
    mean = (7.0 * 17 + 13.0) / 18
    assert f["morph.integrated_intensity"] == pytest.approx(
        box_mesh_volume(2, 3, 3, (2.0, 1.0, 1.0)) * mean
    )


def test_moran_and_geary_of_two_voxels() -> None:
    # N = 2, y = (-d, d): I = -1 and C = 1 whatever the distance.
    mask = np.zeros((1, 3, 3), bool)
    mask[0, 0, 0] = mask[0, 2, 1] = True
    image = np.zeros(mask.shape)
    image[0, 0, 0], image[0, 2, 1] = 4.0, 10.0
    f = features(make_context(mask, image, spacing=(1.0, 0.7, 1.3)))
    assert f["morph.moran_i"] == pytest.approx(-1.0)
    assert f["morph.geary_c"] == pytest.approx(1.0)


def test_moran_and_geary_of_three_collinear_voxels() -> None:
    # Values 1, 2, 3 at unit distances: y = (-1, 0, 1), sum y^2 = 2, ordered-pair weights
    # sum 2 (1 + 1 + 1/2) = 5, sum w y1 y2 = 2 (-1/2) = -1, sum w (y1-y2)^2 = 2 (1+1+4/2) = 8.
    # I = 3/5 * (-1)/2 = -0.3 ; C = (3-1)/(2*5) * 8/2 = 0.8.
    mask = np.ones((1, 1, 3), bool)
    image = np.array([[[1.0, 2.0, 3.0]]])
    f = features(make_context(mask, image))
    assert f["morph.moran_i"] == pytest.approx(-0.3)
    assert f["morph.geary_c"] == pytest.approx(0.8)


def brute_force_moran_geary(image, mask, spacing) -> tuple[float, float]:
    pts = np.argwhere(mask) * np.asarray(spacing)
    x = image[mask]
    y = x - x.mean()
    w = squareform(1.0 / pdist(pts))  # zero diagonal
    n = x.size
    moran = n / w.sum() * (w * np.outer(y, y)).sum() / (y @ y)
    geary = (n - 1) / (2 * w.sum()) * (w * (x[:, None] - x[None, :]) ** 2).sum() / (y @ y)
    return moran, geary


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_moran_geary_equal_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((4, 6, 5)) < 0.6
    image = rng.normal(size=mask.shape) + np.arange(5)  # some spatial trend
    spacing = (3.0, 0.9, 1.2)
    moran, geary, note = morph.spatial_autocorrelation(
        image, mask, spacing=spacing, max_voxels=10_000, seed=0
    )
    ref = brute_force_moran_geary(image, mask, spacing)
    assert note is None
    assert moran == pytest.approx(ref[0], rel=1e-9, abs=1e-12)
    assert geary == pytest.approx(ref[1], rel=1e-9)


def test_subsample_approximation_is_recorded_in_notes() -> None:
    rng = np.random.default_rng(5)
    mask = np.ones((6, 8, 8), bool)
    image = np.cumsum(rng.normal(size=mask.shape), axis=2)  # autocorrelated along x
    ctx = make_context(mask, image, moran_max_voxels=200)
    f = features(ctx)
    assert "approximated" in ctx.notes["morph.moran_i"]
    assert "200 of 384 voxels" in ctx.notes["morph.geary_c"]
    exact = brute_force_moran_geary(image, mask, (1.0, 1.0, 1.0))
    # a subsample estimates the same autocorrelation, not the same number
    assert f["morph.moran_i"] == pytest.approx(exact[0], abs=0.1)
    assert f["morph.geary_c"] == pytest.approx(exact[1], abs=0.15)
    # same seed, same value
    again = features(make_context(mask, image, moran_max_voxels=200))
    assert again["morph.moran_i"] == f["morph.moran_i"]


@pytest.mark.parametrize("n", [2, 3, 40, 517])  # odd sizes exercise the SIMD loop tails
def test_pair_sum_kernel_equals_brute_force(n: int) -> None:
    rng = np.random.default_rng(7)
    pts = rng.normal(size=(n, 3))
    y = rng.normal(size=n)
    w = squareform(1.0 / pdist(pts))
    cols = [np.ascontiguousarray(pts[:, a]) for a in range(3)]
    s_w, s_yy, s_dd = morph._k.inverse_distance_pair_sums(*cols, y)
    assert s_w == pytest.approx(w.sum(), rel=1e-12)
    assert s_yy == pytest.approx((w * np.outer(y, y)).sum(), rel=1e-11)
    assert s_dd == pytest.approx((w * (y[:, None] - y[None, :]) ** 2).sum(), rel=1e-12)


def ibsi_series(a: float, b: float, c: float) -> float:
    """The IBSI RDD2 series evaluated with scipy's Legendre polynomials (alpha*beta > 0)."""
    alpha, beta = math.sqrt(1 - b**2 / a**2), math.sqrt(1 - c**2 / a**2)
    x = (alpha**2 + beta**2) / (2 * alpha * beta)
    return (
        4
        * math.pi
        * a
        * b
        * sum((alpha * beta) ** n / (1 - 4 * n * n) * eval_legendre(n, x) for n in range(21))
    )


def test_ellipsoid_area_series_of_a_sphere() -> None:
    assert morph.ellipsoid_surface_area(2.0, 2.0, 2.0) == pytest.approx(4 * math.pi * 4)


@pytest.mark.parametrize("axes", [(3.0, 2.5, 2.0), (5.0, 3.0, 2.0), (2.0, 3.0, 1.0)])
def test_ellipsoid_area_series_equals_the_ibsi_legendre_form(axes) -> None:
    a, b, c = sorted(axes, reverse=True)
    assert morph.ellipsoid_surface_area(*axes) == pytest.approx(ibsi_series(a, b, c), rel=1e-12)


def test_ellipsoid_area_series_is_continuous_at_spheroids() -> None:
    # alpha*beta = 0 (a = b): the polynomial form is the limit of the Legendre form.
    near = ibsi_series(3.0, 3.0 * (1 - 1e-7), 2.0)
    assert morph.ellipsoid_surface_area(3.0, 3.0, 2.0) == pytest.approx(near, rel=1e-6)


def test_mvee_of_box_corners() -> None:
    half = np.array([3.0, 2.0, 1.0])
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    rot = Rotation.from_euler("zyx", [30, 20, 10], degrees=True).as_matrix()
    pts = corners * half @ rot.T + np.array([5.0, -2.0, 1.0])
    axes = morph.minimum_volume_enclosing_ellipsoid(pts)
    assert axes == pytest.approx(math.sqrt(3) * half, rel=1e-2)


def test_mvee_of_points_on_an_ellipsoid() -> None:
    rng = np.random.default_rng(2)
    u = rng.normal(size=(400, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    pts = u * np.array([5.0, 3.0, 2.0])
    assert morph.minimum_volume_enclosing_ellipsoid(pts) == pytest.approx([5, 3, 2], rel=1e-2)


def test_ombb_of_a_rotated_box() -> None:
    half = np.array([3.0, 2.0, 1.0])
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    rot = Rotation.from_euler("zyx", [35, 25, 15], degrees=True).as_matrix()
    pts = corners * half @ rot.T
    hull = morph.convex_hull(pts)
    edges = morph.oriented_bounding_box(hull.vertices, hull.normals)
    assert edges == pytest.approx(2 * half)
    # the axis-aligned box of the rotated box is larger
    assert np.prod(np.ptp(pts, axis=0)) > np.prod(edges) * 1.5
