"""Eighteenth outside round, damaged and unusual inputs read with wrong numbers and exit 0.

- F1: a CT whose PixelPaddingValue (no data outside the circular reconstructed field of
  view, -3024 HU as GE writes it) covered part of the tumour was read as -3024 HU tissue
  (mean -184.8 instead of 59.0 HU); the fill without the tag, too.

Real DICOM of the sarcoma data (STS_001's CT and RTSTRUCT, copied and edited with pydicom).
"""

from __future__ import annotations

import numpy as np
import pytest

from _data import dicom_copy
from radiomix.case import load_case
from radiomix.errors import InputError
from radiomix.extraction import extract

STAT = {"features": {"families": ["stat"]}}
WITH_PEAK = {"features": {"families": ["stat", "loc"]}}
ROI = "GTV_Mass_CT"


@pytest.fixture(scope="module")
def roi_columns(tmp_path_factory):
    """First and last image column (x index) of STS_001's CT ROI, and the column count."""
    folder, rs = dicom_copy(tmp_path_factory.mktemp("plain"), "CT", lambda ds: None)
    case = load_case(folder, rs, roi_name=ROI)
    cols = np.flatnonzero(case.mask.array.any(axis=(0, 1)))
    return int(cols[0]), int(cols[-1]), case.mask.array.shape[2]


def _pad_from(column: int, *, tag: bool = True, limit: int | None = None):
    """Stored pixels from ``column`` on set to the padding value (-3024, or spread down to
    ``limit``), declared in PixelPaddingValue (and PixelPaddingRangeLimit) when ``tag``."""
    def edit(ds):
        pixels = ds.pixel_array.copy()
        band = pixels[:, column:]
        if limit is None:
            band[...] = -3024
        else:  # values spread over the declared range
            band[...] = np.linspace(-3024, limit, band.size).round().reshape(band.shape)
        pixels[:, column:] = band
        ds.PixelData = pixels.astype(ds.pixel_array.dtype).tobytes()
        if tag:
            ds.add_new(0x00280120, "SS", -3024)
            if limit is not None:
                ds.add_new(0x00280121, "SS", limit)
    return edit


