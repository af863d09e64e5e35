"""Integrity of NIfTI files before SimpleITK reads them: completeness and finite values.

SimpleITK (ITK's NIfTI reader) has two silent failure modes that change numbers without an
error: a truncated file (``.nii``, or a ``.nii.gz`` whose gzip stream stops early) is read
with the missing voxels set to 0, and NaN voxels of a float image are read as 0. Both are
checked here on the bytes on disk, before any cast:

- the gzip stream must be complete (end-of-stream marker, CRC-32 and length trailer,
  RFC 1952) and the data must hold at least ``vox_offset + prod(dim) * bitpix / 8`` bytes
  (NIfTI-1/NIfTI-2 header fields, https://nifti.nimh.nih.gov/nifti-1);
- ... and no more: data longer than the header declares are read through a voxel type or
  sizes that do not describe them (:func:`check_data_bytes`, shared with MetaImage and raw
  NRRD files);
- float data (FLOAT32/FLOAT64) must be finite.

The header must also be read alike by every reader: a voxel type ITK cannot read (binary,
float128, complex256) or a ``bitpix`` that contradicts it, and a spatial unit of metres or
microns (ITK rescales ``pixdim`` to millimetres, nibabel and FSL do not) are refused.

:func:`check_nifti` streams the file in 4 MiB chunks: memory use does not grow with the
image. :func:`read_nifti` makes the same checks, with the same messages, on the whole
decompressed file, whose voxels the fast reader of :mod:`radiomix.io.image` then uses (one
decompression instead of two). (Written
here rather than with nibabel, which is not a dependency of radiomix and would hold the
whole array in memory for the same check.) NRRD and MetaImage files need no finiteness
check: their readers keep NaN/inf, which the case check then reports.
"""

from __future__ import annotations

import ctypes
import functools
import gzip
import hashlib
import math
import struct
import sys
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, cast

import numpy as np

from radiomix.errors import InputError, InputNotFoundError

CHUNK = 4 << 20

# NIfTI datatype code -> (name, bits per voxel, numpy dtype without byte order or None when
# radiomix cannot read it) for every code of the NIfTI-1 standard
_DATATYPES: dict[int, tuple[str, int, str | None]] = {
    0: ("unknown", 0, None),
    1: ("binary", 1, None),
    2: ("uint8", 8, "u1"),
    4: ("int16", 16, "i2"),
    8: ("int32", 32, "i4"),
    16: ("float32", 32, "f4"),
    32: ("complex64", 64, "c8"),
    64: ("float64", 64, "f8"),
    128: ("rgb24", 24, "u1"),  # 3 bytes a voxel (checked through bitpix)
    256: ("int8", 8, "i1"),
    512: ("uint16", 16, "u2"),
    768: ("uint32", 32, "u4"),
    1024: ("int64", 64, "i8"),
    1280: ("uint64", 64, "u8"),
    1536: ("float128", 128, None),
    1792: ("complex128", 128, "c16"),
    2048: ("complex256", 256, None),
    2304: ("rgba32", 32, "u1"),
}

_DTYPES: dict[int, str] = {code: np_code for code, (_, _, np_code) in _DATATYPES.items()
                           if np_code is not None}
"""NIfTI datatype code -> numpy dtype of the codes radiomix reads."""

_SCALAR_TYPES = "uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32, float64"
"""The scalar NIfTI voxel types radiomix reads (names of :data:`_DATATYPES`)."""

_UNIT_NAMES: dict[int, tuple[str, str]] = {
    1: ("metres", "multiplies it by 1000"),
    3: ("microns", "divides it by 1000"),
}
"""Spatial units of ``xyzt_units`` that readers disagree on -> (name, what ITK does to
``pixdim``); unknown (0) and millimetres (2) are read alike by every reader."""


@dataclass(frozen=True, slots=True)
class NiftiLayout:
    """The header fields that say where the voxel data lie and how many bytes they need.

    Attributes
    ----------
    dims : tuple of int
        Sizes of the used dimensions (``dim[1] .. dim[dim[0]]``).
    datatype : int
        NIfTI datatype code.
    bitpix : int
        Bits per voxel.
    vox_offset : int
        Byte offset of the voxel data in the file.
    dtype : numpy.dtype or None
        Data type with the header's byte order (None for an unknown code).
    scl_slope, scl_inter : float
        Intensity scaling of the header (slope 0: no scaling).
    """

    dims: tuple[int, ...]
    datatype: int
    bitpix: int
    vox_offset: int
    dtype: np.dtype | None
    scl_slope: float = 0.0
    scl_inter: float = 0.0

    @property
    def data_bytes(self) -> int:
        """Bytes of voxel data the header declares."""
        n = 1
        for d in self.dims:
            n *= d
        return n * self.bitpix // 8


