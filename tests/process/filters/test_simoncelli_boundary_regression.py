"""Simoncelli wavelet boundary (issue 20): periodic by default, mirror reachable by setting.

Oracles: the IBSI 2 consensus reference map of test 8.a.1 (computed with the periodic
boundary, the FFT of the image as given), and the circular-shift equivariance that only a
periodic boundary has. Before issue 20 radiomix padded with a mirror before the FFT.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from _data import require_data
from radiomix.extraction import extract
from radiomix.process.filters import FilterSettings, apply_filter
from radiomix.settings import settings_from_dict


def _ramp() -> np.ndarray:
    """(Z, Y, X) = (16, 16, 24) ramp along x: its periodic extension jumps from 23 back to 0,
    its mirror extension does not, so the responses next to the x borders differ."""
    return np.tile(np.arange(24.0), (16, 16, 1))


@pytest.mark.parametrize("riesz", [None, (0, 2, 0)])
def test_default_boundary_is_periodic(riesz):
    s = FilterSettings(kind="simoncelli", level=1, riesz_order_xyz=riesz)
    assert s.padding == "periodic"
    assert s.boundary == "periodic"
    assert FilterSettings(kind="simoncelli", level=2, padding="mirror").padding == "mirror"
    # the other filters keep the IBSI 2 mirror default
    assert FilterSettings(kind="log", sigma_mm=1.0).padding == "mirror"
    assert FilterSettings(kind="wavelet", wavelet="db3", subband="LLH", level=1).padding == (
        "mirror"
    )


def test_tags_name_a_non_default_boundary():
    assert FilterSettings(kind="simoncelli", level=1).tag == "simoncelli_l1"
    assert FilterSettings(kind="simoncelli", level=1, padding="periodic").tag == "simoncelli_l1"
    assert FilterSettings(kind="simoncelli", level=1, padding="mirror").tag == (
        "simoncelli_l1_padmirror"
    )
    assert FilterSettings(kind="mean", support=3, padding="periodic").tag == "mean_d3_padperiodic"


@pytest.mark.parametrize("riesz", [None, (1, 0, 0)])
def test_statistics_differ_between_periodic_and_mirror_on_a_ramp(riesz):
    image = _ramp()
    default = apply_filter(
        image,
        spacing=(1.0, 1.0, 1.0),
        settings=FilterSettings(kind="simoncelli", level=1, riesz_order_xyz=riesz),
    )
    periodic = apply_filter(
        image,
        spacing=(1.0, 1.0, 1.0),
        settings=FilterSettings(
            kind="simoncelli", level=1, padding="periodic", riesz_order_xyz=riesz
        ),
    )
    mirror = apply_filter(
        image,
        spacing=(1.0, 1.0, 1.0),
        settings=FilterSettings(
            kind="simoncelli", level=1, padding="mirror", riesz_order_xyz=riesz
        ),
    )
    np.testing.assert_array_equal(default, periodic)
    roi = (slice(None), slice(None), slice(0, 4))  # ROI at the x border
    sd_periodic, sd_mirror = periodic[roi].std(), mirror[roi].std()
    assert sd_periodic > 2 * sd_mirror  # the wrap-around jump shows up with periodic only


def test_periodic_response_commutes_with_circular_shifts():
    """Only a periodic boundary makes the filter equivariant to circular shifts."""
    rng = np.random.default_rng(20)
    image = rng.normal(size=(12, 20, 18))
    shift = (3, -5, 7)

    def run(img, padding):
        return apply_filter(
            img,
            spacing=(1.0, 1.0, 1.0),
            settings=FilterSettings(kind="simoncelli", level=2, padding=padding),
        )

    rolled = np.roll(image, shift, axis=(0, 1, 2))
    np.testing.assert_allclose(
        run(rolled, None), np.roll(run(image, None), shift, axis=(0, 1, 2)), atol=1e-12
    )
    mirror_gap = np.abs(run(rolled, "mirror") - np.roll(run(image, "mirror"), shift, (0, 1, 2)))
    assert mirror_gap.max() > 1e-3


def test_default_matches_the_ibsi2_reference_map_and_mirror_does_not():
    """IBSI 2 test 8.a.1 (checkerboard, Simoncelli level 1): the consensus map is periodic."""
    ref_img = sitk.ReadImage(
        str(require_data("ibsi2", "reference_response_maps", "8_a_1-ValidCRM.nii"))
    )
    phantom = sitk.ReadImage(
        str(require_data("ibsi2", "digital_phantom", "checkerboard", "image.nii.gz"))
    )
    reference = sitk.GetArrayFromImage(ref_img).astype(np.float64)
    image = sitk.GetArrayFromImage(phantom).astype(np.float64)
    tolerance = 0.01 * (reference.max() - reference.min())
    spacing = tuple(reversed(phantom.GetSpacing()))
    default = apply_filter(
        image, spacing=spacing, settings=FilterSettings(kind="simoncelli", level=1)
    )
    mirror = apply_filter(
        image,
        spacing=spacing,
        settings=FilterSettings(kind="simoncelli", level=1, padding="mirror"),
    )
    assert np.abs(default - reference).max() <= tolerance
    assert np.abs(mirror - reference).max() > 10 * tolerance


def test_boundary_is_recorded_in_the_provenance(tmp_path):
    image = sitk.GetImageFromArray(_ramp() * 10.0)
    mask = np.zeros((16, 16, 24), dtype=np.uint8)
    mask[4:12, 4:12, 0:5] = 1  # at the x border, where the boundaries differ
    sitk.WriteImage(image, str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(mask), str(tmp_path / "mask.nii.gz"))
    settings = settings_from_dict(
        {
            "dimensionality": "2d",
            "features": {"families": ["stat"]},
            "response_maps": {
                "filters": [
                    {"kind": "simoncelli", "level": 1, "dimensionality": "2d"},
                    {"kind": "simoncelli", "level": 1, "dimensionality": "2d", "padding": "mirror"},
                ]
            },
        }
    )
    result = extract(tmp_path / "image.nii.gz", tmp_path / "mask.nii.gz", settings=settings)
    filters = result.provenance["settings"]["response_maps"]["filters"]
    assert [f["padding"] for f in filters] == ["periodic", "mirror"]
    notes = result.provenance["notes"]
    assert "boundary periodic" in notes["response_maps.simoncelli_l1_2d"]
    assert "boundary mirror" in notes["response_maps.simoncelli_l1_2d_padmirror"]
    a = result.features["image.simoncelli_l1_2d.stat.variance"]
    b = result.features["image.simoncelli_l1_2d_padmirror.stat.variance"]
    assert a != pytest.approx(b, rel=1e-3)


def test_axis_dependent_filters_say_so_in_the_provenance(tmp_path):
    """A response map computed along the stored index axes (Laws with an odd kernel, the
    Simoncelli grid) can change when an axis is stored reversed; its provenance note says
    so, and a symmetric filter's (LoG) does not."""
    image = sitk.GetImageFromArray(_ramp() * 10.0)
    mask = np.zeros((16, 16, 24), dtype=np.uint8)
    mask[4:12, 4:12, 6:18] = 1
    sitk.WriteImage(image, str(tmp_path / "image.nii.gz"))
    sitk.WriteImage(sitk.GetImageFromArray(mask), str(tmp_path / "mask.nii.gz"))
    settings = settings_from_dict(
        {
            "features": {"families": ["stat"]},
            "response_maps": {
                "filters": [
                    {"kind": "laws", "laws_kernel": "E5L5S5"},
                    {"kind": "simoncelli", "level": 1},
                    {"kind": "log", "sigma_mm": 1.0},
                ]
            },
        }
    )
    notes = extract(tmp_path / "image.nii.gz", tmp_path / "mask.nii.gz",
                    settings=settings).provenance["notes"]
    said = {k: "stored index axes" in v for k, v in notes.items() if k.startswith("response_maps.")}
    assert sorted(said.values()) == [False, True, True]
    assert not next(v for k, v in said.items() if "log" in k)
