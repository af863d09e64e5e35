"""The fast NIfTI reader against SimpleITK's own ``ReadImage`` (the oracle).

:func:`radiomix.io.image._read_file` reads a NIfTI file with one decompression and takes
ITK's geometry from the header alone; it must return exactly what ``sitk.ReadImage``
returns (origin, spacing, direction, size, pixel type and every voxel), on every NIfTI
file of the shared data and on hand-written headers: oblique quaternions with either
``qfac``, sform and qform agreeing or not, each code, sheared sforms, both byte orders,
intensity scaling (SimpleITK's route), NIfTI-2. Where ITK refuses a header, both refuse.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st

from _data import require_data
from radiomix.errors import InputError
from radiomix.io import image as io_image
from radiomix.io.volume import Volume

DTYPES = {
    "u1": 2,
    "i2": 4,
    "i4": 8,
    "f4": 16,
    "f8": 64,
    "i1": 256,
    "u2": 512,
    "u4": 768,
    "i8": 1024,
    "u8": 1280,
}


def assert_same_image(got: sitk.Image, ref: sitk.Image) -> None:
    assert got.GetSize() == ref.GetSize()
    assert got.GetPixelID() == ref.GetPixelID()
    assert got.GetOrigin() == ref.GetOrigin()
    assert got.GetSpacing() == ref.GetSpacing()
    assert got.GetDirection() == ref.GetDirection()
    assert np.array_equal(
        sitk.GetArrayViewFromImage(got), sitk.GetArrayViewFromImage(ref), equal_nan=True
    )


def read_both(path: Path) -> tuple[object, object]:
    """(radiomix, SimpleITK) results; an exception stands for a refusal."""
    try:
        got: object = io_image._read_file(path, what="image")
    except InputError as exc:
        got = exc
    if isinstance(got, Volume):  # the fast route's voxels and geometry, as a SimpleITK image
        got = got.to_sitk()
    try:
        ref: object = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        ref = exc
    return got, ref


def nifti1(
    array: np.ndarray,
    *,
    order: str = "<",
    pixdim: tuple[float, float, float] = (1.0, 1.0, 1.0),
    qfac: float = 1.0,
    quatern: tuple[float, float, float] = (0.0, 0.0, 0.0),
    qoffset: tuple[float, float, float] = (0.0, 0.0, 0.0),
    qform_code: int = 1,
    sform_code: int = 0,
    srow: np.ndarray | None = None,
    slope: float = 0.0,
    inter: float = 0.0,
) -> bytes:
    """A single-file NIfTI-1 image (header fields at their offsets in nifti1.h)."""
    z, y, x = array.shape
    head = bytearray(352)
    dtype = array.dtype.newbyteorder(order)
    code = DTYPES[f"{array.dtype.kind}{array.dtype.itemsize}"]
    struct.pack_into(order + "i", head, 0, 348)
    struct.pack_into(order + "8h", head, 40, 3, x, y, z, 1, 1, 1, 1)
    struct.pack_into(order + "hh", head, 70, code, array.dtype.itemsize * 8)
    struct.pack_into(order + "8f", head, 76, qfac, *pixdim, 0, 0, 0, 0)
    struct.pack_into(order + "fff", head, 108, 352.0, slope, inter)
    struct.pack_into(order + "B", head, 123, 2)  # xyzt_units: mm
    struct.pack_into(order + "hh", head, 252, qform_code, sform_code)
    struct.pack_into(order + "6f", head, 256, *quatern, *qoffset)
    rows = np.zeros((3, 4)) if srow is None else srow
    struct.pack_into(order + "12f", head, 280, *rows.ravel())
    head[344:348] = b"n+1\0"
    return bytes(head) + array.astype(dtype).tobytes()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.suffix == ".gz" else data)
    return path


@pytest.mark.data
def test_every_shared_nifti_file_reads_as_simpleitk_reads_it() -> None:
    """All NIfTI files of the shared data (sarcoma CT/MR/PET, IBSI), by the fast route."""
    files = sorted(require_data().rglob("*.nii*"))
    assert len(files) >= 8
    for path in files:
        assert io_image._read_nifti(path) is not None, f"{path} left the fast route"
        got, ref = read_both(path)
        assert isinstance(got, sitk.Image), path
        assert_same_image(got, ref)


quaternions = st.tuples(*(st.floats(-1.0, 1.0) for _ in range(3))).filter(
    lambda q: q[0] ** 2 + q[1] ** 2 + q[2] ** 2 <= 1.0
)


@settings(max_examples=80, deadline=None)
@given(
    quatern=quaternions,
    qfac=st.sampled_from([1.0, -1.0]),
    pixdim=st.tuples(*(st.sampled_from([0.4, 0.977, 1.0, 2.5, 5.0]) for _ in range(3))),
    qoffset=st.tuples(*(st.floats(-500.0, 500.0, width=32) for _ in range(3))),
    qform_code=st.sampled_from([0, 1, 2, 3, 4]),
    sform_code=st.sampled_from([0, 1, 2, 3, 4]),
    sform_kind=st.sampled_from(["zero", "same", "other", "shifted", "sheared", "rotated"]),
    dtype=st.sampled_from(sorted(DTYPES)),
    order=st.sampled_from("<>"),
    suffix=st.sampled_from([".nii", ".nii.gz"]),
    seed=st.integers(0, 2**16),
)
def test_any_header_reads_as_simpleitk_reads_it(
    tmp_path_factory,
    quatern,
    qfac,
    pixdim,
    qoffset,
    qform_code,
    sform_code,
    sform_kind,
    dtype,
    order,
    suffix,
    seed,
) -> None:
    """Oblique, flipped, qform/sform (dis)agreeing, sheared: equal to SimpleITK or both refuse."""
    rng = np.random.default_rng(seed)
    array = (rng.random((3, 4, 5)) * 100).astype(dtype)
    b, c, d = quatern
    a = np.sqrt(max(0.0, 1.0 - b * b - c * c - d * d))
    rot = np.array(
        [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ]
    )
    scale = np.diag([pixdim[0], pixdim[1], pixdim[2] * qfac])
    srow = np.zeros((3, 4))
    if sform_kind != "zero":
        srow[:, :3] = rot @ scale
        srow[:, 3] = qoffset
        if sform_kind == "other":
            srow[:, 3] += 7.5
            srow[:, :3] *= 1.1
        elif sform_kind == "shifted":  # another position, the same voxel size
            srow[:, 3] += 7.5
        elif sform_kind == "sheared":
            srow[0, 1] += 0.3 * pixdim[1]
        elif sform_kind == "rotated":
            q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
            srow[:, :3] = q @ np.diag(pixdim)
    path = write(
        tmp_path_factory.mktemp("h") / f"x{suffix}",
        nifti1(
            array,
            order=order,
            pixdim=pixdim,
            qfac=qfac,
            quatern=quatern,
            qoffset=qoffset,
            qform_code=qform_code,
            sform_code=sform_code,
            srow=srow,
        ),
    )
    got, ref = read_both(path)
    # a declared, non-empty sform whose column lengths are not pixdim: refused by radiomix
    # (ITK reads pixdim, other readers the sform; tested in test_nifti_sform_scale.py)
    lengths = np.linalg.norm(srow[:, :3].astype(np.float32).astype(float), axis=0)
    two_sizes = sform_code > 0 and lengths.any() and not np.allclose(
        lengths, pixdim, rtol=1e-3, atol=0.0)
    if two_sizes:
        assert isinstance(got, InputError), got
        assert "two voxel sizes" in str(got)
        return
    if isinstance(ref, RuntimeError):
        assert isinstance(got, InputError)
        return
    assert isinstance(got, sitk.Image)
    assert_same_image(got, ref)


@pytest.mark.parametrize(("slope", "inter"), [(2.0, 0.0), (1.0, -1024.0), (0.5, 3.0)])
def test_scaled_intensities_take_simpleitk_route(tmp_path, slope, inter) -> None:
    """scl_slope / scl_inter: ITK rescales (and may change the pixel type), so it reads."""
    array = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    path = write(tmp_path / "s.nii.gz", nifti1(array, slope=slope, inter=inter))
    assert io_image._read_nifti(path) is None
    got, ref = read_both(path)
    assert isinstance(got, sitk.Image)
    assert_same_image(got, ref)


@pytest.mark.parametrize(
    ("slope", "inter", "expected"),
    [
        (-1.5, 7.0, lambda a: -1.5 * a + 7.0),  # a negative slope is a scaling like any other
        (math.nan, 0.0, lambda a: a),  # nibabel's "unset": no scaling
        (math.nan, math.nan, lambda a: a),
        (0.0, 0.0, lambda a: a),
    ],
)
def test_scaling_every_reader_agrees_on_is_applied(tmp_path, slope, inter, expected) -> None:
    """The intensities are the stored values scaled as the NIfTI standard says (computed
    here from the array, not by a reader)."""
    array = np.arange(60, dtype=np.int16).reshape(3, 4, 5) - 20
    path = write(tmp_path / "s.nii", nifti1(array, slope=slope, inter=inter))
    got = io_image.read_image(path)
    assert np.array_equal(sitk.GetArrayFromImage(got), expected(array.astype(np.float64)))


@pytest.mark.parametrize(
    ("slope", "inter", "said"),
    [
        (math.inf, 0.0, "infinite intensity slope"),
        (-math.inf, 0.0, "infinite intensity slope"),
        (1.0, math.nan, "intercept of nan"),
        (2.0, math.inf, "intercept of inf"),
        (0.0, 5.0, "intercept of 5 .*beside a slope of 0"),
        (math.nan, -1024.0, "intercept of -1024 .*beside a slope of nan"),
        (1e-20, 0.0, "slope of 1e-20 .*too small for ITK"),
    ],
)
@pytest.mark.parametrize("order", ["<", ">"])
def test_scaling_readers_disagree_on_is_refused(tmp_path, slope, inter, said, order) -> None:
    """ITK reads an infinite slope as none, ignores a non-finite intercept and adds the
    intercept to unscaled voxels; nibabel does none of these. Refused, named."""
    array = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    path = write(tmp_path / "s.nii.gz", nifti1(array, slope=slope, inter=inter, order=order))
    with pytest.raises(InputError, match=rf"s\.nii\.gz has .*{said}.*readers disagree"):
        io_image.read_image(path)


def test_unit_slope_keeps_the_fast_route(tmp_path) -> None:
    array = np.arange(60, dtype=np.int16).reshape(3, 4, 5) - 30
    path = write(tmp_path / "u.nii", nifti1(array, slope=1.0, inter=0.0, order=">"))
    assert io_image._read_nifti(path) is not None
    got, ref = read_both(path)
    assert_same_image(got, ref)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_simpleitk_written_oblique_image_round_trips(tmp_path, suffix) -> None:
    """An image written by SimpleITK with an oblique, left-handed direction."""
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q[:, 2] *= -1.0 if np.linalg.det(q) > 0 else 1.0  # a flip: det = -1
    image = sitk.GetImageFromArray(rng.normal(size=(4, 6, 5)).astype(np.float32))
    image.SetDirection(tuple(q.ravel()))
    image.SetSpacing((0.7, 1.3, 3.0))
    image.SetOrigin((-120.5, 33.25, 7.0))
    path = tmp_path / f"o{suffix}"
    sitk.WriteImage(image, str(path))
    assert io_image._read_nifti(path) is not None
    got, ref = read_both(path)
    assert_same_image(got, ref)


def test_four_dimensional_file_takes_simpleitk_route(tmp_path) -> None:
    image = sitk.JoinSeries([sitk.Image(5, 4, 3, sitk.sitkInt16)] * 2)
    path = tmp_path / "v.nii.gz"
    sitk.WriteImage(image, str(path))
    assert io_image._read_nifti(path) is None


def test_nifti2_file_reads_as_simpleitk_reads_it(tmp_path) -> None:
    """NIfTI-2 (540-byte header): the fast route if ITK reads the type unchanged."""
    array = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    head = bytearray(544)
    struct.pack_into("<i8s", head, 0, 540, b"n+2\0\r\n\x1a\n")
    struct.pack_into("<hh", head, 12, 16, 32)
    struct.pack_into("<8q", head, 16, 3, 5, 4, 3, 1, 1, 1, 1)
    struct.pack_into("<8d", head, 104, 1.0, 0.8, 0.9, 2.0, 0, 0, 0, 0)
    struct.pack_into("<q", head, 168, 544)
    struct.pack_into("<3i", head, 344, 1, 0, 0)  # qform_code, sform_code, ...
    struct.pack_into("<6d", head, 352, 0.0, 0.0, 0.0, 10.0, -20.0, 30.0)
    path = write(tmp_path / "n2.nii", bytes(head) + array.tobytes())
    got, ref = read_both(path)
    if isinstance(ref, RuntimeError):
        assert isinstance(got, InputError)
    else:
        assert_same_image(got, ref)


def test_float_nan_is_still_refused_by_the_fast_route(tmp_path) -> None:
    array = np.ones((3, 4, 5), np.float32)
    array[1, 2, 3] = np.nan
    path = write(tmp_path / "nan.nii.gz", nifti1(array))
    with pytest.raises(InputError, match="1 NaN/infinite voxel values"):
        io_image._read_file(path, what="image")
