"""Damaged image files are refused before SimpleITK reads them as zeros.

Oracles: the files are cut, gzip-wrapped or given NaN here by hand (``gzip``, byte slicing),
and the expected voxel counts come from the arrays written; SimpleITK itself shows the
silent failure each check exists for (missing voxels and NaN read as 0).
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st

from _data import require_data
from radiomix.errors import InputError
from radiomix.io import load_image, load_mask
from radiomix.io.integrity import check_nifti


def _write(path, array, spacing=(1.0, 1.0, 2.0)):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    sitk.WriteImage(image, str(path))
    return path


@pytest.fixture
def volume():
    return np.random.default_rng(4).normal(40.0, 30.0, size=(6, 9, 11)).astype(np.float32)


def test_truncated_sts_ct_was_read_as_zeros_and_is_now_refused(tmp_path):
    src = require_data("sts", "nifti", "STS_008", "ct", "image.nii.gz")
    cut = tmp_path / "t.nii.gz"
    cut.write_bytes(src.read_bytes()[:100_000])
    silent = sitk.GetArrayFromImage(sitk.ReadImage(str(cut)))  # the failure this guards
    full = sitk.GetArrayFromImage(sitk.ReadImage(str(src)))
    assert silent.shape == full.shape
    assert not np.array_equal(silent, full)
    with pytest.raises(InputError, match=r"t\.nii\.gz is truncated: its gzip stream ends"):
        load_image(cut)
    load_image(src)  # the complete file passes


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.9, 0.999])
def test_any_cut_of_a_gzip_nifti_is_refused(tmp_path, volume, fraction):
    data = _write(tmp_path / "a.nii.gz", volume).read_bytes()
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(InputError, match="truncated"):
        load_image(cut)


def test_uncompressed_nifti_short_of_its_declared_size(tmp_path, volume):
    data = _write(tmp_path / "a.nii", volume).read_bytes()
    declared = volume.size * 4
    (tmp_path / "cut.nii").write_bytes(data[:-1000])
    with pytest.raises(
        InputError,
        match=rf"declares 11x9x6 voxels of 32 bits \({declared:,} bytes from offset 352\), "
        rf"but the file holds {declared - 1000:,} data bytes",
    ):
        load_image(tmp_path / "cut.nii")


def test_complete_gzip_of_a_truncated_nifti(tmp_path, volume):
    data = _write(tmp_path / "a.nii", volume).read_bytes()
    path = tmp_path / "b.nii.gz"
    path.write_bytes(gzip.compress(data[: 352 + 100 * 4]))  # a valid stream, too little data
    with pytest.raises(InputError, match="the file holds 400 data bytes"):
        load_image(path)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float_nifti_refused_before_any_cast(tmp_path, volume, suffix, bad):
    volume[3, 4, 5] = bad
    volume[0, 0, 0] = bad
    path = _write(tmp_path / f"a{suffix}", volume)
    assert np.isfinite(sitk.GetArrayFromImage(sitk.ReadImage(str(path)))).all()  # read as 0
    with pytest.raises(InputError, match="holds 2 NaN/infinite voxel values"):
        load_image(path)


def test_float64_nifti_nan_and_mask_nan(tmp_path, volume):
    arr = volume.astype(np.float64)
    arr[1, 1, 1] = np.nan
    with pytest.raises(InputError, match="holds 1 NaN"):
        load_image(_write(tmp_path / "a.nii.gz", arr))
    ref = load_image(_write(tmp_path / "ok.nii.gz", volume))
    mask = np.zeros(volume.shape, np.float32)
    mask[2, 2, 2] = np.nan
    with pytest.raises(InputError, match="holds 1 NaN"):
        load_mask(_write(tmp_path / "m.nii.gz", mask), ref)


def test_intact_files_read_unchanged(tmp_path, volume):
    for suffix in (".nii", ".nii.gz"):
        path = _write(tmp_path / f"a{suffix}", volume)
        layout = check_nifti(path)
        assert layout.dims == (11, 9, 6)
        assert layout.bitpix == 32
        np.testing.assert_array_equal(sitk.GetArrayFromImage(load_image(path)), volume)
    ints = (volume * 10).astype(np.int16)
    path = _write(tmp_path / "i.nii.gz", ints)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(load_image(path)), ints)


def test_big_endian_nifti_header_is_read(tmp_path, volume):
    """A NIfTI-1 written big-endian by hand: the header parser follows sizeof_hdr's order."""
    import struct

    hdr = bytearray(352)
    struct.pack_into(">i", hdr, 0, 348)
    struct.pack_into(">8h", hdr, 40, 3, 11, 9, 6, 1, 1, 1, 1)
    struct.pack_into(">hh", hdr, 70, 16, 32)
    struct.pack_into(">8f", hdr, 76, 1, 1, 1, 2, 1, 1, 1, 1)
    struct.pack_into(">f", hdr, 108, 352.0)
    hdr[344:348] = b"n+1\0"
    path = tmp_path / "be.nii"
    path.write_bytes(bytes(hdr) + volume.astype(">f4").tobytes())
    assert check_nifti(path).dims == (11, 9, 6)
    volume[2, 2, 2] = np.nan
    path.write_bytes(bytes(hdr) + volume.astype(">f4").tobytes())
    with pytest.raises(InputError, match="holds 1 NaN"):
        check_nifti(path)


