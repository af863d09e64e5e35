"""Peritumoral ring clipped to an organ mask (``preprocess: {roi: ring, ring_clip: organ}``).

Oracle: the ring recomputed here from the Euclidean distance transform of the tumour
(distance in (inner, outer] mm, tumour excluded), intersected with a synthetic organ mask;
features recomputed with numpy over those voxels of the real STS CT.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from _data import require_data
from radiomix.errors import (
    AmbiguousLabelError,
    GeometryMismatchError,
    InputError,
    SettingsError,
)
from radiomix.extraction import extract
from radiomix.process.preprocess import analysis_mask, preprocess
from radiomix.settings import PreprocessSettings, settings_from_dict

CASE = "STS_002"
RING = {"roi": "ring", "ring_inner_mm": 0.0, "ring_outer_mm": 6.0, "ring_clip": "organ"}


def _paths(modality: str = "ct"):
    return (
        require_data("sts", "nifti", CASE, modality, "image.nii.gz"),
        require_data("sts", "nifti", CASE, modality, "mask.nii.gz"),
    )


def _arrays():
    img_path, msk_path = _paths()
    image = sitk.ReadImage(str(img_path))
    img = sitk.GetArrayFromImage(image).astype(np.float64)
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(msk_path))) > 0
    sp = image.GetSpacing()
    return image, img, mask, (sp[2], sp[1], sp[0])


def _organ(mask: np.ndarray) -> np.ndarray:
    """Synthetic organ: the half of the volume left of the tumour centre, minus a slab."""
    organ = np.zeros(mask.shape, dtype=bool)
    cx = int(np.round(np.argwhere(mask)[:, 2].mean()))
    organ[:, :, :cx] = True
    organ[:, :5, :] = False
    return organ


def _expected_ring(mask, spacing, organ, outer=6.0):
    d = ndimage.distance_transform_edt(~mask, sampling=spacing)
    return (d > 0) & (d <= outer + 1e-6) & ~mask & organ


def _settings(**pre):
    return settings_from_dict(
        {"preprocess": {**RING, **pre}, "features": {"families": ["stat", "morph"]}}
    )


def test_ring_is_ring_intersected_with_organ():
    _, _, mask, spacing = _arrays()
    organ = _organ(mask)
    s = PreprocessSettings(**RING)
    ring = analysis_mask(mask, spacing, s, organ_mask=organ)
    expected = _expected_ring(mask, spacing, organ)
    assert expected.any()
    assert (expected != _expected_ring(mask, spacing, np.ones_like(organ))).any()
    np.testing.assert_array_equal(ring, expected)
    assert not (ring & mask).any()
    assert not (ring & ~organ).any()
    _, roi = preprocess(np.zeros(mask.shape), mask, spacing, s, organ_mask=organ)
    np.testing.assert_array_equal(roi, expected)


def test_extract_with_organ_mask_file(tmp_path):
    image, img, mask, spacing = _arrays()
    organ = _organ(mask)
    organ_img = sitk.GetImageFromArray(organ.astype(np.uint8))
    organ_img.CopyInformation(image)
    organ_path = tmp_path / "organ.nii.gz"
    sitk.WriteImage(organ_img, str(organ_path))
    img_path, msk_path = _paths()
    result = extract(img_path, msk_path, settings=_settings(), organ_mask=organ_path, tag="ct")
    ring = _expected_ring(mask, spacing, organ)
    f = result.features
    assert f["ct.original.stat.mean"] == pytest.approx(img[ring].mean(), rel=1e-12)
    assert f["ct.original.morph.volume_voxels"] == pytest.approx(
        ring.sum() * np.prod(spacing), rel=1e-9
    )
    assert result.provenance["inputs"]["organ_sha256"]
    unclipped = extract(img_path, msk_path, settings=_settings(ring_clip="none"), tag="ct")
    full = _expected_ring(mask, spacing, np.ones_like(organ))
    assert unclipped.features["ct.original.stat.mean"] == pytest.approx(img[full].mean())

    # multi-label organ masks need organ_label
    labels = organ.astype(np.uint8) + 2 * (~organ & ~mask)
    multi = sitk.GetImageFromArray(labels.astype(np.uint8))
    multi.CopyInformation(image)
    sitk.WriteImage(multi, str(tmp_path / "multi.nii.gz"))
    # round 16: the advice named --label, which chooses the tumour's label
    with pytest.raises(AmbiguousLabelError, match=r"organ mask: .*several labels \[1, 2\]; "
                                                  r"choose one with preprocess.organ_label"):
        extract(img_path, msk_path, settings=_settings(), organ_mask=tmp_path / "multi.nii.gz")
    by_label = extract(
        img_path,
        msk_path,
        settings=_settings(organ_label=1),
        organ_mask=tmp_path / "multi.nii.gz",
        tag="ct",
    )
    assert by_label.features == f


def test_organ_mask_errors(tmp_path):
    img_path, msk_path = _paths()
    with pytest.raises(InputError, match="ring_clip is organ but no organ mask was given"):
        extract(img_path, msk_path, settings=_settings())
    pet_mask = _paths("pet")[1]  # another grid
    with pytest.raises(GeometryMismatchError, match="organ mask is on another grid"):
        extract(img_path, msk_path, settings=_settings(), organ_mask=pet_mask)
    with pytest.raises(SettingsError, match="ring_clip organ clips the peritumoral ring"):
        PreprocessSettings(ring_clip="organ")
    with pytest.raises(SettingsError, match=r"organ_label is set but preprocess\.ring_clip"):
        PreprocessSettings(organ_label=1)
    with pytest.raises(SettingsError, match="ring_clip must be none or organ"):
        PreprocessSettings(roi="ring", ring_outer_mm=5.0, ring_clip="liver")
    _, _, mask, spacing = _arrays()
    with pytest.raises(GeometryMismatchError, match="organ mask shape"):
        analysis_mask(mask, spacing, PreprocessSettings(**RING), organ_mask=mask[1:])
    nowhere = np.zeros(mask.shape, dtype=bool)
    with pytest.raises(InputError, match="holds no voxel after clipping to the organ mask"):
        preprocess(
            np.zeros(mask.shape), mask, spacing, PreprocessSettings(**RING), organ_mask=nowhere
        )


def test_rtstruct_organ_chosen_by_roi_name(tmp_path):
    """An RTSTRUCT organ mask (the CT phantom's GTV-1 as the 'organ') selected by
    ``organ_roi_name``; the tumour is a small box inside it. The ring's voxel count equals
    the ring recomputed here, clipped to the RTSTRUCT rasterised by the loader."""
    from radiomix.io import load_image, load_mask

    folder = require_data("ibsi1", "ct_phantom", "dicom")
    image = load_image(folder / "image")
    rtstruct = folder / "mask" / "DCM_RS_00060.dcm"
    organ = sitk.GetArrayFromImage(load_mask(rtstruct, image, roi_name="GTV-1")) > 0
    centre = np.round(np.argwhere(organ).mean(axis=0)).astype(int)
    tumour = np.zeros(organ.shape, dtype=np.uint8)
    z, y, x = centre
    tumour[z - 1 : z + 2, y - 6 : y + 6, x - 6 : x + 6] = 1
    t_img = sitk.GetImageFromArray(tumour)
    t_img.CopyInformation(image)
    t_path = tmp_path / "tumour.nii.gz"
    sitk.WriteImage(t_img, str(t_path))
    sp = image.GetSpacing()
    ring = _expected_ring(tumour > 0, (sp[2], sp[1], sp[0]), organ, outer=4.0)
    assert ring.any()
    settings = settings_from_dict(
        {
            "preprocess": {**RING, "ring_outer_mm": 4.0, "organ_roi_name": "GTV-1"},
            "features": {"families": ["morph"]},
        }
    )
    got = extract(folder / "image", t_path, settings=settings, tag="ct", organ_mask=rtstruct)
    voxel = sp[0] * sp[1] * sp[2]
    assert got.features["ct.original.morph.volume_voxels"] == pytest.approx(ring.sum() * voxel)
    wrong = settings_from_dict(
        {
            "preprocess": {**RING, "ring_outer_mm": 4.0, "organ_roi_name": "Liver"},
            "features": {"families": ["morph"]},
        }
    )
    with pytest.raises(InputError, match=r"organ mask: .*organ_roi_name"):
        extract(folder / "image", t_path, settings=wrong, tag="ct", organ_mask=rtstruct)
    with pytest.raises(SettingsError, match=r"organ_label or preprocess\.organ_roi_name"):
        settings_from_dict({"preprocess": {**RING, "organ_label": 1, "organ_roi_name": "L"}})


def test_a_ring_normalised_on_itself_is_said(caplog):
    """Round 16: z-scored on its own statistics, a ring's mean was 1.9e-16 and its variance
    1 in every patient, without a word."""
    from radiomix.settings import settings_from_dict

    with caplog.at_level("WARNING", logger="radiomix.settings.steps"):
        settings_from_dict({"preprocess": {"roi": "ring", "ring_outer_mm": 5,
                                           "normalise": "zscore", "normalise_region": "roi"}})
    assert "standardises the peritumoral ring on its own statistics, so it has mean 0 and SD 1" \
        in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="radiomix.settings.steps"):
        settings_from_dict({"preprocess": {"roi": "ring", "ring_outer_mm": 5,
                                           "normalise": "zscore", "normalise_region": "image"}})
        settings_from_dict({"preprocess": {"normalise": "zscore", "normalise_region": "roi"}})
    assert "peritumoral ring" not in caplog.text
