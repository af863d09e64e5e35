"""Nineteenth outside round: inputs read with wrong numbers and exit 0, or misnamed.

- J1: a MetaImage header spelling its spacing key ``elementspacing`` passed the "no spacing"
  check (it compared keys in lower case), while ITK, which matches MetaImage keys case by
  case, read 1 mm: STS_031's PET tumour volume 4 762 instead of 465 708 mm³.
- J6: a negative MetaImage ElementSpacing was read by ITK as a flipped axis and only said as
  a direction mismatch with the mask (and, resampled, as a mask outside the image).
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from _data import run_cli
from radiomix.errors import InputError
from radiomix.extraction import extract

STAT = {"features": {"families": ["stat"]}}


def _pair(tmp_path, spacing_line: str):
    """An .mha image and mask (2 x 3 x 4 mm voxels) whose image header's spacing line is
    replaced by ``spacing_line``."""
    image = np.arange(6 * 7 * 8, dtype=np.int16).reshape(6, 7, 8)
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[2:4, 2:5, 2:6] = 1
    paths = []
    for name, array in (("image", image), ("mask", mask)):
        img = sitk.GetImageFromArray(array)
        img.SetSpacing((2.0, 3.0, 4.0))
        path = tmp_path / f"{name}.mha"
        sitk.WriteImage(img, str(path))
        paths.append(path)
    data = paths[0].read_bytes()
    head, sep, body = data.partition(b"ElementDataFile = LOCAL\n")
    lines = [spacing_line.encode() if line.startswith(b"ElementSpacing") else line
             for line in head.split(b"\n")]
    paths[0].write_bytes(b"\n".join(lines) + sep + body)
    return paths


@pytest.mark.parametrize("key", ["elementspacing", "ELEMENTSPACING", "elementsize"])
def test_a_spacing_key_in_another_case_is_refused(tmp_path, key):
    image, mask = _pair(tmp_path, f"{key} = 2 3 4")
    assert sitk.ReadImage(str(image)).GetSpacing() == (1.0, 1.0, 1.0)  # what ITK makes of it
    with pytest.raises(InputError, match=rf"spells its spacing key '{key}'; MetaImage keys are "
                                         "case-sensitive"):
        extract(image, mask, settings=STAT)


@pytest.mark.parametrize("value", ["-2 3 4", "2 0 4", "2 3 nan", "2 x 4"])
def test_a_spacing_that_is_not_a_positive_length_is_refused(tmp_path, value):
    image, mask = _pair(tmp_path, f"ElementSpacing = {value}")
    with pytest.raises(InputError, match=rf"gives a voxel spacing of '{value}' in its "
                                         "header; a spacing must be a positive number"):
        extract(image, mask, settings=STAT)


def test_a_negative_spacing_exits_1_naming_it(tmp_path):
    image, mask = _pair(tmp_path, "ElementSpacing = -2 3 4")
    proc = run_cli("extract", str(image), str(mask), "--out", str(tmp_path / "o.csv"))
    assert proc.returncode == 1, proc.stderr
    assert "gives a voxel spacing of '-2 3 4'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_written_spacing_is_read(tmp_path):
    image, mask = _pair(tmp_path, "ElementSpacing = 2 3 4")
    row = extract(image, mask, settings={"features": {"families": ["morph"]}})
    assert row.features["image.original.morph.volume_voxels"] == 24 * 24.0


# -- J2: a ring and the patient's other lesions in masks of their own -----------------------


def _two_lesions(folder):
    """A 2 mm image with a tumour (lesion 1) and a bright satellite 4 mm beside it (lesion
    2), one mask file each and one mask with both (labels 1 and 2)."""
    rng = np.random.default_rng(19)
    image = rng.integers(-60, 60, size=(24, 24, 24)).astype(np.int16)
    one = np.zeros(image.shape, dtype=np.uint8)
    one[8:16, 8:16, 6:12] = 1
    two = np.zeros(image.shape, dtype=np.uint8)
    two[9:15, 9:15, 14:18] = 1  # 2 voxels (4 mm) beyond lesion 1's x face
    image[two > 0] += 400
    files = {}
    for name, array in (("image", image), ("m1", one), ("m2", two), ("both", one + 2 * two)):
        img = sitk.GetImageFromArray(array)
        img.SetSpacing((2.0, 2.0, 2.0))
        files[name] = folder / f"{name}.nii.gz"
        sitk.WriteImage(img, str(files[name]))
    return image, one.astype(bool), two.astype(bool), files


def _ring_study(folder, rows):
    import csv

    import yaml

    with (folder / "manifest.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    doc = {"name": "rings", "manifest": "manifest.csv", "tags": {"ct": {"settings": {
        "features": {"families": ["stat"]},
        "preprocess": {"roi": "ring", "ring_outer_mm": 6.0}}}}}
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_a_ring_leaves_out_the_patients_other_lesion_in_its_own_mask_file(tmp_path):
    """Lesion 1's ring took in lesion 2 when each lesion had its own mask file (mean -2.00
    for -29.70 HU on STS_002's CT), though not when they were labels of one mask."""
    import pandas as pd
    from scipy import ndimage

    from radiomix.cohort import run_study

    image, one, two, files = _two_lesions(tmp_path)
    distance = ndimage.distance_transform_edt(~one, sampling=(2.0, 2.0, 2.0))
    ring = (distance > 0) & (distance <= 6.0) & ~two
    assert (((distance > 0) & (distance <= 6.0)) & two).sum() == 36  # the ring reaches it
    expected = float(image[ring].mean())

    (tmp_path / "sub").mkdir()
    apart = _ring_study(tmp_path, [
        {"patient_id": "P1", "lesion_id": "1", "ct_image": "image.nii.gz", "ct_mask": "m1.nii.gz"},
        # the same file spelt another way (tester N: the satellite was taken in again)
        {"patient_id": "P1", "lesion_id": "2", "ct_image": "sub/../image.nii.gz",
         "ct_mask": "m2.nii.gz"},
        # another patient's lesion on the same file is not this patient's: not left out
        {"patient_id": "P2", "lesion_id": "1", "ct_image": "image.nii.gz", "ct_mask": "m1.nii.gz"},
    ])
    table = pd.read_parquet(run_study(apart, tmp_path / "apart").features_path)
    mean = dict(zip(table.patient_id + "/" + table.lesion_id, table["ct.original.stat.mean"],
                    strict=True))
    assert mean["P1/1"] == pytest.approx(expected, rel=1e-12)
    alone = float(image[(distance > 0) & (distance <= 6.0)].mean())
    assert mean["P2/1"] == pytest.approx(alone, rel=1e-12)
    assert abs(alone - expected) > 10  # the satellite raises the ring's mean by 10.5

    labels = tmp_path / "labels"
    labels.mkdir()
    for f in files.values():
        (labels / f.name).write_bytes(f.read_bytes())
    together = _ring_study(labels, [
        {"patient_id": "P1", "lesion_id": "1", "ct_image": "image.nii.gz",
         "ct_mask": "both.nii.gz", "ct_label": 1},
        {"patient_id": "P1", "lesion_id": "2", "ct_image": "image.nii.gz",
         "ct_mask": "both.nii.gz", "ct_label": 2},
    ])
    table = pd.read_parquet(run_study(together, labels / "out").features_path)
    assert float(table["ct.original.stat.mean"].iloc[0]) == pytest.approx(expected, rel=1e-12)