def test_empty_and_non_image_files(tmp_path, volume):
    (tmp_path / "zero.nii.gz").write_bytes(b"")
    with pytest.raises(InputError, match=r"zero\.nii\.gz is empty \(0 bytes\)"):
        load_image(tmp_path / "zero.nii.gz")
    (tmp_path / "text.nii.gz").write_text("not an image\n")
    with pytest.raises(InputError, match="not a valid gzip-compressed NIfTI"):
        load_image(tmp_path / "text.nii.gz")
    (tmp_path / "text.nii").write_text("not an image\n")
    with pytest.raises(InputError, match="shorter than a NIfTI header"):
        load_image(tmp_path / "text.nii")
    (tmp_path / "text.nrrd").write_text("not an image\n")
    with pytest.raises(InputError, match=r"cannot read image file .*text\.nrrd"):
        load_image(tmp_path / "text.nrrd")
    ref = load_image(_write(tmp_path / "ok.nii.gz", volume))
    (tmp_path / "zero_mask.nii.gz").write_bytes(b"")
    with pytest.raises(InputError, match=r"mask file .* is empty"):
        load_mask(tmp_path / "zero_mask.nii.gz", ref)


def test_four_d_images(tmp_path, volume):
    two = np.stack([volume, volume + 1])  # (t, z, y, x)
    image = sitk.JoinSeries([sitk.GetImageFromArray(v) for v in two])
    sitk.WriteImage(image, str(tmp_path / "two.nii.gz"))
    with pytest.raises(InputError, match=r"is 4D with 2 volumes.*extract the one to use"):
        load_image(tmp_path / "two.nii.gz")
    one = sitk.JoinSeries([sitk.GetImageFromArray(volume)])
    sitk.WriteImage(one, str(tmp_path / "one.nii.gz"))
    got = load_image(tmp_path / "one.nii.gz")
    assert got.GetDimension() == 3
    np.testing.assert_array_equal(sitk.GetArrayFromImage(got), volume)


def test_two_d_image(tmp_path):
    sitk.WriteImage(sitk.GetImageFromArray(np.ones((5, 6), np.float32)), str(tmp_path / "s.nrrd"))
    with pytest.raises(InputError, match=r"is 2D .* needs a 3D volume"):
        load_image(tmp_path / "s.nrrd")


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(*(st.integers(1, 7) for _ in range(3))),
    dtype=st.sampled_from(["uint8", "int16", "float32", "float64"]),
    compressed=st.booleans(),
    cut=st.floats(0.0, 1.0, exclude_max=True),
)
def test_every_prefix_of_a_nifti_is_refused_and_the_whole_file_accepted(
    tmp_path_factory, shape, dtype, compressed, cut
):
    """Property: the complete file passes; any strict prefix of it is refused."""
    folder = tmp_path_factory.mktemp("prop")
    array = (np.arange(np.prod(shape)).reshape(shape) % 100).astype(dtype)
    path = _write(folder / ("a.nii.gz" if compressed else "a.nii"), array)
    assert check_nifti(path).dims == shape[::-1]
    data = path.read_bytes()
    short = folder / path.name.replace("a.", "short.")
    short.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(InputError):
        check_nifti(short)