def _open(path: Path) -> BinaryIO:
    if path.name.lower().endswith(".gz"):
        return cast(BinaryIO, gzip.open(path, "rb"))
    return path.open("rb")


def parse_nifti_header(head: bytes, *, name: str) -> NiftiLayout:
    """Read the layout fields of a NIfTI-1 or NIfTI-2 header (either byte order).

    Parameters
    ----------
    head : bytes
        The first bytes of the (decompressed) file, at least 540 for NIfTI-2.
    name : str
        File name for messages.

    Raises
    ------
    InputError
        Not a NIfTI header, or a header with impossible dimensions.
    """
    if len(head) < 348:
        raise InputError(
            f"{name} is not a NIfTI image: {len(head)} bytes, shorter than a NIfTI header "
            "(348 bytes); the file is empty, truncated or of another format"
        )
    orders: tuple[Literal["<", ">"], ...] = ("<", ">")
    for order in orders:
        size = struct.unpack(order + "i", head[:4])[0]
        if size == 348:
            dim = struct.unpack(order + "8h", head[40:56])
            datatype, bitpix = struct.unpack(order + "hh", head[70:74])
            pixdim = struct.unpack(order + "8f", head[76:108])
            stated = struct.unpack(order + "f", head[108:112])[0]
            if not math.isfinite(stated):
                raise InputError(
                    f"{name} gives vox_offset {stated}, not a byte position: readers "
                    "disagree on where its voxels start; write the image again with a "
                    "standard NIfTI writer (e.g. nibabel or SimpleITK)")
            offset = int(stated)
            slope, inter = struct.unpack(order + "ff", head[112:120])
            qcode, scode = struct.unpack(order + "hh", head[252:256])
            qform = struct.unpack(order + "6f", head[256:280])
            sform = struct.unpack(order + "12f", head[280:328])
            units = head[123] & 0x07
            break
        if size == 540 and len(head) >= 540:
            datatype, bitpix = struct.unpack(order + "hh", head[12:16])
            dim = struct.unpack(order + "8q", head[16:80])
            pixdim = struct.unpack(order + "8d", head[104:168])
            offset = int(struct.unpack(order + "q", head[168:176])[0])
            slope, inter = struct.unpack(order + "dd", head[176:192])
            qcode, scode = struct.unpack(order + "ii", head[344:352])
            qform = struct.unpack(order + "6d", head[352:400])
            sform = struct.unpack(order + "12d", head[400:496])
            units = struct.unpack(order + "i", head[500:504])[0] & 0x07
            break
    else:
        raise InputError(
            f"{name} is not a NIfTI image (no NIfTI-1/NIfTI-2 header); check the file or its "
            "extension"
        )
    ndim = int(dim[0])
    if not 1 <= ndim <= 7 or any(int(d) < 1 for d in dim[1 : ndim + 1]) or bitpix <= 0:
        raise InputError(
            f"{name} has an invalid NIfTI header (dim {list(dim)}, bitpix {bitpix}); the file "
            "is damaged"
        )
    if offset < size + 4:  # the header and its 4-byte extension flag come first
        raise InputError(
            f"{name} gives vox_offset {offset}, inside its {size + 4}-byte header: readers "
            f"disagree on where its voxels start (ITK reads them from byte "
            f"{max(offset, size)}, the NIfTI standard from byte {size + 4} at least), so "
            "its voxels would be shifted; write the image again with a standard NIfTI "
            "writer (e.g. nibabel or SimpleITK)"
        )
    _check_datatype(name, int(datatype), int(bitpix))
    _check_geometry(name, ndim, pixdim, qform if qcode > 0 else (),
                    sform if scode > 0 else ())
    _check_units(name, ndim, pixdim, int(units))
    _check_scaling(name, float(slope), float(inter))
    code = _DTYPES.get(int(datatype))
    dtype = np.dtype(code).newbyteorder(order) if code else None
    return NiftiLayout(
        dims=tuple(int(d) for d in dim[1 : ndim + 1]),
        datatype=int(datatype),
        bitpix=int(bitpix),
        vox_offset=offset,
        dtype=dtype,
        scl_slope=float(slope),
        scl_inter=float(inter),
    )


