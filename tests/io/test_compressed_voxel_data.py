"""Compressed MetaImage and NRRD voxel data, and NIfTI voxel offsets (outside tester U,
round 20).

ITK reads a damaged compressed stream without an error: a compressed ``.mha`` with four
bytes flipped gave an MR ROI mean of 1841 for 326 (MetaIO only prints "Uncompress
failed"), a gzip NRRD a maximum of 29 953 for 592 (no word at all). A truncated one was
said as "No such file or directory". A single-file NIfTI whose ``vox_offset`` lies inside
its 352-byte header is read by ITK from byte 348: every voxel shifted by one along x.
"""

from __future__ import annotations

import bz2
import gzip
import struct
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.errors import InputError
from radiomix.io import load_image, read_volume


@pytest.fixture
def volume():
    """An MR-like image stored as uint16 (a range with no no-data guard to trip)."""
    return np.random.default_rng(20).integers(0, 1800, size=(7, 12, 15)).astype(np.uint16)


def _write(path, array, *, compress):
    writer = sitk.ImageFileWriter()
    writer.SetFileName(str(path))
    writer.SetUseCompression(compress)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((0.8, 0.8, 2.5))
    writer.Execute(image)
    return path


def _stream_file(path):
    """The file that holds the compressed stream and the stream's first byte in it."""
    if path.suffix == ".mhd":
        return path.with_suffix(".zraw"), 0
    data = path.read_bytes()
    if path.suffix == ".nrrd":
        return path, data.index(b"\n\n") + 2
    return path, data.index(b"ElementDataFile = LOCAL\n") + len(b"ElementDataFile = LOCAL\n")


@pytest.mark.parametrize("suffix", [".mha", ".mhd", ".nrrd"])
def test_an_intact_compressed_file_is_read_as_itk_reads_it(tmp_path, volume, suffix):
    path = _write(tmp_path / f"img{suffix}", volume, compress=True)
    stream, start = _stream_file(path)
    assert stream.read_bytes()[start:start + 1] in (b"\x78", b"\x1f")  # zlib or gzip
    assert np.array_equal(sitk.GetArrayFromImage(load_image(path)), volume)


@pytest.mark.parametrize("suffix", [".mha", ".mhd", ".nrrd"])
@pytest.mark.parametrize("where", [0.3, 0.7, 0.95])
def test_a_corrupt_compressed_stream_is_refused(tmp_path, volume, suffix, where):
    path = _write(tmp_path / f"img{suffix}", volume, compress=True)
    stream, start = _stream_file(path)
    data = bytearray(stream.read_bytes())
    k = start + int((len(data) - start) * where)
    for j in range(k, k + 4):
        data[j] ^= 0x55
    stream.write_bytes(bytes(data))
    # ITK reads it without an error, into other voxels (or garbage after the damage)
    with pytest.raises(InputError, match=r"compressed stream cannot be decoded|truncated"):
        load_image(path)


@pytest.mark.parametrize("suffix", [".mha", ".mhd", ".nrrd"])
@pytest.mark.parametrize("cut", [1, 8, 300])
def test_a_truncated_compressed_stream_is_named_truncated(tmp_path, volume, suffix, cut):
    path = _write(tmp_path / f"img{suffix}", volume, compress=True)
    stream, _ = _stream_file(path)
    stream.write_bytes(stream.read_bytes()[:-cut])
    with pytest.raises(InputError, match=r"is truncated: its compressed stream ends before"):
        load_image(path)


def test_a_compressed_stream_of_another_length_is_refused(tmp_path, volume):
    path = _write(tmp_path / "img.nrrd", volume, compress=True)
    head, sep, _ = path.read_bytes().partition(b"\n\n")
    path.write_bytes(head + sep + gzip.compress(volume[:-1].tobytes()))  # one slice short
    with pytest.raises(InputError, match=r"holds [\d,]+ bytes, fewer than the [\d,]+ its "):
        load_image(path)


def _bzip2_nrrd(path, array):
    ny, nx = array.shape[1:]
    header = (
        "NRRD0004\ntype: uint16\ndimension: 3\nspace: left-posterior-superior\n"
        f"sizes: {nx} {ny} {array.shape[0]}\n"
        "space directions: (0.8,0,0) (0,0.8,0) (0,0,2.5)\nendian: little\n"
        "encoding: bzip2\nspace origin: (0,0,0)\n\n"
    )
    path.write_bytes(header.encode() + bz2.compress(array.astype("<u2").tobytes()))
    return path


def test_a_bzip2_nrrd_is_refused_by_name(tmp_path, volume):
    # ITK's NRRD reader has no bzip2: refused with its words, never read as something else
    path = _bzip2_nrrd(tmp_path / "img.nrrd", volume)
    with pytest.raises(InputError, match=r"img\.nrrd is bzip2-encoded, which ITK's NRRD "
                                         r"reader cannot read: save it again with gzip"):
        load_image(path)


def _nifti_with_offset(path, array, offset):
    sitk.WriteImage(sitk.GetImageFromArray(array), str(path))
    data = bytearray(path.read_bytes())
    assert struct.unpack("<f", data[108:112])[0] == 352.0
    data[108:112] = struct.pack("<f", float(offset))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("offset", ["nan", "inf", "-inf"])
def test_a_nifti_vox_offset_that_is_no_number_is_refused(tmp_path, volume, offset):
    path = _nifti_with_offset(tmp_path / "img.nii", volume, float(offset))
    with pytest.raises(InputError, match=r"gives vox_offset -?(nan|inf), not a byte position"):
        read_volume(path)


