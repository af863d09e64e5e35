"""A NIfTI header whose sform gives other voxel sizes than its pixdim is refused.

ITK (and radiomix, which reads a file as ITK does) takes the spacing from ``pixdim``;
nibabel, FSL and others take it from a declared sform. STS_002's CT and mask with their
sform scaled by two read as the original with exit 0 before (the sform was ignored), while
another reader finds eight times the volume: a number that depends on the reader. Headers
whose sform agrees with pixdim (to 1e-3), rotated or shifted sforms and a declared but empty
sform still read as SimpleITK reads them.
"""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from _data import require_data
from radiomix.errors import InputError
from radiomix.io import load_image


def _edited(src: Path, out: Path, edit) -> Path:
    """``src`` (a .nii.gz) written uncompressed to ``out`` with its sform rows edited."""
    raw = bytearray(gzip.decompress(src.read_bytes()))
    assert struct.unpack_from("<i", raw, 0)[0] == 348
    if struct.unpack_from("<h", raw, 254)[0] == 0:
        struct.pack_into("<h", raw, 254, 1)
    srow = np.array(struct.unpack_from("<12f", raw, 280), dtype=float).reshape(3, 4)
    struct.pack_into("<12f", raw, 280, *edit(srow).ravel())
    out.write_bytes(raw)
    return out


def _case(tmp_path: Path, edit) -> tuple[Path, Path]:
    folder = require_data("sts", "nifti", "STS_002", "ct")
    return (_edited(folder / "image.nii.gz", tmp_path / "image.nii", edit),
            _edited(folder / "mask.nii.gz", tmp_path / "mask.nii", edit))


def _scaled(factor: float):
    def edit(srow):
        srow[:, :3] *= factor
        return srow

    return edit


def test_an_sform_of_twice_the_voxel_size_is_refused(tmp_path):
    image, mask = _case(tmp_path, _scaled(2.0))
    with pytest.raises(InputError, match=r"image\.nii gives two voxel sizes in its header: "
                                         r"pixdim 0\.976562 x 0\.976562 x 3\.27 mm, its sform "
                                         r"1\.95312 x 1\.95312 x 6\.54 mm"):
        load_image(image)
    done = subprocess.run(
        [sys.executable, "-m", "radiomix.cli", "extract", str(image), str(mask), "--out",
         str(tmp_path / "f.csv")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "correct the header" in done.stderr
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.parametrize("edit", [
    _scaled(1.0005),  # within 1e-3 of pixdim
    lambda s: np.c_[s[:, :3], s[:, 3] + 7.5],  # another position
    lambda s: np.c_[np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]) @ s[:, :3],
                    s[:, 3]],  # rotated in-plane, same column lengths
    lambda s: np.zeros_like(s),  # declared but empty: ITK reads the qform
], ids=["rounding", "shifted", "rotated", "empty"])
def test_an_sform_that_agrees_with_pixdim_reads_as_simpleitk(tmp_path, edit):
    image, _ = _case(tmp_path, edit)
    got = load_image(image)
    ref = sitk.ReadImage(str(image))
    assert got.GetSpacing() == ref.GetSpacing()
    assert got.GetOrigin() == ref.GetOrigin()
    assert got.GetDirection() == ref.GetDirection()
