"""Twenty-third outside round (processing chain, IVH): each test failed before its fix.

- A PET (non-integer intensities) extracted with a CT preset had its SUVs rounded to whole
  numbers without a word (6 777 distinct ROI values became 21).
- ``round_intensities``, the interpolation methods and the mask threshold were accepted
  and recorded in the provenance when nothing read them (no interpolation; a
  nearest-neighbour mask).
- ``crop.min_roi_voxels`` was counted on the stored grid only, although the README maps
  it to pyradiomics' ``minimumROISize``, which is checked after resampling and after
  re-segmentation.
- Undefined IVH volume fractions (a constant ROI: the intensity fraction is 0/0) were
  reported as 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import radiomix
from radiomix.errors import EmptyRoiError, RoiTooSmallError, SettingsError
from radiomix.settings.loader import settings_from_dict


def _blob(shape=(12, 24, 24), values=None):
    image = np.zeros(shape, dtype=np.float64)
    mask = np.zeros(shape, dtype=np.uint8)
    mask[3:9, 6:18, 6:18] = 1
    n = int(mask.sum())
    image[mask > 0] = np.arange(n, dtype=float) if values is None else values(n)
    return image, mask


def test_rounding_non_integer_intensities_is_said():
    rng = np.random.default_rng(0)
    image, mask = _blob(values=lambda n: rng.uniform(0.4, 9.9, n))
    row = radiomix.extract(image, mask, spacing=(3.0, 1.0, 1.0), features__families=["stat"],
                           interpolation={"spacing": [2, 2, 2], "round_intensities": True})
    note = row.attrs["provenance"]["notes"]["interpolation.round_intensities"]
    assert "not whole numbers" in note
    assert "round_intensities: false" in note
    assert float(row["image.original.stat.mean"].iloc[0]) == pytest.approx(
        round(float(row["image.original.stat.mean"].iloc[0])), abs=5)  # rounded values ran


def test_rounding_integer_intensities_gets_no_note():
    image, mask = _blob()
    row = radiomix.extract(image, mask, spacing=(3.0, 1.0, 1.0), features__families=["stat"],
                           interpolation={"spacing": [2, 2, 2], "round_intensities": True})
    assert "interpolation.round_intensities" not in row.attrs["provenance"]["notes"]


@pytest.mark.parametrize(("data", "match"), [
    ({"interpolation": {"round_intensities": True}},
     r"interpolation.round_intensities: true set, but interpolation.spacing is null"),
    ({"interpolation": {"method": "cubic"}}, r"interpolation.method: cubic set, but"),
    ({"mask_interpolation": {"partial_volume_threshold": 0.9}},
     r"partial_volume_threshold: 0.9 set, but interpolation.spacing is null"),
    ({"interpolation": {"spacing": [2, 2, 2]},
      "mask_interpolation": {"method": "nearest", "partial_volume_threshold": 0.9}},
     r"is read by nothing with mask_interpolation.method nearest"),
    ({"interpolation": {"spacing": [2, None, 2]}},
     r"interpolation.spacing\[1\] is null in \[2, None, 2\]: give every in-plane spacing"),
])
def test_values_nothing_reads_are_refused(data, match):
    with pytest.raises(SettingsError, match=match):
        settings_from_dict(data)


def test_the_presets_read_every_interpolation_value():
    from radiomix.settings.loader import PRESETS, load_preset

    for name in PRESETS:
        load_preset(name)  # none sets a value nothing reads


def _thin_slab():
    """0.7 x 0.7 x 5 mm voxels, a 3 656-voxel ROI (4 slices of 914)."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 200, (8, 60, 60)).astype(float)
    mask = np.zeros(image.shape, dtype=np.uint8)
    yy, xx = np.mgrid[:60, :60]
    disc = (yy - 30) ** 2 + (xx - 30) ** 2 <= 17 ** 2
    mask[2:6][:, disc] = 1
    return image, mask, (5.0, 0.7, 0.7)


def test_min_roi_voxels_counts_the_processed_grid():
    image, mask, spacing = _thin_slab()
    stored = int(mask.sum())
    # coarse grid: fewer voxels than the minimum after interpolation
    with pytest.raises(RoiTooSmallError, match=r"after interpolation to 3 x 3 x 3 mm, fewer "
                       r"than the minimum 1000 \(crop.min_roi_voxels"):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         interpolation={"spacing": [3, 3, 3]}, crop={"min_roi_voxels": 1000})
    # fine grid: more voxels than stored; the minimum applies to the processed count
    row = radiomix.extract(image, mask, spacing=spacing, features__families=["morph"],
                           interpolation={"spacing": [1, 1, 1]},
                           crop={"min_roi_voxels": stored + 1})
    assert float(row["image.original.morph.volume_voxels"].iloc[0]) > stored


def test_min_roi_voxels_counts_the_voxels_left_by_resegmentation():
    image, mask, spacing = _thin_slab()
    with pytest.raises(RoiTooSmallError, match=r"re-segmentation left \d+ of the ROI's 3\d+ "
                       r"voxels, fewer than the minimum 2000"):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         resegmentation={"range": [150, None]}, crop={"min_roi_voxels": 2000})


def test_outlier_filter_that_empties_the_roi_names_the_outlier_setting():
    image, mask, spacing = _thin_slab()
    with pytest.raises(EmptyRoiError, match=r"widen resegmentation.outlier_sigma"):
        radiomix.extract(image, mask, spacing=spacing, features__families=["stat"],
                         resegmentation={"outlier_sigma": 1e-6})


