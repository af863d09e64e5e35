"""The NIfTI geometry of radiomix.io.nifti_geometry against SimpleITK's own reading.

SimpleITK (ITK's NiftiImageIO) is the oracle: for every header where ``itk_geometry``
gives an answer, ITK must read the same spacing, origin and direction, bit for bit; where
ITK refuses a header, ``itk_geometry`` must not answer. Headers are generated for every
branch of ITK's choice (no transform, qform only, sform only, both, alike or not,
orthonormal or skewed, scanner-anatomical or other codes), both byte orders, unit codes,
intents and dimensionalities; the common kinds must be answered (the fast path is used).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _data import require_data
from radiomix.io.nifti_geometry import itk_geometry


def _header(
    *,
    order: str,
    dim0: int,
    pixdim: tuple[float, float, float, float],
    qcode: int,
    scode: int,
    quat: tuple[float, ...],
    srow: np.ndarray,
    units: int,
    intent: int,
) -> bytes:
    """A NIfTI-1 single-file header (348 bytes + 4 extension bytes), int16 2 x 3 x 4."""
    h = bytearray(352)

    def put(offset: int, fmt: str, values: list[float] | list[int]) -> None:
        arr = np.asarray(values, dtype=order + fmt)
        h[offset : offset + arr.nbytes] = arr.tobytes()

    put(0, "i4", [348])
    dims = [dim0, 2, 3, 4, 1, 1, 1, 1]
    put(40, "i2", dims)
    put(68, "i2", [intent, 4, 16])  # intent_code, datatype int16, bitpix
    put(76, "f4", [*pixdim, 0.0, 0.0, 0.0, 0.0])
    put(108, "f4", [352.0, 1.0, 0.0])  # vox_offset, scl_slope, scl_inter
    h[123] = units
    put(252, "i2", [qcode, scode])
    put(256, "f4", list(quat))
    put(280, "f4", list(np.asarray(srow, dtype=np.float64).ravel()))
    h[344:348] = b"n+1\x00"
    return bytes(h)


def _itk(header: bytes, folder: Path, order: str) -> tuple | None:
    """(spacing, origin, direction) as SimpleITK reads the file, or None if it refuses."""
    path = folder / "g.nii"
    data = np.arange(24, dtype=order + "i2").tobytes()
    path.write_bytes(header + data)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return None
    return reader.GetSpacing(), reader.GetOrigin(), reader.GetDirection()


def _rotation(q: np.ndarray) -> np.ndarray:
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([
        [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
        [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
        [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
    ])  # fmt: skip


finite = st.floats(-1.0, 1.0, allow_nan=False)


@st.composite
def headers(draw: st.DrawFn) -> tuple[bytes, str, bool]:
    """(header, byte order, whether itk_geometry must answer)."""
    order = draw(st.sampled_from(["<", ">"]))
    qcode = draw(st.sampled_from([0, 1, 1, 2, 3, 4]))
    scode = draw(st.sampled_from([0, 1, 1, 2, 3, 4]))
    qfac = draw(st.sampled_from([1.0, -1.0, 0.0]))
    spacing = [draw(st.floats(0.25, 5.0, width=32)) for _ in range(3)]
    quat = np.array([draw(st.floats(0.0, 1.0)), draw(finite), draw(finite), draw(finite)])
    if draw(st.booleans()):
        quat[0] = draw(st.sampled_from([0.0, 1e-9]))  # 180° rotations: the special case
    if np.linalg.norm(quat) < 1e-3:
        quat = np.array([1.0, 0.0, 0.0, 0.0])
    quat /= np.linalg.norm(quat)
    b, c, d = (float(np.float32(v)) for v in quat[1:])
    offset = [draw(st.floats(-400.0, 400.0, width=32)) for _ in range(3)]
    rot = _rotation(np.array([quat[0], b, c, d]))
    if qfac < 0:
        rot[:, 2] *= -1
    kind = draw(st.sampled_from(["same", "noise", "other", "skew"]))
    if kind == "other":
        rot = _rotation(np.array([draw(finite) + 1.5, draw(finite), draw(finite), draw(finite)]))
    affine = rot * np.asarray(spacing)
    if kind == "noise":
        affine = affine * (1.0 + draw(st.sampled_from([1e-8, 1e-6, 1e-5, 1e-4, 1e-3])))
    if kind == "skew":
        affine[0, 1] += draw(st.floats(0.01, 0.3)) * spacing[1]
    srow = np.column_stack([affine, offset])
    if draw(st.booleans()):
        srow[:, 3] += draw(st.sampled_from([1e-6, 1e-3, 1.0]))
    units = draw(st.sampled_from([0, 2, 10, 2, 10, 1, 3]))
    intent = draw(st.sampled_from([0, 0, 1002, 1007]))
    dim0 = draw(st.sampled_from([3, 3, 3, 4]))
    header = _header(
        order=order, dim0=dim0, pixdim=(qfac, *spacing), qcode=qcode, scode=scode,
        quat=(b, c, d, *offset), srow=srow, units=units, intent=intent,
    )  # fmt: skip
    common = (
        dim0 == 3
        and units in (0, 2, 10)
        and intent in (0, 1002)
        and (
            (scode == 0 and qcode > 0)
            or (scode == 1 and kind in ("same", "other"))
            or (qcode == 0 and scode == 0)
        )
    )
    return header, order, common


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(headers())
def test_geometry_equals_simpleitk_bit_for_bit(
    tmp_path: Path, case: tuple[bytes, str, bool]
) -> None:
    header, order, common = case
    ours = itk_geometry(header)
    itk = _itk(header, tmp_path, order)
    if common:
        assert ours is not None, "a common header must take the fast path"
    if ours is None:
        return
    assert itk is not None, "ITK refuses a header that itk_geometry answered"
    spacing, origin, direction = itk
    assert ours.spacing == spacing
    assert ours.origin == origin
    assert ours.direction == direction


@pytest.mark.data
def test_every_nifti_file_of_the_data_folder() -> None:
    files = sorted(require_data().rglob("*.nii*"))
    assert len(files) >= 8
    for path in files:
        raw = path.read_bytes()
        header = gzip.decompress(raw)[:352] if path.name.endswith(".gz") else raw[:352]
        ours = itk_geometry(header)
        assert ours is not None, f"{path} did not take the fast path"
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        reader.ReadImageInformation()
        assert (ours.spacing, ours.origin, ours.direction) == (
            reader.GetSpacing(), reader.GetOrigin(), reader.GetDirection()
        ), path


@pytest.mark.parametrize(
    "change",
    ["short", "bad_magic", "sizeof", "nan_pixdim", "zero_pixdim", "metres", "vector", "4d"],
)
def test_headers_left_to_itk(change: str) -> None:
    base: dict = {
        "order": "<", "dim0": 3, "pixdim": (1.0, 1.0, 1.0, 2.0), "qcode": 1, "scode": 1,
        "quat": (0.0, 0.0, 0.0, 1.0, 2.0, 3.0), "units": 2, "intent": 0,
        "srow": np.array([[1.0, 0, 0, 1], [0, 1.0, 0, 2], [0, 0, 2.0, 3]]),
    }  # fmt: skip
    assert itk_geometry(_header(**base)) is not None
    if change == "nan_pixdim":
        base["pixdim"] = (1.0, float("nan"), 1.0, 2.0)
    elif change == "zero_pixdim":
        base["pixdim"] = (1.0, 0.0, 1.0, 2.0)
    elif change == "metres":
        base["units"] = 1
    elif change == "vector":
        base["intent"] = 1007
    elif change == "4d":
        base["dim0"] = 4
    header = _header(**base)
    if change == "short":
        header = header[:300]
    elif change == "bad_magic":
        header = header[:344] + b"abc\x00" + header[348:]
    elif change == "sizeof":
        header = b"\x00\x00\x00\x00" + header[4:]
    assert itk_geometry(header) is None


def test_other_simpleitk_versions_leave_every_header_to_itk(monkeypatch, tmp_path) -> None:
    """With a SimpleITK outside the versions whose ITK rules are reproduced, no header is
    answered here, and the file is still read exactly as SimpleITK reads it."""
    from radiomix.io import image as io_image
    from radiomix.io import nifti_geometry

    base: dict = {
        "order": "<", "dim0": 3, "pixdim": (1.0, 0.8, 0.8, 2.0), "qcode": 1, "scode": 1,
        "quat": (0.0, 0.0, 0.0, 1.0, 2.0, 3.0), "units": 2, "intent": 0,
        "srow": np.array([[0.8, 0, 0, 1], [0, 0.8, 0, 2], [0, 0, 2.0, 3]]),
    }  # fmt: skip
    header = _header(**base)
    assert itk_geometry(header) is not None
    path = tmp_path / "v.nii"
    path.write_bytes(header + np.arange(24, dtype="<i2").tobytes())
    monkeypatch.setattr(nifti_geometry, "ITK_RULES_SIMPLEITK", ((1, 0), (2, 0)))
    nifti_geometry._itk_rules_apply.cache_clear()
    try:
        assert itk_geometry(header) is None
        vol = io_image.read_volume(path)
        ref = sitk.ReadImage(str(path))
        assert (vol.spacing, vol.origin, vol.direction) == (
            ref.GetSpacing(), ref.GetOrigin(), ref.GetDirection()
        )
        assert np.array_equal(vol.array, sitk.GetArrayViewFromImage(ref))
    finally:
        monkeypatch.undo()
        nifti_geometry._itk_rules_apply.cache_clear()
    assert itk_geometry(header) is not None