def _damaged_header(path, out, *, pixdim=None, srow=None, qcode=None):
    """A copy of an uncompressed NIfTI-1 file with header fields changed by hand."""
    import struct

    data = bytearray(path.read_bytes())
    if pixdim is not None:
        index, value = pixdim
        struct.pack_into("<f", data, 76 + 4 * index, value)
    if qcode is not None:
        struct.pack_into("<h", data, 252, qcode)
    if srow is not None:
        struct.pack_into("<h", data, 254, 1)  # sform_code: the sform is declared
        index, value = srow
        struct.pack_into("<f", data, 280 + 4 * index, value)
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("qcode", [0, 1])
@pytest.mark.parametrize(("axis", "value"), [(3, 0.0), (3, float("nan")), (1, -0.5),
                                             (2, float("inf"))])
def test_a_spacing_that_is_not_a_positive_number_is_refused(tmp_path, volume, axis, value,
                                                            qcode):
    good = _write(tmp_path / "good.nii", volume)
    bad = _damaged_header(good, tmp_path / "bad.nii", pixdim=(axis, value), qcode=qcode)
    if not (value != value or value == float("inf")):  # ITK's silent replacement, shown
        assert sitk.ReadImage(str(bad)).GetSpacing()[axis - 1] > 0
    with pytest.raises(InputError, match=rf"bad\.nii gives a voxel spacing of .* along "
                                         rf"{'xyz'[axis - 1]} \(pixdim\[{axis}\]"):
        load_image(bad)
    with pytest.raises(InputError, match="voxel spacing"):
        load_mask(bad, reference=load_image(good))


def test_a_declared_sform_with_nan_is_refused(tmp_path, volume):
    good = _write(tmp_path / "good.nii", volume)
    bad = _damaged_header(good, tmp_path / "bad.nii", srow=(3, float("nan")))
    with pytest.raises(InputError, match="sform with a non-finite value"):
        load_image(bad)


def test_a_sheared_mha_grid_is_refused(tmp_path, volume):
    image = sitk.GetImageFromArray(volume)
    image.SetDirection((1.0, 0.0, 0.0, 0.5, 1.0, 0.0, 0.0, 0.0, 1.0))
    sitk.WriteImage(image, str(tmp_path / "sheared.mha"))
    assert sitk.ReadImage(str(tmp_path / "sheared.mha")).GetDirection()[3] == 0.5
    with pytest.raises(InputError, match=r"sheared\.mha has direction cosines that are not "
                                         "orthonormal"):
        load_image(tmp_path / "sheared.mha")
    with pytest.raises(InputError, match="not orthonormal"):
        load_mask(tmp_path / "sheared.mha", reference=load_image(_write(tmp_path / "g.nii",
                                                                         volume)))