def test_one_slice_roi_note_names_each_grid():
    image = np.random.default_rng(2).integers(0, 100, (5, 20, 20)).astype(float)
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[2, 8:11, 8:12] = 1  # one slice on the image's grid
    row = radiomix.extract(image, mask, spacing=(1.0, 1.0, 1.0),
                           features__families=["morph"], interpolation={"spacing": [1, 3, 3]},
                           mask_interpolation={"partial_volume_threshold": 0.2})
    note = row.attrs["provenance"]["notes"]["morph"]
    assert note.startswith("the ROI is one voxel thick along z on the image's grid")


def test_constant_roi_volume_fractions_are_undefined_and_said():
    image, mask = _blob(values=lambda n: np.full(n, 7.0))
    image[mask == 0] = np.random.default_rng(3).integers(-50, 50, int((mask == 0).sum()))
    row = radiomix.extract(image, mask, spacing=(2.0, 2.0, 2.0), features__families=["ivh"])
    for pct in (10, 90):
        assert math.isnan(float(
            row[f"image.original.ivh.volume_fraction_at_{pct}pct_intensity"].iloc[0]))
    assert float(row["image.original.ivh.area_under_curve"].iloc[0]) == 0.0  # IBSI: one level
    assert "intensity fraction is 0/0" in row.attrs["provenance"]["notes"]["ivh"]


def test_features_undefined_for_the_roi_are_named_in_a_note():
    image = np.random.default_rng(0).integers(0, 100, (6, 8, 8)).astype(float)
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[1, 1, 1] = mask[3, 4, 4] = 1  # two voxels, not neighbours
    image[1, 1, 1], image[3, 4, 4] = 10.0, 40.0
    row = radiomix.extract(image, mask, spacing=(1.0, 1.0, 1.0),
                           discretisation={"method": "fbs", "bin_width": 10})
    notes = row.attrs["provenance"]["notes"]
    nan = [c.split(".", 2)[2] for c in row.columns
           if c.startswith("image.") and math.isnan(float(row[c].iloc[0]))]
    own = [f for f in nan if any(f == k or ("." in k and f.startswith(k + ".")) for k in notes)
           or (f.startswith("ivh.") and "ivh" in notes)]  # the IVH note says its NaN
    note = notes["undefined"]
    assert note.startswith(f"{len(nan) - len(own)} feature(s) are NaN because this ROI does "
                           "not define")
    assert "glcm.joint_max.3d_merged" in note
    plain = radiomix.extract(*_blob(), spacing=(2.0, 2.0, 2.0), features__families=["stat"])
    assert "undefined" not in plain.attrs["provenance"]["notes"]


def test_a_slab_note_does_not_hide_nan_shape_features():
    """A one-slice ROI: the 'one voxel thick' note names no NaN, yet hid the NaN ellipsoid
    densities from the 'undefined' note (re-check, tester 23i)."""
    image = np.random.default_rng(5).integers(0, 100, (5, 30, 30)).astype(float)
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[2, 7:23, 7:23] = 1
    row = radiomix.extract(image, mask, spacing=(1.0, 1.0, 1.0), features__families=["morph"])
    notes = row.attrs["provenance"]["notes"]
    assert math.isnan(float(row["image.original.morph.volume_density_aee"].iloc[0]))
    assert "morph" in notes
    assert "morph.volume_density_aee" in notes["undefined"]


def test_rounding_a_smoothed_integer_image_is_not_blamed_on_the_image():
    image, mask = _blob()  # whole numbers
    row = radiomix.extract(image, mask, spacing=(3.0, 1.0, 1.0), features__families=["stat"],
                           interpolation={"spacing": [2, 2, 2], "round_intensities": True},
                           preprocess={"smoothing_sigma_mm": 1.0})
    assert "interpolation.round_intensities" not in row.attrs["provenance"]["notes"]


@pytest.mark.parametrize(("data", "named"), [
    ({"features": {"families": ["stat"]}, "ivh": {"method": "fbs", "bin_width": 0.1}}, "ivh"),
    ({"features": {"families": ["stat"]}, "discretisation": {"method": "fbs", "bin_width": 5}},
     "discretisation"),
    ({"response_maps": {"families": ["glcm"]}}, "response_maps.families"),
    ({"features": {"families": ["stat"], "glcm_distance": 2}}, "features.glcm_distance"),
    ({"preprocess": {"normalise_region": "image"}},
     "preprocess.normalise_region (preprocess.normalise is none)"),
])
def test_values_no_computed_family_reads_are_named(data, named):
    """Re-check (tester 23i): values of families not computed were recorded in the
    provenance, and changed the settings hash, as if they had been used."""
    assert settings_from_dict(data).unread_values() == [named]


def test_defaults_and_presets_have_no_unread_value():
    from radiomix.settings.loader import PRESETS, load_preset

    assert settings_from_dict({}).unread_values() == []
    assert {n: load_preset(n).unread_values() for n in PRESETS} == {n: [] for n in PRESETS}


def test_unread_values_are_named_in_the_provenance():
    image, mask = _blob()
    row = radiomix.extract(image, mask, spacing=(2.0, 2.0, 2.0), features__families=["stat"],
                           ivh={"method": "fbs", "bin_width": 0.1})
    assert row.attrs["provenance"]["notes"]["settings"].startswith(
        "ivh set, but no computed family or step reads it")