def test_editing_the_other_lesions_mask_recomputes_the_ring(tmp_path):
    from radiomix.cohort import run_study

    _, _, two, files = _two_lesions(tmp_path)
    study = _ring_study(tmp_path, [
        {"patient_id": "P1", "lesion_id": "1", "ct_image": "image.nii.gz", "ct_mask": "m1.nii.gz"},
        {"patient_id": "P1", "lesion_id": "2", "ct_image": "image.nii.gz", "ct_mask": "m2.nii.gz"},
    ])
    first = run_study(study, tmp_path / "out")
    assert (first.n_computed, first.n_cached) == (2, 0)
    edited = two.copy()
    edited[9:15, 9:15, 18] = True  # lesion 2 grows by a slice
    img = sitk.GetImageFromArray(edited.astype(np.uint8))
    img.SetSpacing((2.0, 2.0, 2.0))
    sitk.WriteImage(img, str(files["m2"]))
    again = run_study(study, tmp_path / "out")
    assert (again.n_computed, again.n_cached) == (2, 0)  # lesion 1's ring, and lesion 2


# -- J5: no data that features read, not in the ROI's bounding box --------------------------


def _ct_pair(tmp_path, fill_at, name):
    """A 2 mm CT with a ROI of two 6-voxel cubes 12 voxels apart along x, and -3024 fill
    (a reconstruction's field-of-view fill) in the ``fill_at`` region."""
    rng = np.random.default_rng(5)
    image = rng.integers(-40, 80, size=(14, 14, 30)).astype(np.int16)
    image[:, :, :1] = -1000
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[4:10, 4:10, 2:8] = 1
    mask[4:10, 4:10, 20:26] = 1
    image[fill_at] = -3024
    paths = []
    for what, array in ((name, image), ("mask", mask)):
        img = sitk.GetImageFromArray(array)
        img.SetSpacing((2.0, 2.0, 2.0))
        path = tmp_path / f"{what}.nii.gz"
        sitk.WriteImage(img, str(path))
        paths.append(path)
    return paths