@pytest.mark.parametrize("limit", [None, -2000])
def test_padding_inside_the_roi_is_refused(tmp_path, roi_columns, limit):
    first, last, _ = roi_columns
    folder, rs = dicom_copy(tmp_path, "CT", _pad_from((first + last) // 2, limit=limit))
    with pytest.raises(InputError, match=r"of the ROI's \d+ voxels hold the series' pixel "
                                         r"padding \(PixelPaddingValue\), -3024"):
        extract(folder, rs, roi_name=ROI, settings=STAT)


def test_a_ct_fill_without_the_tag_inside_the_roi_is_refused(tmp_path, roi_columns):
    first, last, _ = roi_columns
    folder, rs = dicom_copy(tmp_path, "CT", _pad_from((first + last) // 2, tag=False))
    with pytest.raises(InputError, match=r"of the ROI's \d+ voxels hold the CT's fill value "
                                         r"below air, -3024"):
        extract(folder, rs, roi_name=ROI, settings=STAT)


def test_padding_the_local_peak_reads_is_refused(tmp_path, roi_columns):
    """Next to the ROI: the 1 cm³ sphere of the local intensity peak averages it in."""
    _, last, n = roi_columns
    if last + 2 >= n:
        pytest.skip("the ROI reaches the image's last column")
    folder, rs = dicom_copy(tmp_path, "CT", _pad_from(last + 2))
    with pytest.raises(InputError, match=r"voxel\(s\) of no data \(-3024: pixel padding"):
        extract(folder, rs, roi_name=ROI, settings=WITH_PEAK)
    # statistics alone read nothing beyond the ROI: the same values as without the padding
    plain, rs0 = dicom_copy(tmp_path / "plain", "CT", lambda ds: None)
    got = extract(folder, rs, roi_name=ROI, settings=STAT).features
    want = extract(plain, rs0, roi_name=ROI, settings=STAT).features
    assert got == pytest.approx(want, rel=1e-12)


def test_padding_far_from_the_roi_changes_nothing(tmp_path, roi_columns):
    _, last, n = roi_columns
    column = last + 15  # beyond the peak's sphere (6.2 mm) at this CT's spacing
    if column >= n:
        pytest.skip("no room beyond the ROI")
    folder, rs = dicom_copy(tmp_path, "CT", _pad_from(column))
    plain, rs0 = dicom_copy(tmp_path / "plain", "CT", lambda ds: None)
    got = extract(folder, rs, roi_name=ROI, settings=WITH_PEAK).features
    want = extract(plain, rs0, roi_name=ROI, settings=WITH_PEAK).features
    assert got == pytest.approx(want, rel=1e-9)


# -- F2: a MetaImage or NRRD header without a spacing ---------------------------------------


def _headers_without_spacing(tmp_path):
    """STS_002's CT and mask as .mhd/.raw and .nrrd, their spacing lines removed."""
    import SimpleITK as sitk

    from _data import sts_files

    out = {}
    for name, src in zip(("image", "mask"), sts_files("STS_002", "ct"), strict=True):
        img = sitk.ReadImage(str(src))
        for suffix in (".mhd", ".nrrd"):
            path = tmp_path / f"{name}{suffix}"
            sitk.WriteImage(img, str(path))  # .nrrd: raw-encoded, header and data in one file
            data = path.read_bytes()
            head, sep, body = data.partition(b"\n\n") if suffix == ".nrrd" else (data, b"", b"")
            kept = b"\n".join(line for line in head.split(b"\n") if not line.startswith(
                (b"ElementSpacing", b"space directions", b"spacings")))
            path.write_bytes(kept + sep + body)
            out[name, suffix] = path
    return out


@pytest.mark.parametrize("suffix", [".mhd", ".nrrd"])
def test_a_header_without_spacing_is_refused(tmp_path, suffix):
    """Read as 1 mm, STS_002's CT tumour had a volume of 17 090 instead of 53 295 mm³."""
    files = _headers_without_spacing(tmp_path)
    field = "ElementSpacing" if suffix == ".mhd" else '"space directions" or "spacings"'
    with pytest.raises(InputError, match=rf"image file image{suffix} gives no voxel spacing "
                                         rf"\(no {field} in its header\)"):
        extract(files["image", suffix], files["mask", suffix], settings=STAT)


# -- F3: a two-file image's voxel data file is part of its identity --------------------------


def test_a_header_is_hashed_with_its_data_file(tmp_path):
    import SimpleITK as sitk

    from _data import sts_files
    from radiomix.io.image import detached_data_files
    from radiomix.table import file_hash

    header = tmp_path / "image.mhd"
    sitk.WriteImage(sitk.ReadImage(str(sts_files("STS_002", "ct")[0])), str(header))
    data = detached_data_files(header)
    assert [p.name for p in data] == ["image.raw"]
    before = file_hash(header)
    raw = np.fromfile(data[0], dtype="<i2")
    (raw + 100).astype("<i2").tofile(data[0])
    assert file_hash(header) != before  # the header's own bytes did not change


def test_a_run_recomputes_a_case_whose_data_file_changed(tmp_path):
    """The tester's study: +100 HU written into STS_003's .raw, header unchanged; the re-run
    reused the case (mean 29.47 instead of 129.47), exit 0."""
    import pandas as pd
    import SimpleITK as sitk
    import yaml

    from _data import sts_files
    from radiomix.cohort import run_study
    from radiomix.io.image import detached_data_files

    data = tmp_path / "data"
    data.mkdir()
    for name, src in zip(("image", "mask"), sts_files("STS_003", "ct"), strict=True):
        sitk.WriteImage(sitk.ReadImage(str(src)), str(data / f"{name}.mhd"))
    (tmp_path / "manifest.csv").write_text(
        "patient_id,lesion_id,ct_image,ct_mask\nSTS_003,1,data/image.mhd,data/mask.mhd\n")
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({
        "name": "mhd", "manifest": "manifest.csv",
        "tags": {"ct": {"modality": "CT", "settings": STAT}}}))
    first = run_study(study, tmp_path / "out")
    mean = pd.read_parquet(first.features_path)["ct.original.stat.mean"].iloc[0]
    raw = detached_data_files(data / "image.mhd")[0]
    (np.fromfile(raw, dtype="<i2") + 100).astype("<i2").tofile(raw)
    again = run_study(study, tmp_path / "out")
    assert (again.n_computed, again.n_cached) == (1, 0)
    moved = pd.read_parquet(again.features_path)["ct.original.stat.mean"].iloc[0]
    assert moved == pytest.approx(mean + 100.0, rel=1e-12)


def test_a_broken_link_in_a_series_folder_is_refused(tmp_path):
    """A dangling link (a slice moved away) was skipped without a word; a junk file in the
    same place is refused."""
    from radiomix.errors import DicomError
    from radiomix.io.dicom import read_series

    folder, _ = dicom_copy(tmp_path, "CT", lambda ds: None)
    (folder / "zz_gone.dcm").symlink_to(tmp_path / "nowhere.dcm")
    with pytest.raises(DicomError, match=r"zz_gone\.dcm in .* is a link to a file that does not "
                                         r"exist"):
        read_series(folder)


def _slice_files_header(folder, kind: str):
    """STS_002's CT as one raw file per slice, named by a header of ``kind``: ``mhd-pattern``,
    ``nhdr-pattern`` or ``nhdr-list``."""
    import SimpleITK as sitk

    from _data import sts_files

    image = sitk.ReadImage(str(sts_files("STS_002", "ct")[0]))
    a = sitk.GetArrayFromImage(image).astype("<i2")
    for k in range(a.shape[0]):
        a[k].tofile(folder / f"sl{k:03d}.raw")
    sp, o = image.GetSpacing(), image.GetOrigin()
    z = a.shape[0]
    if kind == "mhd-pattern":
        header = folder / "img.mhd"
        header.write_text(
            "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
            f"TransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = {o[0]} {o[1]} {o[2]}\n"
            f"ElementSpacing = {sp[0]} {sp[1]} {sp[2]}\n"
            f"DimSize = {a.shape[2]} {a.shape[1]} {z}\nElementType = MET_SHORT\n"
            f"ElementDataFile = sl%03d.raw 0 {z - 1} 1\n")
        return header
    files = (f"sl%03d.raw 0 {z - 1} 1" if kind == "nhdr-pattern" else
             "LIST\n" + "\n".join(f"sl{k:03d}.raw" for k in range(z)))
    header = folder / "img.nhdr"
    header.write_text(
        f"NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\n"
        f"sizes: {a.shape[2]} {a.shape[1]} {z}\n"
        f"space directions: ({sp[0]},0,0) (0,{sp[1]},0) (0,0,{sp[2]})\n"
        f"endian: little\nencoding: raw\nspace origin: ({o[0]},{o[1]},{o[2]})\n"
        f"data file: {files}\n")
    return header


@pytest.mark.parametrize("kind", ["mhd-pattern", "nhdr-pattern", "nhdr-list"])
def test_a_header_of_slice_files_is_read_and_hashed_with_them(tmp_path, kind):
    """A numbered pattern was hashed without its files (a slice raised by 500 HU kept the
    hash, and a run reused the case); a NRRD LIST was refused as a missing file."""
    import SimpleITK as sitk

    from _data import sts_files
    from radiomix.io import load_image
    from radiomix.io.image import detached_data_files
    from radiomix.table import file_hash

    header = _slice_files_header(tmp_path, kind)
    reference = sitk.GetArrayFromImage(sitk.ReadImage(str(sts_files("STS_002", "ct")[0])))
    assert np.array_equal(sitk.GetArrayFromImage(load_image(header)), reference)
    data = detached_data_files(header)
    assert [p.name for p in data] == [f"sl{k:03d}.raw" for k in range(reference.shape[0])]
    before = file_hash(header)
    edited = np.fromfile(data[10], dtype="<i2") + 500
    edited.astype("<i2").tofile(data[10])
    assert file_hash(header) != before


def test_a_few_ct_fill_voxels_in_the_roi_are_refused(tmp_path):
    """90 ROI voxels of -3024 HU (fewer than a fill's 100 elsewhere) were read as tissue:
    mean 42.93 instead of 59.02 HU."""
    import SimpleITK as sitk

    from _data import sts_files

    image_path, mask_path = sts_files("STS_002", "ct")
    image = sitk.ReadImage(str(image_path))
    a = sitk.GetArrayFromImage(image)
    roi = np.flatnonzero(sitk.GetArrayFromImage(sitk.ReadImage(str(mask_path))).ravel() > 0)
    flat = a.ravel().copy()
    flat[roi[:90]] = -3024
    out = sitk.GetImageFromArray(flat.reshape(a.shape))
    out.CopyInformation(image)
    sitk.WriteImage(out, str(tmp_path / "ct.nii.gz"))
    with pytest.raises(InputError, match=r"90 of the ROI's \d+ voxels hold values of -2000 HU "
                                         r"or below, which no tissue or air takes"):
        extract(tmp_path / "ct.nii.gz", mask_path, settings=STAT, modality="CT")
    # undeclared, the values are not known to be HU: read as given
    assert extract(tmp_path / "ct.nii.gz", mask_path, settings=STAT).features


# -- round 18b (tester F): ring settings that could not work ---------------------------------


def test_ring_radii_without_a_ring_are_refused(tmp_path):
    """ring_outer_mm with roi: tumour wrote tumour features with exit 0."""
    from typer.testing import CliRunner

    from _data import sts_files
    from radiomix.cli import app

    image, mask = sts_files("STS_002", "ct")
    config = tmp_path / "s.yaml"
    config.write_text("preprocess: {roi: tumour, ring_outer_mm: 5.0}\n")
    res = CliRunner().invoke(app, ["extract", str(image), str(mask), "--config", str(config),
                                   "--out", str(tmp_path / "f.csv")])
    assert res.exit_code == 2, res.output
    assert "ring_outer_mm / ring_inner_mm describe a peritumoral ring, but preprocess.roi " \
           "is tumour" in res.output
    config.write_text("preprocess: {roi: ring, ring_outer_mm: 5.0, ring_clip: organ}\n")
    res = CliRunner().invoke(app, ["extract", str(image), str(mask), "--config", str(config),
                                   "--out", str(tmp_path / "f.csv")])
    assert res.exit_code == 2, res.output  # a missing option: usage, as its converse is
    assert "pass --organ-mask PATH" in res.output
    assert not (tmp_path / "f.csv").exists()


def test_a_few_fill_voxels_beside_the_roi_are_refused_where_read(tmp_path):
    """Round 18 (tester I): 89 voxels of -3024 HU just outside the ROI, fewer than a fill's
    100, were interpolated into its values (mean 40.68 instead of 57.11), exit 0."""
    import SimpleITK as sitk
    from scipy import ndimage as ndi

    from _data import sts_files

    image_path, mask_path = sts_files("STS_002", "ct")
    image = sitk.ReadImage(str(image_path))
    a = sitk.GetArrayFromImage(image)
    roi = sitk.GetArrayFromImage(sitk.ReadImage(str(mask_path))) > 0
    ring = ndi.binary_dilation(roi) & ~roi
    flat = a.ravel().copy()
    flat[np.flatnonzero(ring.ravel())[:60]] = -3024
    out = sitk.GetImageFromArray(flat.reshape(a.shape))
    out.CopyInformation(image)
    sitk.WriteImage(out, str(tmp_path / "ct.nii.gz"))
    interpolated = {"interpolation": {"spacing": [2.0, 2.0, 2.0]},
                    "features": {"families": ["stat"]}}
    with pytest.raises(InputError, match=r"60 voxel\(s\) of no data \(-2000 or below"):
        extract(tmp_path / "ct.nii.gz", mask_path, settings=interpolated, modality="CT")
    # without interpolation nothing beyond the ROI is read: the values of the clean image
    got = extract(tmp_path / "ct.nii.gz", mask_path, settings=STAT, modality="CT").features
    want = extract(image_path, mask_path, settings=STAT, modality="CT").features
    assert got == pytest.approx(want, rel=1e-12)


def test_extract_many_with_an_organ_clipped_ring_is_refused_up_front(tmp_path):
    """Round 18 (tester I): every case failed, exit 1, naming a manifest column and an option
    extract-many does not have."""
    from typer.testing import CliRunner

    from _data import sts_files
    from radiomix.cli import app

    image, mask = sts_files("STS_002", "ct")
    (tmp_path / "cases.csv").write_text(f"image,mask\n{image},{mask}\n")
    config = tmp_path / "s.yaml"
    config.write_text("preprocess: {roi: ring, ring_outer_mm: 5.0, ring_clip: organ}\n")
    res = CliRunner().invoke(app, ["extract-many", str(tmp_path / "cases.csv"), "--config",
                                   str(config), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "a table of cases does not carry" in " ".join(res.output.split())