def _check_datatype(name: str, datatype: int, bitpix: int) -> None:
    """Refuse a voxel type that radiomix cannot read, or a ``bitpix`` that contradicts it.

    ITK's NIfTI reader fails on the binary, 128-bit float and 256-bit complex types (and on
    codes outside the standard) with a raw message of the NIfTI C library; it reads the
    voxels by ``datatype`` whatever ``bitpix`` says, while the sizes checked here follow
    ``bitpix``: the two must agree.

    Raises
    ------
    InputError
        An unsupported datatype (naming the supported ones) or a ``bitpix`` other than the
        datatype's size.
    """
    known = _DATATYPES.get(datatype)
    if datatype not in _DTYPES:
        kind = f" ({known[0]})" if known else " (not a NIfTI datatype code)"
        raise InputError(
            f"{name} has the unsupported NIfTI datatype {datatype}{kind}; radiomix reads the "
            f"scalar types {_SCALAR_TYPES}: convert the image to one of them (e.g. uint8 for "
            "a binary mask) and save it again"
        )
    assert known is not None  # every code of _DTYPES is named
    type_name, bits, _ = known
    if bitpix != bits:
        raise InputError(
            f"{name} declares datatype {datatype} ({type_name}, {bits} bits a voxel) but "
            f"bitpix {bitpix} in its header; the header is damaged (the datatype or bitpix "
            "does not match the data): re-export the image"
        )


def _check_scaling(name: str, slope: float, inter: float) -> None:
    """Refuse an intensity scaling (``scl_slope``, ``scl_inter``) that readers read differently.

    The NIfTI standard scales the stored voxels by ``scl_slope * x + scl_inter`` when the
    slope is not 0; nibabel also takes a NaN slope (its own "unset") as no scaling. Beyond
    these, readers part: ITK (and the NIfTI-1 library) read an infinite slope as no scaling,
    ignore an infinite or NaN intercept, and add the intercept even when the slope is 0 or
    NaN, where nibabel leaves the voxels unscaled and refuses an intercept that is not a
    number. Every intensity of such a file would depend on the reader, so none is used.

    Raises
    ------
    InputError
        An infinite slope or one below the epsilon; a slope that scales with an
        intercept that is not finite; an intercept other than 0 beside a slope of 0 or NaN.
    """
    unscaled = slope == 0.0 or math.isnan(slope)
    if math.isinf(slope):
        problem = f"an infinite intensity slope (scl_slope {slope:g})"
    elif not unscaled and not math.isfinite(inter):
        problem = f"an intensity slope {slope:g} with an intercept of {inter:g} (scl_inter)"
    elif not unscaled and abs(slope) < sys.float_info.epsilon:  # ITK: none; nibabel: applied
        problem = f"an intensity slope of {slope:g} (scl_slope), too small for ITK to apply"
    elif unscaled and not (inter == 0.0 or math.isnan(inter)):
        problem = (f"an intercept of {inter:g} (scl_inter) beside a slope of {slope:g}, which "
                   "means no scaling")
    else:
        return
    raise InputError(
        f"{name} has {problem} in its header; readers disagree on what it means (ITK and "
        "nibabel would give different intensities), so the intensities would depend on the "
        "reader: check the values and rewrite the header with a finite slope and intercept "
        "(or slope 0 and intercept 0 for none)"
    )


def _check_units(name: str, ndim: int, pixdim: Sequence[float], units: int) -> None:
    """Refuse a spatial unit (``xyzt_units``) of metres or microns.

    ITK multiplies ``pixdim`` by 1000 for metres and divides it by 1000 for microns to give
    millimetres; nibabel, FSL and most other tools ignore the unit and take ``pixdim`` as
    millimetres. Every volume and distance of such a file would depend on the reader (a
    factor of 10⁹ in volume), so neither reading is used.
    """
    unit = _UNIT_NAMES.get(units)
    if unit is None:
        return
    unit_name, itk = unit
    size = " x ".join(f"{float(pixdim[i]):g}" for i in range(1, min(ndim, 3) + 1))
    raise InputError(
        f"{name} gives its voxel size ({size}) in {unit_name} (xyzt_units of its header); "
        f"readers disagree on this unit (ITK {itk} to give millimetres, nibabel and FSL "
        "read it as millimetres), so every volume and distance would depend on the reader: "
        "check the voxel size and rewrite the header with the size in millimetres and the "
        "unit mm (e.g. nibabel: set pixdim, header.set_xyzt_units('mm'))"
    )