BETWEEN = np.s_[4:10, 4:10, 13:16]
"""Between the cubes: in the ROI's bounding box, 5 voxels (10 mm) from every ROI voxel."""


def test_no_data_in_the_bounding_box_but_beyond_every_reach_is_not_refused(tmp_path):
    """A CT whose fill came no closer than 10.8 mm to STS_002's ROI was refused as lying
    "within 6.2035 mm of the ROI": the bounding box was grown, not the ROI."""
    settings = {"features": {"families": ["stat", "loc"]}}  # the peak reads 6.2 mm around
    image, mask = _ct_pair(tmp_path, BETWEEN, "filled")
    got = extract(image, mask, settings=settings, modality="CT").features
    air = tmp_path / "air"
    air.mkdir()
    clean, _ = _ct_pair(air, np.s_[0:0], "clean")
    array = sitk.GetArrayFromImage(sitk.ReadImage(str(clean)))
    assert (sitk.GetArrayFromImage(sitk.ReadImage(str(image)))[BETWEEN] == -3024).all()
    assert not (array[BETWEEN] == -3024).any()
    want = extract(clean, mask, settings=settings, modality="CT").features
    assert got == want  # the fill is not read: the same numbers as without it


def test_no_data_within_reach_of_a_roi_voxel_is_refused(tmp_path):
    near = np.s_[4:10, 4:10, 10:12]  # 3 voxels (6 mm) beyond the first cube's x face
    image, mask = _ct_pair(tmp_path, near, "near")
    with pytest.raises(InputError, match=r"72 voxel\(s\) of no data \(-2000 or below.* lie "
                                         r"within 6\.2035 mm \(along each axis\) of the ROI"):
        extract(image, mask, settings={"features": {"families": ["stat", "loc"]}},
                modality="CT")


