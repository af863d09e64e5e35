"""Eighth outside round: image files whose header says something the readers ignore."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.errors import InputError
from radiomix.io import image as io_image


def _nrrd(path: Path, units: str | None) -> Path:
    """A small raw NRRD written by SimpleITK, with a ``space units`` line added."""
    img = sitk.GetImageFromArray(np.arange(60, dtype=np.int16).reshape(3, 4, 5))
    img.SetSpacing((0.8, 0.8, 2.5))
    sitk.WriteImage(img, str(path), useCompression=False)
    raw = path.read_bytes()
    end = raw.index(b"\n\n") + 2
    head = raw[:end].decode()
    if units is not None:
        head = head.replace("space origin:", f"space units: {units}\nspace origin:")
    path.write_bytes(head.encode() + raw[end:])
    return path


@pytest.mark.parametrize(("units", "first"), [('"cm" "cm" "cm"', "cm"), ('"m" "m" "m"', "m"),
                                              ('"mm" "mm" "um"', "um")])
def test_a_nrrd_in_other_units_than_millimetres_is_refused(tmp_path, units, first):
    """ITK reads every NRRD spacing as millimetres whatever ``space units`` says: a file in
    centimetres gave volumes 1000 times too small with exit 0."""
    path = _nrrd(tmp_path / "i.nrrd", units)
    with pytest.raises(InputError, match=rf"i[.]nrrd gives its spacing in '{first}' \(space "
                                         r"units: .*ITK ignores the unit"):
        io_image.read_image(path)


@pytest.mark.parametrize("units", [None, '"mm" "mm" "mm"', '"millimeters" "mm" ""'])
def test_a_nrrd_in_millimetres_is_read(tmp_path, units):
    img = io_image.read_image(_nrrd(tmp_path / "i.nrrd", units))
    assert img.GetSpacing() == pytest.approx((0.8, 0.8, 2.5))
    assert int(sitk.GetArrayViewFromImage(img).sum()) == sum(range(60))


def _enhanced_ct(path: Path, frames: int = 3) -> Path:
    """A minimal enhanced (multi-frame) CT object written with pydicom."""
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2.1"  # Enhanced CT Image Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "CT"
    ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = 4, 5
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation, ds.SamplesPerPixel = 1, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = np.zeros((frames, 4, 5), np.int16).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return path


def test_an_enhanced_multiframe_image_is_named_as_one(tmp_path):
    """An enhanced CT (one file of 30 frames) got "no DICOM image slices found (a file is
    read as DICOM when it has the 'DICM' prefix or a .dcm suffix)" for its folder, though
    the file has both, and "a single DICOM file; pass the folder" for the file itself."""
    path = _enhanced_ct(tmp_path / "series" / "enhanced.dcm")
    for given in (path.parent, path):
        with pytest.raises(InputError, match=r"enhanced[.]dcm.* is a multi-frame \(enhanced\) "
                                             r"DICOM image of 3 frames; .*convert it first"):
            io_image.read_volume(given)