def _check_geometry(name: str, ndim: int, pixdim: Sequence[float], qform: Sequence[float],
                    sform: Sequence[float]) -> None:
    """Refuse a header whose voxel spacing or orientation is not a number.

    ITK (and the NIfTI-1 library) silently replaces a spacing (``pixdim``) of 0, a negative
    one or NaN by 1 mm: every volume, area and distance of the case would then be wrong
    without a word. A NaN in the qform or sform that the file declares (its code above 0)
    would give a NaN origin or direction.
    """
    axes = "xyz"
    for i in range(1, min(ndim, 3) + 1):
        value = float(pixdim[i])
        if not (math.isfinite(value) and value > 0.0):
            raise InputError(
                f"{name} gives a voxel spacing of {value:g} mm along {axes[i - 1]} (pixdim[{i}] "
                "of its header); a spacing must be a positive number: the header is damaged, "
                "re-export the image or set its pixdim"
            )
    for label, values in (("qform", qform), ("sform", sform)):
        if not all(map(math.isfinite, values)):
            raise InputError(
                f"{name} declares a {label} with a non-finite value in its header; the image "
                "position cannot be known: the header is damaged, re-export the image"
            )
    if sform:
        _check_sform_scale(name, ndim, pixdim, sform)


SFORM_SCALE_TOLERANCE = 1e-3
"""Relative difference between a declared sform's voxel size and ``pixdim`` that is refused."""


def _check_sform_scale(name: str, ndim: int, pixdim: Sequence[float],
                       sform: Sequence[float]) -> None:
    """Refuse a header whose declared sform gives other voxel sizes than its ``pixdim``.

    The voxel size along axis ``j`` of an sform is the length of its column ``j``. ITK (and
    radiomix, which reads a file as ITK does) takes the spacing from ``pixdim``; nibabel,
    FSL and others take it from the sform. When the two differ, every volume, area and
    distance depends on the reader (a factor 2 in the voxel size is a factor 8 in volume),
    so neither is used. An all-zero sform (declared but empty) gives no size and is left to
    ITK's fallback to the qform.
    """
    n = min(ndim, 3)
    declared = [float(pixdim[j + 1]) for j in range(n)]
    scaled = [math.sqrt(float(sform[j]) ** 2 + float(sform[4 + j]) ** 2
                        + float(sform[8 + j]) ** 2) for j in range(n)]
    if not any(scaled):
        return  # an empty matrix gives no voxel size (ITK reads the qform)
    if all(abs(s - d) <= SFORM_SCALE_TOLERANCE * d for s, d in zip(scaled, declared, strict=True)):
        return
    size = " x ".join
    raise InputError(
        f"{name} gives two voxel sizes in its header: pixdim {size(f'{d:g}' for d in declared)}"
        f" mm, its sform {size(f'{s:g}' for s in scaled)} mm; readers disagree on which "
        "to use (ITK and radiomix read pixdim, nibabel and FSL the sform), so every volume "
        "and distance would depend on the reader: correct the header (pixdim or the sform) "
        "and run again"
    )


def check_nifti(path: str | Path) -> NiftiLayout:
    """Check that a ``.nii``/``.nii.gz`` file is complete and its float voxels finite.

    Parameters
    ----------
    path : str or Path
        NIfTI file (single-file ``.nii``, optionally gzip-compressed).

    Returns
    -------
    layout : NiftiLayout
        The header's data layout.

    Raises
    ------
    InputError
        Truncated or corrupt gzip stream; fewer data bytes than the header declares
        (``dims × bitpix / 8``); NaN or infinite voxels in float data. Each message gives
        the numbers found and the fix.
    """
    path = Path(path)
    name = path.name
    bad_values = 0
    try:
        with _open(path) as fh:
            head = fh.read(540)
            layout = parse_nifti_header(head, name=name)
            total = len(head)
            if layout.vox_offset > total:
                total += len(fh.read(layout.vox_offset - total))
            check = layout.dtype if layout.dtype is not None and layout.dtype.kind in "fc" else None
            item = check.itemsize if check is not None else 1
            rest = layout.data_bytes  # data bytes not yet checked
            buf = head[layout.vox_offset :]
            while True:
                chunk = fh.read(CHUNK)
                total += len(chunk)
                if check is not None:
                    buf = buf + chunk if buf else chunk
                    usable = min(len(buf), rest)
                    usable -= usable % item
                    if usable:
                        values = np.frombuffer(buf[:usable], dtype=check)
                        bad_values += count_non_finite(values)
                        rest -= usable
                    buf = buf[usable:] if rest > 0 else b""
                if not chunk:
                    break
    except EOFError:
        raise _truncated_stream(name) from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise _bad_gzip(name, exc) from None
    except OSError as exc:
        raise InputNotFoundError(f"cannot read {name}: {exc.strerror or exc}") from None
    _check_length(layout, total, name)
    if bad_values:
        raise _non_finite(name, bad_values)
    return layout