@pytest.mark.parametrize("damage", ["short_raw", "no_raw", "short_mha"])
def test_a_metaimage_with_missing_or_short_voxel_data_is_named(tmp_path, volume, damage):
    suffix = ".mha" if damage == "short_mha" else ".mhd"
    path = tmp_path / f"img{suffix}"
    sitk.WriteImage(sitk.GetImageFromArray(volume), str(path))  # uncompressed
    raw = tmp_path / "img.raw"
    if damage == "short_raw":
        raw.write_bytes(raw.read_bytes()[: raw.stat().st_size // 2])
        match = r"voxel data img\.raw holds [\d,]+ bytes, fewer than the [\d,]+ its header"
    elif damage == "no_raw":
        raw.unlink()
        match = r"names its voxel data img\.raw, which is not in"
    else:
        path.write_bytes(path.read_bytes()[:-100])
        match = r"img\.mha: its voxel data holds [\d,]+ bytes, fewer than"
    with pytest.raises(InputError, match=match):
        load_image(path)


def test_an_intact_metaimage_pair_is_read(tmp_path, volume):
    sitk.WriteImage(sitk.GetImageFromArray(volume), str(tmp_path / "img.mhd"))
    assert np.array_equal(sitk.GetArrayFromImage(load_image(tmp_path / "img.mhd")), volume)


@pytest.mark.parametrize("suffix", [".mhd", ".nrrd"])
def test_a_header_that_does_not_describe_its_voxel_data_is_refused(tmp_path, volume, suffix):
    path = tmp_path / f"img{suffix}"
    writer = sitk.ImageFileWriter()
    writer.SetFileName(str(path))
    writer.SetUseCompression(False)
    writer.Execute(sitk.GetImageFromArray(volume))
    assert np.array_equal(sitk.GetArrayFromImage(load_image(path)), volume)
    nx = volume.shape[2]
    if suffix == ".mhd":
        text = path.read_text()
        bad = text.replace(f"DimSize = {nx} ", f"DimSize = {nx - 1} ")
        assert bad != text
        path.write_text(bad)
    else:
        data = path.read_bytes()
        head, sep, body = data.partition(b"\n\n")
        bad = head.replace(f"sizes: {nx} ".encode(), f"sizes: {nx - 1} ".encode())
        assert bad != head
        path.write_bytes(bad + sep + body)
    assert sitk.ReadImage(str(path)).GetSize()[0] == nx - 1  # ITK reads it scrambled
    with pytest.raises(InputError, match=r"holds [\d,]+ bytes, more than the [\d,]+ of its "):
        load_image(path)


def test_a_nifti2_file_is_named_as_such(tmp_path, volume):
    import struct

    header = bytearray(540)
    struct.pack_into("<i", header, 0, 540)
    header[4:12] = b"n+2\x00\r\n\x1a\n"
    struct.pack_into("<hh", header, 12, 16, 32)  # float32
    struct.pack_into("<8q", header, 16, 3, *volume.shape[::-1], 1, 1, 1, 1)
    struct.pack_into("<8d", header, 104, 1.0, 1.0, 1.0, 2.0, 0, 0, 0, 0)
    struct.pack_into("<q", header, 168, 544)
    struct.pack_into("<d", header, 176, 1.0)
    path = tmp_path / "two.nii"
    path.write_bytes(bytes(header) + b"\x00" * 4 + volume.astype("<f4").tobytes())
    with pytest.raises(InputError, match=r"two\.nii is a NIfTI-2 file, which this SimpleITK "
                                         "cannot read; save it as NIfTI-1"):
        load_image(path)


@pytest.mark.parametrize(("suffix", "field", "bad"), [
    (".mhd", "ElementSpacing = 1 1 2", "ElementSpacing = 0 1 2"),
    (".mhd", "ElementSpacing = 1 1 2", "ElementSpacing = nan 1 2"),
    (".nrrd", "space directions: (1,0,0)", "space directions: (0,0,0)"),
])
def test_a_metaimage_or_nrrd_spacing_of_zero_is_named(tmp_path, volume, suffix, field, bad):
    """ITK refuses these headers in its own words ("Refusing to change spacing"); the
    message says what is wrong with the file: a voxel spacing that is not positive."""
    path = tmp_path / f"img{suffix}"
    writer = sitk.ImageFileWriter()
    writer.SetFileName(str(path))
    writer.SetUseCompression(False)
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing((1.0, 1.0, 2.0))
    writer.Execute(image)
    if suffix == ".mhd":  # the header file alone (the voxels are in img.raw)
        text = path.read_text()
        assert field in text
        path.write_text(text.replace(field, bad))
    else:
        head, sep, body = path.read_bytes().partition(b"\n\n")
        assert field.encode() in head
        path.write_bytes(head.replace(field.encode(), bad.encode()) + sep + body)
    with pytest.raises(InputError, match=r"img\.(mhd|nrrd) gives a voxel spacing of '.*' in "
                                         r"its header; a spacing must be a positive number") as e:
        load_image(path)
    # the header's own text, not ITK's partial reading (NaN was shown as [0.98, 0, 0])
    assert bad.replace("ElementSpacing = ", "").replace("space directions: ", "") in str(e.value)
