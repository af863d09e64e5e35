"""Sixth outside round, damaged inputs: what passed every check and changed the numbers."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from _data import require_data
from radiomix.errors import InputError
from radiomix.extraction import extract


def _relabelled(tmp_path, datatype: int, *, swap: bool = False):
    """STS_002's int16 CT with its header's datatype replaced (same width) or its voxel
    bytes swapped: the data length is unchanged, so no length check can tell."""
    folder = require_data("sts", "nifti", "STS_002", "ct")
    data = bytearray(gzip.decompress((folder / "image.nii.gz").read_bytes()))
    assert struct.unpack_from("<h", data, 70)[0] == 4  # int16
    struct.pack_into("<h", data, 70, datatype)
    if swap:
        offset = int(struct.unpack_from("<f", data, 108)[0])
        voxels = np.frombuffer(bytes(data[offset:]), dtype="<i2").byteswap()
        data[offset:] = voxels.tobytes()
    path = tmp_path / "image.nii"
    path.write_bytes(bytes(data))
    return path, folder / "mask.nii.gz"


@pytest.mark.parametrize(("datatype", "swap", "message"), [
    (512, False, r"holds values from 0 to 65535, beyond what a CT holds"),
    (4, True, r"has a median of -?\d+ in the ROI, outside the Hounsfield scale"),
])
def test_a_ct_whose_voxel_type_is_misread_is_refused(tmp_path, datatype, swap, message):
    """int16 relabelled uint16 (mean 6087 instead of 59) and byte-swapped int16 (mean
    10 995) passed every check with exit 0; declared CT, their values tell."""
    image, mask = _relabelled(tmp_path, datatype, swap=swap)
    extract(image, mask, settings="ibsi-C")  # undeclared: nothing tells (as any reader)
    with pytest.raises(InputError, match=rf"image, declared CT \(modality: CT\), {message}"):
        extract(image, mask, settings="ibsi-C", modality="CT")


def test_a_real_ct_passes_the_ct_check():
    folder = require_data("sts", "nifti", "STS_002", "ct")
    a = extract(folder / "image.nii.gz", folder / "mask.nii.gz", settings="ibsi-C",
                modality="CT")
    b = extract(folder / "image.nii.gz", folder / "mask.nii.gz", settings="ibsi-C")
    assert a.features == b.features
