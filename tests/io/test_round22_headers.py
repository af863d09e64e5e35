"""Round 22 (outside tester c): geometry fields of NRRD and MetaImage headers that ITK reads
as 1 mm or 0 without a word, and masks that hold no labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from radiomix.check import select_label
from radiomix.errors import InputError
from radiomix.io import image as io_image

SPACING = (0.8, 0.9, 2.5)


def _written(path: Path) -> Path:
    img = sitk.GetImageFromArray(np.arange(60, dtype=np.int16).reshape(3, 4, 5))
    img.SetSpacing(SPACING)
    img.SetOrigin((10.0, -4.0, 7.5))
    sitk.WriteImage(img, str(path), useCompression=False)
    return path


def _edited(path: Path, edit: dict[str, str | None], *, sep: str) -> Path:
    """The header of a file SimpleITK wrote, with lines replaced (None: removed) or added."""
    raw = _written(path).read_bytes()
    end = raw.index(b"\n\n") + 2 if path.suffix == ".nrrd" else raw.index(b"ElementDataFile")
    lines = raw[:end].decode().rstrip("\n").split("\n")
    out = []
    for line in lines:
        key = line.split(sep)[0].strip()
        if key in edit:
            if edit[key] is not None:
                out.append(f"{key}{sep} {edit[key]}")
            continue
        out.append(line)
    out += [f"{k}{sep} {v}" for k, v in edit.items()
            if v is not None and not any(line.split(sep)[0].strip() == k for line in lines)]
    head = "\n".join(out) + ("\n\n" if path.suffix == ".nrrd" else "\n")
    path.write_bytes(head.encode() + raw[end:])
    return path


@pytest.mark.parametrize(("edit", "message"), [
    ({"space directions": "(nan,nan,nan) (0,0.9,0) (0,0,2.5)"},
     r"gives space directions = .*NaN or infinity is no position or direction"),
    ({"space directions": "none (0,0.9,0) (0,0,2.5)"},
     r"gives no spacing along its axis 0 \('none' in its space directions\); ITK would read "
     r"1 mm"),
    ({"space directions": "(0.8,0,0) (0,0.9,0) none"}, r"no spacing along its axis 2"),
    ({"space directions": None, "space origin": None, "space": None,
      "spacings": "0.8 nan 2.5"}, r"no spacing along its axis 1 \(spacings nan\)"),
    ({"space origin": "(nan,nan,nan)"}, r"gives space origin = '\(nan,nan,nan\)'"),
    ({"space origin": "(1,inf,2)"}, r"gives space origin"),
    ({"space directions": "(0.8,0,0) (0.9,0,0) (0,0,2.5)"},
     r"gives space directions = .*: two of its axes are parallel"),
])
def test_a_nrrd_grid_axis_without_a_number_is_refused(tmp_path, edit, message):
    """One axis of STS_002's CT with an unknown spacing was read as 1 mm: volume_voxels
    16 298 for 53 295 mm³ (the 3.27 mm slices); a NaN origin was read as 0."""
    path = _edited(tmp_path / "i.nrrd", edit, sep=":")
    with pytest.raises(InputError, match=r"i[.]nrrd (gives )?" + message):
        io_image.read_image(path)


def test_a_nrrd_non_grid_axis_may_have_no_spacing(tmp_path):
    """A leading axis of one sample (or of kind 'list') needs no spacing, as the NRRD format
    says; the grid's own axes are read as written."""
    raw = _written(tmp_path / "i.nrrd").read_bytes()
    end = raw.index(b"\n\n") + 2
    head = raw[:end].decode()
    head = (head.replace("dimension: 3", "dimension: 4").replace("sizes: 5 4 3", "sizes: 1 5 4 3")
            .replace("space directions: ", "space directions: none ")
            .replace("kinds: domain domain domain", "kinds: list domain domain domain"))
    (tmp_path / "i.nrrd").write_bytes(head.encode() + raw[end:])
    img = io_image.read_image(tmp_path / "i.nrrd")
    assert img.GetSpacing() == pytest.approx(SPACING)


@pytest.mark.parametrize(("edit", "field"), [
    ({"Offset": "nan nan nan"}, "Offset"),
    ({"TransformMatrix": "1 0 0 0 1 0 0 0 nan"}, "TransformMatrix"),
    ({"Offset": None, "Position": "0 inf 0"}, "Position"),
])
def test_a_metaimage_position_or_direction_without_a_number_is_refused(tmp_path, edit, field):
    """ITK read `Offset = nan nan nan` as the origin 0 (the phantom gave exit 0, a case a
    grid mismatch that advised --resample-mask); a NaN in TransformMatrix failed with the
    bare message '0 0 0'."""
    path = _edited(tmp_path / "i.mha", edit, sep=" =")
    with pytest.raises(InputError, match=rf"i[.]mha gives {field} = .*NaN or infinity is no "
                                         "position or direction"):
        io_image.read_image(path)


@pytest.mark.parametrize("suffix", [".nrrd", ".mha"])
def test_plain_headers_are_still_read(tmp_path, suffix):
    img = io_image.read_image(_written(tmp_path / f"i{suffix}"))
    assert img.GetSpacing() == pytest.approx(SPACING)
    assert img.GetOrigin() == pytest.approx((10.0, -4.0, 7.5))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_a_complex_mask_is_refused(dtype):
    """A complex NIfTI mask was read by its real part after the label check had read the
    complex values: `--label 0` took 223 479 background voxels with exit 0."""
    values = np.zeros((3, 4, 5), dtype=dtype)
    values[1, 1:3, 1:3] = 1j
    for label in (None, 0, 1):
        with pytest.raises(InputError, match=r"the mask m.nii holds complex\d+ voxels; a label "
                                             "mask needs integer"):
            select_label(values, label=label, name="m.nii")


def test_a_near_integer_mask_value_is_shown_with_its_difference():
    """'holds 2 non-integer values (e.g. 1)' named no difference from 1."""
    values = np.zeros((2, 2, 2))
    values[0, 0, :] = 1 + 1e-12
    with pytest.raises(InputError, match=r"2 non-integer values \(e\.g\. 1\.000000000001\)"):
        select_label(values, label=None)


@pytest.mark.parametrize(("suffix", "edit", "field"), [
    (".mha", {"TransformMatrix": "1 0 0 1 0 0 0 0 1"}, "TransformMatrix"),
    (".nrrd", {"measurement frame": "(nan,0,0) (0,1,0) (0,0,1)"}, "measurement frame"),
])
def test_degenerate_or_nan_direction_fields_are_named(tmp_path, suffix, edit, field):
    """A MetaImage TransformMatrix with two parallel rows failed with ITK's bare '0 0 1'; a
    NaN NRRD measurement frame with teem's parser message (tester 22h)."""
    path = _edited(tmp_path / f"i{suffix}", edit, sep=" =" if suffix == ".mha" else ":")
    with pytest.raises(InputError, match=rf"i\{suffix} gives {field} = "):
        io_image.read_image(path)