def read_nifti(
    path: str | Path,
    *,
    digests: dict[Path, str] | None = None,
    ranges: dict[Path, tuple[float, float]] | None = None,
) -> tuple[NiftiLayout, bytes | memoryview]:
    """The whole decompressed NIfTI file, after the checks of :func:`check_nifti`.

    One decompression serves both the checks and the voxel data (the fast reader of
    :mod:`radiomix.io.image`); memory holds the decompressed file once.

    Parameters
    ----------
    path : str or Path
        NIfTI file (single-file ``.nii``, optionally gzip-compressed).
    digests : dict, optional
        Receives the SHA-256 (hex) of the file's bytes as stored under ``path``: the
        :func:`radiomix.table.file_hash` of the file, from the bytes read here.
    ranges : dict, optional
        Receives, for a file of real float voxels, their minimum and maximum under
        ``path`` (the two reductions that prove them finite, :func:`value_range`).

    Returns
    -------
    layout : NiftiLayout
        The header's data layout.
    data : bytes or memoryview
        The file's bytes (decompressed), header included.

    Raises
    ------
    InputError
        As :func:`check_nifti`, with the same messages.
    """
    path = path if isinstance(path, Path) else Path(path)
    name = path.name
    try:
        raw = path.read_bytes()
        if digests is not None:
            digests[path] = hashlib.sha256(raw).hexdigest()
        data = _gunzip(raw) if name.lower().endswith(".gz") else raw
    except EOFError:
        raise _truncated_stream(name) from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise _bad_gzip(name, exc) from None
    except OSError as exc:
        raise InputNotFoundError(f"cannot read {name}: {exc.strerror or exc}") from None
    layout = parse_nifti_header(bytes(data[:540]), name=name)
    _check_length(layout, len(data), name)
    if layout.dtype is not None and layout.dtype.kind in "fc":
        count = layout.data_bytes // layout.dtype.itemsize
        values = np.frombuffer(data, dtype=layout.dtype, count=count, offset=layout.vox_offset)
        span = value_range(values)
        if span is None:
            bad = count_non_finite(values)
            if bad:
                raise _non_finite(name, bad)
        elif ranges is not None:
            ranges[path] = span
    return layout, data


def value_range(values: np.ndarray) -> tuple[float, float] | None:
    """The minimum and maximum of a non-empty array of real floats when both are finite
    (then every value is: NaN propagates through both reductions, an infinity is an
    extreme); ``None`` otherwise, and for other arrays. Two passes, no temporary array."""
    if values.size == 0 or values.dtype.kind != "f":
        return None
    lo, hi = float(values.min()), float(values.max())
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None


def count_non_finite(values: np.ndarray) -> int:
    """Number of NaN or infinite values in an array.

    Real floats whose :func:`value_range` is finite have none; the values are counted
    only otherwise, and for complex values.
    """
    if values.size == 0 or values.dtype.kind not in "fc":
        return 0
    if value_range(values) is not None:
        return 0
    return int(values.size - np.count_nonzero(np.isfinite(values)))


def _gunzip(raw: bytes) -> bytes | memoryview:
    """Decompress a whole gzip file exactly as :func:`gzip.decompress` does, faster.

    A file of one gzip member and nothing after it (what NIfTI writers produce) is
    inflated by libdeflate (:func:`_libdeflate_gunzip`, 1.4 times as fast as ISA-L and
    twice as fast as zlib on a CT); anything else (several members, padding, a damaged
    stream) is decompressed by :func:`gzip.decompress`, the reference, so that a damaged
    file raises exactly the standard library's error and a stream libdeflate refused is
    still read as the standard library reads it.
    """
    fast = _libdeflate_gunzip(raw)
    return fast if fast is not None else gzip.decompress(raw)


