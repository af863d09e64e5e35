"""NIfTI headers that do not describe their data, or that readers read differently.

Oracles: the headers are edited here by hand at the byte offsets of the NIfTI-1 standard
(``datatype`` 70, ``bitpix`` 72, ``xyzt_units`` 123; NIfTI-2: ``xyzt_units`` 500), and the
expected byte counts come from the arrays written. SimpleITK itself shows the silent
failure each check exists for (garbage voxels, a spacing scaled by 1000).
"""

from __future__ import annotations

import gzip
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from _data import require_data
from radiomix.errors import InputError
from radiomix.io import load_image, load_mask
from radiomix.io.image import read_volume
from radiomix.io.integrity import check_nifti, parse_nifti_header

SHAPE = (6, 9, 11)  # z, y, x
N = 6 * 9 * 11


@pytest.fixture
def volume() -> np.ndarray:
    return np.random.default_rng(3).normal(40.0, 30.0, size=SHAPE).astype(np.float32)


def _write(path: Path, array: np.ndarray) -> Path:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((1.0, 1.0, 2.0))
    sitk.WriteImage(image, str(path))
    return path


def _edit(path: Path, out: Path, **fields: int) -> Path:
    """Copy the NIfTI-1 file ``path`` to ``out`` with header fields changed."""
    gz = path.name.endswith(".gz")
    data = bytearray(gzip.decompress(path.read_bytes()) if gz else path.read_bytes())
    offsets = {"datatype": (70, "<h"), "bitpix": (72, "<h"), "xyzt_units": (123, "<B")}
    for key, value in fields.items():
        offset, fmt = offsets[key]
        struct.pack_into(fmt, data, offset, value)
    out.write_bytes(gzip.compress(bytes(data)) if out.name.endswith(".gz") else bytes(data))
    return out


# -- data longer than the header declares ---------------------------------------------------


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_float32_data_declared_int16_is_refused_not_read_as_garbage(tmp_path, volume, suffix):
    src = _write(tmp_path / f"a{suffix}", volume)
    bad = _edit(src, tmp_path / f"dt{suffix}", datatype=4, bitpix=16)
    garbage = sitk.GetArrayFromImage(sitk.ReadImage(str(bad)))  # the failure this guards
    assert garbage.dtype == np.int16
    assert garbage.shape == SHAPE
    name = re.escape(f"dt{suffix}")
    match = (rf"{name}: its voxel data holds {N * 4:,} bytes, more than "
             rf"the {N * 2:,} of its header's 11x9x6 voxels of datatype 4 \(int16, 16 bits\)")
    with pytest.raises(InputError, match=match):
        load_image(bad)
    with pytest.raises(InputError, match="voxel type or sizes do not match the data"):
        check_nifti(bad)  # the streaming check says the same


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_bytes_appended_after_the_voxel_data_are_refused(tmp_path, volume, suffix):
    src = _write(tmp_path / f"a{suffix}", volume)
    raw = gzip.decompress(src.read_bytes()) if suffix == ".nii.gz" else src.read_bytes()
    tail = tmp_path / f"tail{suffix}"
    data = raw + bytes(1024)
    tail.write_bytes(gzip.compress(data) if suffix == ".nii.gz" else data)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(tail))), volume)
    with pytest.raises(InputError, match=rf"holds {N * 4 + 1024:,} bytes, more than the "
                                         rf"{N * 4:,} of its header's"):
        load_image(tail)
    with pytest.raises(InputError, match=rf"holds {N * 4 + 1024:,} bytes, more than"):
        check_nifti(tail)
    ref = load_image(src)
    with pytest.raises(InputError, match="more than"):
        load_mask(tail, ref)  # masks take the same reader


def test_exact_length_still_reads(tmp_path, volume):
    for suffix in (".nii", ".nii.gz"):
        path = _write(tmp_path / f"a{suffix}", volume)
        assert check_nifti(path).data_bytes == N * 4
        np.testing.assert_array_equal(sitk.GetArrayFromImage(load_image(path)), volume)


def test_metaimage_and_nifti_share_one_length_check(tmp_path, volume):
    """The MetaImage check words its refusal as the NIfTI one (one implementation)."""
    path = tmp_path / "img.mha"
    writer = sitk.ImageFileWriter()
    writer.SetFileName(str(path))
    writer.SetUseCompression(False)
    writer.Execute(sitk.GetImageFromArray(volume))
    path.write_bytes(path.read_bytes() + bytes(8))
    with pytest.raises(InputError, match=r"img\.mha: its voxel data holds [\d,]+ bytes, more than "
                                         "the [\\d,]+ of its header's .*voxel type or sizes do "
                                         "not match the data"):
        load_image(path)