def test_no_data_in_a_peritumoral_ring_is_refused(tmp_path):
    """A 15 mm ring reaching a field-of-view fill 10.8 mm from STS_002's tumour took it in
    as tissue: stat.minimum -3024, mean -155.4, exit 0."""
    image, mask = _ct_pair(tmp_path, BETWEEN, "filled")
    ring = {"features": {"families": ["stat"]},
            "preprocess": {"roi": "ring", "ring_outer_mm": 12.0}}
    with pytest.raises(InputError, match=r"108 voxel\(s\) of no data .* lie in the "
                                         "peritumoral ring, whose features would read them"):
        extract(image, mask, settings=ring, modality="CT")
    small = {**ring, "preprocess": {"roi": "ring", "ring_outer_mm": 8.0}}  # stops short
    row = extract(image, mask, settings=small, modality="CT").features
    assert row["image.original.stat.minimum"] == -1000  # the air column at x = 0, no fill


# -- J4: a symmetric tie for the largest slice -------------------------------------------------


def _stored(tmp_path, name, image, mask, flip):
    """The image and mask as NIfTI, stored head first, or feet first (slices reversed, the
    slice axis' direction and the origin turned with them: the same image in the patient)."""
    paths = []
    for what, array in ((name, image), (f"{name}_mask", mask)):
        img = sitk.GetImageFromArray(array[::-1] if flip else array)
        img.SetSpacing((1.0, 1.0, 3.0))
        if flip:
            img.SetDirection((1, 0, 0, 0, 1, 0, 0, 0, -1))
            img.SetOrigin((0.0, 0.0, 3.0 * (array.shape[0] - 1)))
        path = tmp_path / f"{what}.nii.gz"
        sitk.WriteImage(img, str(path))
        paths.append(path)
    return paths


def test_a_symmetric_tie_for_the_largest_slice_does_not_follow_storage_order(tmp_path):
    """Areas [4, 12, 12, 4]: the two tied slices are equally near the centre with matching
    neighbours; the stored order chose between them (stat.mean 8.206 or 4.966)."""
    image = np.random.default_rng(4).integers(-90, -20, size=(6, 8, 8)).astype(np.int16)
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[1, 3:5, 3:5] = 1
    mask[2, 2:5, 2:6] = 1
    mask[3, 2:5, 2:6] = 1
    mask[4, 3:5, 3:5] = 1
    image[2] = 8
    image[3] = 5
    settings = {"preprocess": {"roi": "largest_slice"}, "dimensionality": "2d",
                "features": {"families": ["stat"]}}
    head = extract(*_stored(tmp_path, "head", image, mask, False), settings=settings)
    feet = extract(*_stored(tmp_path, "feet", image, mask, True), settings=settings)
    a = head.features["image.original.stat.mean"]
    b = feet.features["image.original.stat.mean"]
    assert a == b == 5.0  # the most superior (largest z) of the two: slice 3


# -- M1: a tag's declared modality is part of the case key ------------------------------------


def test_declaring_a_tags_modality_recomputes_its_cases(tmp_path):
    """`modality: CT` added between runs reused a case computed without the CT checks: a CT
    stored without its rescale intercept (ROI mean 1082.5 "HU") stayed in the table."""
    import csv

    import yaml

    from _data import sts_files
    from radiomix.cohort import run_study

    image, mask = sts_files("STS_002", "ct")
    img = sitk.ReadImage(str(image))
    shifted = sitk.GetImageFromArray(sitk.GetArrayFromImage(img).astype(np.int16) + 1024)
    shifted.CopyInformation(img)
    sitk.WriteImage(shifted, str(tmp_path / "ct.nii.gz"))
    with (tmp_path / "manifest.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([["patient_id", "lesion_id", "ct_image", "ct_mask"],
                                  ["STS_002", "1", "ct.nii.gz", str(mask)]])
    settings = {"features": {"families": ["stat"]}}
    for name, tag in (("plain", {"settings": settings}),
                      ("ct", {"modality": "CT", "settings": settings})):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(
            {"name": name, "manifest": "manifest.csv", "tags": {"ct": tag}}))
    first = run_study(tmp_path / "plain.yaml", tmp_path / "out")
    assert first.n_failed == 0
    again = run_study(tmp_path / "ct.yaml", tmp_path / "out")
    assert (again.n_cached, again.n_failed) == (0, 1)
    assert "declared CT (modality: CT), has no value below 0" in again.errors[0]["message"]