_LIBDEFLATE_SUCCESS = 0
_MAX_DEFLATE_RATIO = 1032
"""Deflate's largest possible expansion (a 258-byte match per 2 bits), RFC 1951."""


def _libdeflate_gunzip(raw: bytes) -> memoryview | None:
    """The content of a single-member gzip file that ends with its member, by libdeflate.

    ``libdeflate_gzip_decompress_ex`` (Biggers' libdeflate, the C library shipped inside
    the ``deflate`` package) inflates the member into a buffer of the trailer's ISIZE
    bytes and checks its CRC-32 and ISIZE (RFC 1952); the result is taken only when the
    member consumed every input byte and filled the buffer exactly. ``None`` otherwise
    (several members, trailing bytes, a damaged or truncated stream, a content of 4 GiB
    or more, no libdeflate): the caller then asks the reference. The buffer is allocated
    without being touched, so a damaged trailer claiming a huge size costs no memory.
    """
    lib = _libdeflate()
    size = len(raw)
    if lib is None or size < 18 or raw[:2] != b"\x1f\x8b":
        return None
    expected = int.from_bytes(raw[-4:], "little")
    if expected == 0 or expected > _MAX_DEFLATE_RATIO * size:
        return None
    out = np.empty(expected, dtype=np.uint8)
    used_in = ctypes.c_size_t(0)
    used_out = ctypes.c_size_t(0)
    result = lib.libdeflate_gzip_decompress_ex(
        _decompressor(lib), raw, size, out.ctypes.data, expected,
        ctypes.byref(used_in), ctypes.byref(used_out),
    )  # fmt: skip
    if result != _LIBDEFLATE_SUCCESS or used_in.value != size or used_out.value != expected:
        return None
    return out.data


@functools.cache
def _libdeflate() -> ctypes.CDLL | None:
    """libdeflate's decompression entry points, from the ``deflate`` package's extension
    (its C library exports them); ``None`` when the package or a symbol is missing."""
    try:
        from deflate import _deflate

        lib = ctypes.CDLL(_deflate.__file__)
        lib.libdeflate_alloc_decompressor.restype = ctypes.c_void_p
        lib.libdeflate_alloc_decompressor.argtypes = []
        lib.libdeflate_gzip_decompress_ex.restype = ctypes.c_int
        lib.libdeflate_gzip_decompress_ex.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p,
            ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t),
        ]  # fmt: skip
    except (ImportError, OSError, AttributeError):
        return None
    return lib


_PER_THREAD = threading.local()


def _decompressor(lib: ctypes.CDLL) -> int:
    """This thread's libdeflate decompressor (one may not be shared between threads),
    allocated on first use and kept for the life of the thread."""
    handle = getattr(_PER_THREAD, "decompressor", None)
    if handle is None:
        handle = lib.libdeflate_alloc_decompressor()
        if not handle:
            raise MemoryError("libdeflate could not allocate a decompressor")
        _PER_THREAD.decompressor = handle
    return int(handle)


def _truncated_stream(name: str) -> InputError:
    return InputError(
        f"{name} is truncated: its gzip stream ends before the end-of-stream marker "
        "(the file was cut short); copy or export it again"
    )


def _bad_gzip(name: str, exc: Exception) -> InputError:
    return InputError(
        f"{name} is not a valid gzip-compressed NIfTI file ({exc}); check the file or "
        "its .gz extension, or copy or export it again"
    )


def _check_length(layout: NiftiLayout, total: int, name: str) -> None:
    """The voxel data of a NIfTI file (``total`` bytes, header included) must hold exactly
    the ``dims x bitpix / 8`` bytes its header declares after ``vox_offset``."""
    expected = layout.data_bytes
    if total - layout.vox_offset == expected:
        return  # the usual file: no message to build
    dims = "x".join(map(str, layout.dims))
    if total < layout.vox_offset + expected:
        raise InputError(
            f"{name} is truncated: the header declares {dims} voxels "
            f"of {layout.bitpix} bits ({layout.data_bytes:,} bytes from offset "
            f"{layout.vox_offset}), but the file holds {max(0, total - layout.vox_offset):,} "
            "data bytes; copy or export the file again"
        )
    type_name = _DATATYPES.get(layout.datatype, ("unknown", 0, None))[0]
    check_data_bytes(
        f"{name}: its voxel data", total - layout.vox_offset, layout.data_bytes,
        f"{dims} voxels of datatype {layout.datatype} ({type_name}, {layout.bitpix} bits) "
        f"from offset {layout.vox_offset}",
    )