@pytest.mark.parametrize("offset", [0, 100, 348, 351])
def test_a_nifti_vox_offset_inside_its_header_is_refused(tmp_path, volume, offset):
    path = _nifti_with_offset(tmp_path / "img.nii", volume, offset)
    itk = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    assert not np.array_equal(itk, volume)  # ITK reads from byte max(offset, 348)
    with pytest.raises(InputError, match=rf"vox_offset {offset}, inside its 352-byte header"):
        read_volume(path)


def test_a_nifti_vox_offset_of_352_is_read(tmp_path, volume):
    path = _nifti_with_offset(tmp_path / "img.nii", volume, 352)
    assert np.array_equal(read_volume(path).array, volume)


def test_the_cli_refuses_a_corrupt_compressed_image_with_one_line(tmp_path, volume):
    image = _write(tmp_path / "img.mha", volume, compress=True)
    mask = np.zeros(volume.shape, np.uint8)
    mask[2:5, 3:9, 4:11] = 1
    _write(tmp_path / "mask.mha", mask, compress=True)
    stream, start = _stream_file(image)
    data = bytearray(stream.read_bytes())
    k = start + int((len(data) - start) * 0.5)
    data[k : k + 4] = bytes(b ^ 0x55 for b in data[k : k + 4])
    stream.write_bytes(bytes(data))
    out = tmp_path / "f.csv"
    run = subprocess.run(
        [sys.executable, "-c", "from radiomix.cli import main; main()", "extract", str(image),
         str(tmp_path / "mask.mha"), "--out", str(out)],
        capture_output=True, text=True, check=False)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "img.mha" in lines[0]
    assert "corrupt" in lines[0]
    assert "Traceback" not in run.stderr
    assert not out.exists()


def _header_edit(path, old, new):
    data = path.read_bytes()
    head_end = data.index(b"ElementDataFile")
    head = data[:head_end]
    assert old.encode() in head
    path.write_bytes(head.replace(old.encode(), new.encode()) + data[head_end:])


def test_a_wrong_compressed_data_size_is_refused(tmp_path, volume):
    # outside tester Q: ITK inflates CompressedDataSize bytes only; half of them gave a CT
    # ROI mean of 29.16 for 59.02 with exit 0
    path = _write(tmp_path / "img.mha", volume, compress=True)
    stream, start = _stream_file(path)
    held = stream.stat().st_size - start
    _header_edit(path, f"CompressedDataSize = {held}\n", f"CompressedDataSize = {held // 2}\n")
    # what ITK returns here is not asserted: past the inflated half its buffer holds whatever
    # memory it was given (on one CI machine, a freed copy of the very same image)
    with pytest.raises(InputError, match=rf"CompressedDataSize = {held // 2}, but its "):
        load_image(path)


def test_local_compressed_data_without_its_size_is_refused(tmp_path, volume):
    path = _write(tmp_path / "img.mha", volume, compress=True)
    stream, start = _stream_file(path)
    held = stream.stat().st_size - start
    _header_edit(path, f"CompressedDataSize = {held}\n", "")
    with pytest.raises(InputError, match=r"compressed voxel data in its own file without "):
        load_image(path)


def test_a_detached_compressed_stream_needs_no_size(tmp_path, volume):
    path = _write(tmp_path / "img.mhd", volume, compress=True)
    text = path.read_text()
    path.write_text("".join(ln + "\n" for ln in text.splitlines()
                            if not ln.startswith("CompressedDataSize")))
    assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(path))), volume)
    assert np.array_equal(sitk.GetArrayFromImage(load_image(path)), volume)


@pytest.mark.parametrize(("key", "value"), [("ElementSpacing", "0.8 0.8"),
                                            ("DimSize", "15 12"),
                                            ("Offset", "0 0 0 0"),
                                            ("TransformMatrix", "1 0 0 1")])
def test_a_per_axis_key_of_another_length_is_named(tmp_path, volume, key, value):
    # ITK said "No such file or directory" for an ElementSpacing of two numbers (tester Q)
    path = _write(tmp_path / "img.mha", volume, compress=False)
    text = path.read_bytes()
    head_end = text.index(b"ElementDataFile")
    lines = text[:head_end].decode().splitlines(keepends=True)
    edited = [f"{key} = {value}\n" if ln.startswith(f"{key} =") else ln for ln in lines]
    assert edited != lines
    path.write_bytes("".join(edited).encode() + text[head_end:])
    with pytest.raises(InputError, match=rf"gives \d number\(s\) in {key} for NDims = 3"):
        load_image(path)


@pytest.mark.parametrize(("key", "other", "value"), [
    ("Offset", "Origin", "5 6 7"), ("TransformMatrix", "Rotation", "0 1 0 1 0 0 0 0 1")])
def test_two_names_of_one_field_with_different_values_are_refused(tmp_path, volume, key,
                                                                  other, value):
    path = _write(tmp_path / "img.mha", volume, compress=False)
    text = path.read_bytes()
    head_end = text.index(b"ElementDataFile")
    head = text[:head_end].decode()
    same = next(ln for ln in head.splitlines() if ln.startswith(f"{key} ="))
    agree = head + f"{other} = {same.split('=', 1)[1].strip()}\n"
    path.write_bytes(agree.encode() + text[head_end:])
    assert np.array_equal(sitk.GetArrayFromImage(load_image(path)), volume)  # they agree
    path.write_bytes((head + f"{other} = {value}\n").encode() + text[head_end:])
    with pytest.raises(InputError, match=rf"gives {key} = .* and {other} = {value}, two "
                                         r"names of one field"):
        load_image(path)
