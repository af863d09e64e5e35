"""Local intensity features on constructed images.

Oracles: the number of lattice points within radius 3 (123, for a 1 cm³ sphere on a 2 mm
grid, r = 6.2035 mm), a direct sliding-window mean (``scipy.ndimage.correlate``) for the
FFT sphere filter, and images whose peaks are known by construction.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from radiomix.features.local_intensity import PEAK_RADIUS_MM, sphere_kernel, sphere_means
from radiomix.features.registry import all_features, family_compute
from radiomix.roi import IvhInput, RoiContext
from radiomix.settings import FeatureSettings

SPECS = [s for s in all_features() if s.family == "loc"]


def loc_features(image, mask, spacing) -> dict[str, float]:
    ctx = RoiContext(
        image.astype(float),
        mask,
        mask,
        spacing,
        levels=mask.astype(np.int64),
        n_levels=1,
        ivh=IvhInput(values=image[mask].astype(float), lower=0.0, upper=1.0, step=1.0),
        settings=FeatureSettings(),
    )
    return family_compute("loc")(ctx, None, SPECS)


def test_radius_is_that_of_a_1_cm3_sphere() -> None:
    assert 4 / 3 * np.pi * PEAK_RADIUS_MM**3 == pytest.approx(1000.0)


def test_sphere_kernel_counts() -> None:
    # lattice points with i^2 + j^2 + k^2 <= (6.2035/2)^2 = 9.62, i.e. <= 9: 123
    assert sphere_kernel((2.0, 2.0, 2.0)).sum() == 123
    assert sphere_kernel((2.0, 2.0, 2.0)).shape == (7, 7, 7)
    # 1 mm: points with squared norm <= 38.48 -> r^2 <= 38
    pts = np.stack(np.meshgrid(*[np.arange(-7, 8)] * 3, indexing="ij"))
    assert sphere_kernel((1.0, 1.0, 1.0)).sum() == np.count_nonzero((pts**2).sum(0) <= 38)
    # anisotropic: 5 mm slices reach one slice up and down
    assert sphere_kernel((5.0, 1.0, 1.0)).shape == (3, 13, 13)


@pytest.mark.parametrize("spacing", [(2.0, 2.0, 2.0), (3.0, 0.9, 1.2)])
def test_sphere_means_equal_a_direct_sliding_mean(spacing) -> None:
    rng = np.random.default_rng(4)
    image = rng.normal(size=(7, 16, 13)) * 100
    k = sphere_kernel(spacing).astype(float)
    direct = ndimage.correlate(image, k, mode="constant") / ndimage.correlate(
        np.ones_like(image), k, mode="constant"
    )
    assert sphere_means(image, spacing=spacing) == pytest.approx(direct, rel=1e-9, abs=1e-9)


def test_constant_image() -> None:
    image = np.full((5, 9, 9), 42.0)
    mask = np.zeros(image.shape, bool)
    mask[2, 3:6, 3:6] = True
    f = loc_features(image, mask, (2.0, 2.0, 2.0))
    assert f["loc.peak_local"] == pytest.approx(42.0)
    assert f["loc.peak_global"] == pytest.approx(42.0)


def test_single_bright_voxel_is_averaged_with_its_sphere() -> None:
    image = np.zeros((9, 9, 9))
    image[4, 4, 4] = 123.0
    mask = np.zeros(image.shape, bool)
    mask[4, 4, 4] = mask[4, 4, 5] = True
    f = loc_features(image, mask, (2.0, 2.0, 2.0))
    # the sphere of 123 voxels lies inside the image: mean 123 / 123
    assert f["loc.peak_local"] == pytest.approx(1.0)
    assert f["loc.peak_global"] == pytest.approx(1.0)


def test_voxels_outside_the_roi_count() -> None:
    # Two ROI voxels share the maximum 10; only the second has bright (non-ROI) neighbours.
    image = np.zeros((9, 9, 20))
    mask = np.zeros(image.shape, bool)
    mask[4, 4, 3] = mask[4, 4, 15] = True
    image[4, 4, 3] = image[4, 4, 15] = 10.0
    image[4, 4, 16] = 50.0  # outside the ROI, within the second sphere
    image[4, 4, 9] = 1000.0  # outside the ROI and outside both spheres
    f = loc_features(image, mask, (2.0, 2.0, 2.0))
    assert f["loc.peak_local"] == pytest.approx(60.0 / 123)
    assert f["loc.peak_global"] == pytest.approx(60.0 / 123)


def test_global_peak_may_exceed_the_local_peak() -> None:
    # The maximum voxel sits in a dark area; another ROI voxel sits in a bright area.
    image = np.zeros((9, 9, 24))
    mask = np.zeros(image.shape, bool)
    mask[4, 4, 3] = mask[4, 4, 18] = True
    image[4, 4, 3] = 100.0
    image[3:6, 3:6, 16:21] = 50.0  # around the second ROI voxel, inside its sphere
    image[4, 4, 18] = 60.0
    f = loc_features(image, mask, (2.0, 2.0, 2.0))
    assert f["loc.peak_local"] == pytest.approx(100.0 / 123)
    expected_global = (50.0 * 45 - 50.0 + 60.0) / 123  # a 3x3x5 block lies in the sphere
    assert f["loc.peak_global"] == pytest.approx(expected_global)
    assert f["loc.peak_global"] > f["loc.peak_local"]