def check_compressed_data(subject: str, path: Path, offset: int, expected: int,
                          declared: str) -> None:
    """Refuse compressed voxel data that is damaged, cut short, or of another length than
    its header declares (MetaImage ``CompressedData``, NRRD ``gzip`` encoding).

    ITK reads such data without an error where its stream is corrupt or ends early: MetaIO
    only prints "Uncompress failed" and NRRD's reader nothing, and both return the voxels
    they could inflate with garbage or zeros after them; a truncated MetaImage is said as
    "No such file or directory". The zlib or gzip stream (its header tells which; Adler-32
    or CRC-32 checked; gzip members one after another read as one stream) is inflated here
    from byte ``offset`` of ``path`` in chunks: memory does not grow with the image, the
    output is counted and dropped.

    Parameters
    ----------
    subject : str
        What the data is, for messages (``"image file a.mha: its voxel data"``).
    path : Path
        File holding the stream.
    offset : int
        Its first byte in ``path``.
    expected : int
        Bytes the header declares.
    declared : str
        The header's fields that declare them, for messages.

    Raises
    ------
    InputError
        A corrupt or truncated stream, or one of another length.
    """
    inflater, total, pending, started = zlib.decompressobj(47), 0, b"", False
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            while total <= expected:
                if inflater.eof:  # a stream ended: another gzip member may follow
                    pending = inflater.unused_data + (pending or fh.read(CHUNK))
                    if not pending.startswith(b"\x1f\x8b"):
                        break  # bytes after the stream are not the image's
                    inflater = zlib.decompressobj(47)
                pending = pending or fh.read(CHUNK)
                if not pending:  # the file ends: what zlib still holds back
                    total += len(inflater.flush())
                    break
                out = inflater.decompress(pending, CHUNK)
                pending = inflater.unconsumed_tail
                total += len(out)
                started = True
    except zlib.error as exc:
        raise InputError(
            f"{subject} is corrupt: its compressed stream cannot be decoded ({exc}); ITK "
            "would read garbage from it without an error: copy or export the file again"
        ) from None
    if not started or (not inflater.eof and total <= expected):
        raise InputError(
            f"{subject} is truncated: its compressed stream ends before its end marker "
            f"({total:,} of the {expected:,} bytes its {declared} declare); copy or export "
            "the file again"
        )
    check_data_bytes(subject, total, expected, declared)


def check_data_bytes(subject: str, have: int, expected: int, declared: str) -> None:
    """Refuse voxel data longer or shorter than the header of its image declares.

    The one check of NIfTI (:func:`check_nifti`, :func:`read_nifti`), MetaImage and raw
    NRRD files (:mod:`radiomix.io.image`). Data longer than declared means that the
    header's voxel type or sizes do not describe the data: read through them, the voxels
    would be garbage (float32 data read as int16) or shifted, without an error.

    Parameters
    ----------
    subject : str
        What holds the data, for the message (``"ct.nii.gz: its voxel data"``).
    have : int
        Bytes of voxel data found.
    expected : int
        Bytes the header declares.
    declared : str
        The header fields that give ``expected``, for the message.

    Raises
    ------
    InputError
        ``have`` differs from ``expected``; the message names both sizes and the fix.
    """
    if have < expected:
        raise InputError(f"{subject} holds {have:,} bytes, fewer than the {expected:,} its "
                         f"header declares ({declared}); the data is truncated: copy or export "
                         "it again")
    if have > expected:
        raise InputError(f"{subject} holds {have:,} bytes, more than the {expected:,} of its "
                         f"header's {declared}; the header does not describe the data (its "
                         "voxel type or sizes do not match the data, or bytes were appended): "
                         "fix the header or export the image again")


def _non_finite(name: str, count: int) -> InputError:
    return InputError(
        f"{name} holds {count:,} NaN/infinite voxel values (SimpleITK would read "
        "them as 0); fill them (e.g. with the background value) or crop them away before "
        "extraction"
    )