# -- spatial units ----------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "unit", "itk_factor"), [(1, "metres", 1000.0),
                                                          (3, "microns", 0.001)])
def test_metre_and_micron_units_are_refused(tmp_path, volume, code, unit, itk_factor):
    src = _write(tmp_path / "a.nii.gz", volume)
    bad = _edit(src, tmp_path / "u.nii.gz", xyzt_units=code | 8)  # + seconds
    spacing = sitk.ReadImage(str(bad)).GetSpacing()  # ITK rescales; nibabel would not
    assert spacing == pytest.approx((itk_factor, itk_factor, 2 * itk_factor))
    with pytest.raises(InputError, match=rf"u\.nii\.gz gives its voxel size \(1 x 1 x 2\) in "
                                         rf"{unit} .*readers disagree on this unit.*rewrite the "
                                         "header with the size in millimetres"):
        load_image(bad)
    with pytest.raises(InputError, match=f"in {unit}"):
        load_mask(bad, load_image(src))


@pytest.mark.parametrize("code", [0, 2, 2 | 8, 2 | 16, 4])
def test_unknown_and_millimetre_units_read_unchanged(tmp_path, volume, code):
    src = _write(tmp_path / "a.nii", volume)
    ok = _edit(src, tmp_path / "u.nii", xyzt_units=code)
    image = load_image(ok)
    assert image.GetSpacing() == (1.0, 1.0, 2.0)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), volume)


def test_nifti2_units_are_read_at_their_offset():
    header = bytearray(544)
    struct.pack_into("<i", header, 0, 540)
    header[4:12] = b"n+2\0\r\n\x1a\n"
    struct.pack_into("<hh", header, 12, 16, 32)
    struct.pack_into("<8q", header, 16, 3, 4, 4, 4, 1, 1, 1, 1)
    struct.pack_into("<8d", header, 104, 1, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into("<q", header, 168, 544)
    assert parse_nifti_header(bytes(header), name="n2.nii").dims == (4, 4, 4)
    struct.pack_into("<i", header, 500, 1)  # metres
    with pytest.raises(InputError, match=r"n2\.nii gives its voxel size .* in metres"):
        parse_nifti_header(bytes(header), name="n2.nii")


# -- voxel types ------------------------------------------------------------------------------


@pytest.mark.parametrize(("datatype", "bitpix", "kind"), [
    (1, 1, "binary"), (1536, 128, "float128"), (2048, 256, "complex256"),
    (0, 8, "unknown"), (9999, 8, "not a NIfTI datatype code"),
])
def test_unsupported_datatypes_get_one_line_before_itk(tmp_path, volume, capfd, datatype,
                                                       bitpix, kind):
    src = _write(tmp_path / "a.nii.gz", volume)
    bad = _edit(src, tmp_path / "bin.nii.gz", datatype=datatype, bitpix=bitpix)
    capfd.readouterr()
    with pytest.raises(InputError) as err:
        load_image(bad)
    message = str(err.value)
    assert f"bin.nii.gz has the unsupported NIfTI datatype {datatype} ({kind})" in message
    assert "uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32, float64" in message
    assert "\n" not in message
    assert "ITK" not in message
    out, errs = capfd.readouterr()
    assert "** ERROR" not in out + errs  # the NIfTI C library was never reached


def test_bitpix_contradicting_the_datatype_is_refused(tmp_path, volume):
    src = _write(tmp_path / "a.nii", volume)
    bad = _edit(src, tmp_path / "b.nii", bitpix=16)  # float32 data, bitpix 16
    with pytest.raises(InputError, match=r"declares datatype 16 \(float32, 32 bits a voxel\) "
                                         "but bitpix 16"):
        load_image(bad)


# -- the real data still reads ----------------------------------------------------------------


def test_every_nifti_file_of_the_data_folder_still_reads():
    root = require_data()
    files = sorted(root.glob("sts/nifti/*/*/*.nii.gz"))
    files += sorted(root.glob("ibsi1/**/*.nii*")) + sorted(root.glob("ibsi2/**/*.nii*"))
    assert len(files) > 100
    for path in files:
        volume = read_volume(path)
        assert volume.array.ndim == 3, path