def test_no_data_a_ring_leaves_out_is_not_refused(tmp_path):
    """Tester N: fill in the gap inside ring_inner_mm (and fill an organ clip leaves out)
    was refused as lying "in the peritumoral ring"; the ring does not read it."""
    gap = np.s_[4:10, 4:10, 8:9]  # 1 voxel (2 mm) beyond the first cube's x face
    image, mask = _ct_pair(tmp_path, gap, "gap")
    ring = {"features": {"families": ["stat"]},
            "preprocess": {"roi": "ring", "ring_inner_mm": 4.0, "ring_outer_mm": 8.0}}
    got = extract(image, mask, settings=ring, modality="CT").features
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean, _ = _ct_pair(clean_dir, np.s_[0:0], "clean")
    assert got == extract(clean, mask, settings=ring, modality="CT").features
    inner = {**ring, "preprocess": {"roi": "ring", "ring_outer_mm": 8.0}}  # gap closed
    with pytest.raises(InputError, match="lie in the peritumoral ring"):
        extract(image, mask, settings=inner, modality="CT")


def test_a_metaimage_spacing_given_twice_is_refused(tmp_path):
    """Tester N: ElementSpacing 2 3 4 then 1 1 1: ITK read the last (volume 239 for
    17 172 mm3)."""
    image, mask = _pair(tmp_path, "ElementSpacing = 2 3 4\nElementSpacing = 1 1 1")
    assert sitk.ReadImage(str(image)).GetSpacing() == (1.0, 1.0, 1.0)
    with pytest.raises(InputError, match="gives ElementSpacing twice in its header, and ITK "
                                         "reads the last one"):
        extract(image, mask, settings=STAT)


def test_a_metaimage_spacing_after_its_data_file_line_is_named(tmp_path):
    image, mask = _pair(tmp_path, "ElementSpacing = 2 3 4")
    img = sitk.ReadImage(str(image))
    header = tmp_path / "detached.mhd"
    sitk.WriteImage(img, str(header))  # header and .raw
    text = header.read_text()
    line = next(t for t in text.splitlines() if t.startswith("ElementSpacing"))
    header.write_text(text.replace(line + "\n", "") + line + "\n")
    with pytest.raises(InputError, match="gives ElementSpacing after ElementDataFile, where a "
                                         "MetaImage header ends"):
        extract(header, mask, settings=STAT)


# -- M7: an output that cannot be written after the folder's check ----------------------------


@pytest.mark.parametrize("blocker", ["cases", "features.parquet"])
def test_a_run_that_cannot_write_its_files_says_so_in_one_line(tmp_path, blocker):
    """Tester M: a full disk, ``cases`` as a file, or ``features.parquet`` as a folder gave a
    Python traceback (and left a .tmp file among the cases)."""
    _two_lesions(tmp_path)
    study = _ring_study(tmp_path, [
        {"patient_id": "P1", "lesion_id": "1", "ct_image": "image.nii.gz",
         "ct_mask": "m1.nii.gz"}])
    out = tmp_path / "out"
    out.mkdir()
    if blocker == "cases":
        (out / "cases").write_text("not a folder")
    else:
        (out / "features.parquet").mkdir()
    proc = run_cli("run", str(study), "--out", str(out), "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "; free space on its disk, or choose another --out" in proc.stderr
    assert not list(out.rglob(".*.tmp*"))


def test_a_case_file_that_cannot_be_written_leaves_no_temporary_file(tmp_path):
    from radiomix.cohort import CaseStore

    store = CaseStore(tmp_path / "cases")
    store.path("k" * 32).mkdir()  # a folder where the case file goes: os.replace fails
    with pytest.raises(IsADirectoryError):
        store.save({"key": "k" * 32, "format": 1})
    assert not list((tmp_path / "cases").glob(".*.tmp"))
