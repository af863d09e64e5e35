"""Load images and masks: NIfTI, NRRD, MHA files, DICOM series, RTSTRUCT and DICOM SEG.

Images and masks are returned as :class:`~radiomix.io.volume.Volume` (voxels and ITK's
geometry). A NIfTI file whose header is unambiguous is read without SimpleITK
(:func:`_read_nifti`); every other source goes through SimpleITK, imported on first use.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from radiomix.errors import DicomError, InputError, InputNotFoundError, UsageError
from radiomix.io.integrity import check_compressed_data, check_data_bytes, read_nifti
from radiomix.io.nifti_geometry import (
    FORMS_DIRECTION_TOLERANCE,
    FormDisagreement,
    Geometry,
    form_disagreement,
    has_no_orientation,
    itk_geometry,
)
from radiomix.io.volume import Volume, as_sitk

if TYPE_CHECKING:
    import SimpleITK as sitk

log = logging.getLogger(__name__)

FILE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")

_SITK_PIXEL = {
    "u1": "sitkUInt8",
    "i1": "sitkInt8",
    "u2": "sitkUInt16",
    "i2": "sitkInt16",
    "u4": "sitkUInt32",
    "i4": "sitkInt32",
    "u8": "sitkUInt64",
    "i8": "sitkInt64",
    "f4": "sitkFloat32",
    "f8": "sitkFloat64",
}
"""Scalar NIfTI voxel types (numpy kind and size) -> the SimpleITK pixel type ITK reads."""


def load_image(path: str | Path) -> sitk.Image:
    """Load an image as float64: a NIfTI/NRRD/MHA file or a DICOM series folder.

    Parameters
    ----------
    path : str or Path
        Image file, or a folder holding one DICOM image series (see
        :func:`radiomix.io.dicom.read_series`).

    Returns
    -------
    image : SimpleITK.Image
        Scalar float64 image with its geometry.
    """
    import SimpleITK as sitk

    image = read_image(path)
    if image.GetPixelID() == sitk.sitkFloat64:
        return image  # as read: a cast would drop the DICOM series identity metadata
    return sitk.Cast(image, sitk.sitkFloat64)


def read_image(path: str | Path) -> sitk.Image:
    """Load an image in its stored scalar pixel type as a SimpleITK image (see
    :func:`read_volume`)."""
    return read_volume(path).to_sitk()


def read_volume(
    path: str | Path,
    *,
    digests: dict[Path, str] | None = None,
    ranges: dict[Path, tuple[float, float]] | None = None,
) -> Volume:
    """Load an image in its stored scalar pixel type (see :func:`load_image`).

    The extraction path converts only the part around the ROI to float64
    (:func:`radiomix.process.pipeline.process_case`), so a CT stored as int16 is never
    held as a float64 copy of the whole volume. ``digests`` receives the SHA-256 of a
    NIfTI file's bytes (:func:`radiomix.io.integrity.read_nifti`), ``ranges`` the minimum
    and maximum of the voxels of a float NIfTI image read without SimpleITK
    (:func:`_read_nifti`).
    """
    path = path if isinstance(path, Path) else Path(path)
    found = file_stat(path)
    if found is not None and stat.S_ISDIR(found.st_mode):
        from radiomix.io.dicom import read_series

        series = read_series(path)
        check_geometry(series.GetSpacing(), series.GetOrigin(), series.GetDirection(),
                       f"DICOM series {path.name}")
        return Volume.from_sitk(series)
    if found is None:
        raise InputNotFoundError(f"image not found: {path}")
    if not str(path).lower().endswith(FILE_SUFFIXES):
        if _modality(path) is not None:
            import pydicom

            from radiomix.io.dicom import multiframe_count, multiframe_error

            frames = multiframe_count(pydicom.dcmread(path, stop_before_pixels=True))
            if frames > 1:
                raise multiframe_error(str(path), frames)
            raise InputError(f"{path} is a single DICOM file; pass the folder of its series")
        raise InputError(f"unsupported image format: {path} (expected {', '.join(FILE_SUFFIXES)})")
    image = _read_file(path, what="image", size=found.st_size, digests=digests, ranges=ranges)
    if isinstance(image, Volume):
        return image
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            f"{path} has {image.GetNumberOfComponentsPerPixel()} components per voxel; "
            "a scalar image is needed"
        )
    return Volume.from_sitk(_as_3d(image, path, what="image"))


def file_stat(path: Path) -> os.stat_result | None:
    """``path``'s status, or ``None`` where :meth:`pathlib.Path.exists` says False (no such
    file, a path through a non-folder, a symbolic-link loop): one system call answers
    ``exists``, ``is_file`` and ``is_dir``.

    Raises
    ------
    OSError
        Any other error (a folder that may not be read), as ``exists`` raises it.
    """
    try:
        return path.stat()
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return None
        raise
    except ValueError:  # a name that no system call takes (a NUL character)
        return None


def _read_file(
    path: Path,
    *,
    what: str,
    size: int | None = None,
    digests: dict[Path, str] | None = None,
    ranges: dict[Path, tuple[float, float]] | None = None,
) -> Volume | sitk.Image:
    """Read an image file with SimpleITK after the integrity checks it lacks.

    Empty files and NIfTI files that are truncated or hold NaN/inf (which SimpleITK would
    read as zeros) are refused by :func:`radiomix.io.integrity.read_nifti`; SimpleITK's own errors
    (unknown format, damaged NRRD/MHA data) become one-line input errors. A NIfTI file
    takes the fast route of :func:`_read_nifti` when it can (a checked 3D scalar
    :class:`Volume`), SimpleITK's reader otherwise (the image as SimpleITK reads it).
    ``size`` is the file's size in bytes where the caller has it (:func:`file_stat`);
    ``digests`` receives the SHA-256 of a NIfTI file's bytes, ``ranges`` the minimum and
    maximum of the float voxels of a NIfTI file read by :func:`_read_nifti`.
    """
    if (path.stat().st_size if size is None else size) == 0:
        raise InputError(f"{what} file {path} is empty (0 bytes); copy or export it again")
    forms = None
    if str(path).lower().endswith((".nii", ".nii.gz")):
        # checks the file (truncation, NaN/inf)
        image = _read_nifti(path, digests=digests, ranges=ranges)
        if image is not None:
            check_geometry(image.spacing, image.origin, image.direction, f"{what} file {path}")
            return image
        # SimpleITK reads the file; where its qform and sform disagree (never read by
        # _read_nifti), the image it returns is noted (:func:`_note_forms`)
        forms = form_disagreement(_nifti_head(path, 348))
    import SimpleITK as sitk

    if str(path).lower().endswith((".mhd", ".mha")):
        _check_metaimage(path, what)
    elif str(path).lower().endswith((".nrrd", ".nhdr")):
        _check_nrrd(path, what)
    try:
        with itk_warnings_off():
            read = sitk.ReadImage(str(path))
        check_geometry(read.GetSpacing(), read.GetOrigin(), read.GetDirection(),
                       f"{what} file {path}")
        if forms is not None:
            _note_forms(read, forms, path, what)
        return read
    except RuntimeError as exc:
        if _is_nifti2(path):
            raise InputError(
                f"{what} file {path.name} is a NIfTI-2 file, which this SimpleITK cannot read; "
                "save it as NIfTI-1 (e.g. nibabel.Nifti1Image(...).to_filename)"
            ) from None
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        reason = lines[-1].removeprefix("sitk::ERROR:").strip() if lines else "unknown error"
        spacing = re.search(r"Refusing to change spacing from \[[^]]*\] to (\[[^]]*\])", reason)
        if spacing:  # ITK's words for a header spacing of 0 or NaN
            stated = _header_spacing_text(path)
            shown = (f"a voxel spacing of {stated!r} in its header" if stated else
                     f"a voxel spacing that ITK reads as {spacing.group(1)} mm")
            raise InputError(
                f"{what} file {path} gives {shown}; a spacing must be a positive number: the "
                "header is damaged, re-export the image or set its spacing"
            ) from None
        if "orthonormal" in reason:  # ITK's words for a sheared or scaled grid
            raise InputError(
                f"{what} file {path} has direction cosines that are not orthonormal (a sheared "
                "or scaled grid); radiomix needs an orthonormal image grid: resample the "
                "image onto one (e.g. with SimpleITK) first"
            ) from None
        raise InputError(
            f"cannot read {what} file {path}: {reason[:200]}; check that it is a complete "
            f"{', '.join(FILE_SUFFIXES)} file"
        ) from None



def _note_forms(image: sitk.Image, forms: FormDisagreement, path: Path, what: str) -> None:
    """Say that a NIfTI file's qform and sform disagree, and which one SimpleITK took.

    The file is read as SimpleITK reads it (radiomix's promise), but tools that take the
    other form (FSL, nibabel, many viewers) put the image elsewhere, and a mask resampled
    onto it lands where the chosen form says. A warning is logged; the image carries the
    note (:data:`radiomix.check.GRID_NOTE_KEY`) that a grid-mismatch message leads with,
    and a mask also the provenance note (:data:`radiomix.check.MASK_NOTE_KEY`).
    """
    from radiomix.check import GRID_NOTE_KEY, MASK_NOTE_KEY

    used = forms.used(image.GetOrigin(), image.GetDirection())
    other = "qform" if used == "sform" else "sform"
    turn = (f" and direction cosines {forms.direction:.2g} apart"
            if forms.direction > FORMS_DIRECTION_TOLERANCE else "")
    apart = f"voxels up to {forms.shift_mm:.3g} mm apart{turn}"
    log.warning(
        "the %s file %s has a qform and an sform that disagree (%s); radiomix reads it as "
        "SimpleITK does, by the %s: check that the %s is right (tools that read the %s, such "
        "as FSL or some viewers, place the %s elsewhere), or correct the header",
        what, path.name, apart, used, used, other, what,
    )
    note = (f"the {what} file {path.name} has a qform and an sform that disagree ({apart}; "
            f"radiomix, as SimpleITK, uses the {used})")
    image.SetMetaData(GRID_NOTE_KEY, note)
    if what == "mask":
        image.SetMetaData(MASK_NOTE_KEY, note)


def _header_spacing_text(path: Path) -> str | None:
    """The spacing field of a MetaImage or NRRD header as written (``ElementSpacing``,
    ``spacings`` or ``space directions``), for a message that quotes the header rather
    than ITK's partial reading of it; ``None`` for other files or no such field."""
    if not str(path).lower().endswith((".mha", ".mhd", ".nrrd", ".nhdr")):
        return None
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 14).decode("latin-1")
    except OSError:
        return None
    m = re.search(r"^(?:ElementSpacing\s*=|spacings:|space directions:)\s*(.*?)\s*$", head,
                  re.MULTILINE)
    return m.group(1) if m else None

def _nifti_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a .nii/.nii.gz file (fewer if unreadable or short)."""
    import gzip

    if not str(path).lower().endswith((".nii", ".nii.gz")):
        return b""
    try:
        opener = gzip.open if str(path).lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            return bytes(fh.read(size))
    except (OSError, EOFError):
        return b""


def _is_nifti2(path: Path) -> bool:
    """Whether a .nii/.nii.gz file starts with a NIfTI-2 header (sizeof_hdr 540)."""
    import struct

    head = _nifti_head(path, 4)
    return len(head) == 4 and 540 in (struct.unpack("<i", head)[0], struct.unpack(">i", head)[0])


def nifti_without_orientation(path: str | Path) -> bool:
    """Whether ``path`` is a NIfTI-1 file whose header places its voxels nowhere
    (``qform_code`` and ``sform_code`` 0; :func:`radiomix.io.nifti_geometry.
    has_no_orientation`). Reads the header only; False for any other file."""
    return has_no_orientation(_nifti_head(Path(path), 348))


_MET_BYTES = {"MET_CHAR": 1, "MET_UCHAR": 1, "MET_SHORT": 2, "MET_USHORT": 2, "MET_INT": 4,
              "MET_UINT": 4, "MET_LONG": 4, "MET_ULONG": 4, "MET_LONG_LONG": 8,
              "MET_ULONG_LONG": 8, "MET_FLOAT": 4, "MET_DOUBLE": 8}


def _check_metaimage(path: Path, what: str) -> None:
    """Refuse a MetaImage whose voxel data is missing, shorter or longer than its header
    declares, or compressed in a damaged stream (ITK reports "No such file or directory"
    for the first two, reads a too-long file through the wrong DimSize, a scrambled image,
    and a damaged stream as garbage)."""
    fields: dict[str, str] = {}
    keys: set[str] = set()  # as written: MetaIO matches its keys case by case
    offset, rest = 0, b""
    with path.open("rb") as fh:
        for raw in fh:
            offset += len(raw)
            key, sep, value = raw.decode("latin-1").partition("=")
            if not sep:
                return  # not a MetaImage header: ITK says what it is
            if key.strip() in keys:
                raise InputError(
                    f"{what} file {path.name} gives {key.strip()} twice in its header, and "
                    "ITK reads the last one: keep only the right one")
            fields[key.strip().lower()] = value.strip()
            keys.add(key.strip())
            if key.strip().lower() == "elementdatafile":
                rest = fh.read(1 << 16) if path.suffix.lower() == ".mhd" else b""
                break
            if offset > 1 << 16:
                return
    if not keys & {"ElementSpacing", "ElementSize"}:
        if re.search(rb"(?m)^\s*Element(Spacing|Size)\s*=", rest):
            raise InputError(
                f"{what} file {path.name} gives ElementSpacing after ElementDataFile, where a "
                "MetaImage header ends (ITK reads no further and takes 1 mm): move the line "
                "above ElementDataFile")
        spelt = [k for k in keys if k.lower() in ("elementspacing", "elementsize")]
        if spelt:
            raise InputError(
                f"{what} file {path.name} spells its spacing key {spelt[0]!r}; MetaImage "
                "keys are case-sensitive and ITK would ignore it and read 1 mm along every "
                "axis: write it as ElementSpacing")
        raise InputError(_no_spacing(what, path, "ElementSpacing"))
    key = "ElementSpacing" if "ElementSpacing" in keys else "ElementSize"
    try:
        spacing = [float(v) for v in fields[key.lower()].split()]
    except ValueError:
        spacing = []
    if not spacing or not all(math.isfinite(v) and v > 0 for v in spacing):
        raise InputError(
            f"{what} file {path.name} gives a voxel spacing of {fields[key.lower()]!r} in its "
            "header; a spacing must be a positive number (ITK reads a negative one as a "
            "flipped axis): the header is damaged, re-export the image or set its spacing "
            "positive, with any flip in TransformMatrix")
    _check_metaimage_counts(path, what, fields, {k.lower(): k for k in keys})
    for synonyms in _MET_SYNONYMS:
        for name in synonyms:
            if name in fields and not _all_finite(fields[name].split()):
                raise InputError(_not_a_number(what, path, _spelt(keys, name), fields[name]))
    for name in _MET_SYNONYMS[1]:
        if name in fields:
            try:
                numbers = [float(v) for v in fields[name].split()]
            except ValueError:
                continue
            _check_axes_apart(path, what, _spelt(keys, name), numbers, fields[name])
    target = fields.get("elementdatafile", "")
    size = _MET_BYTES.get(fields.get("elementtype", ""))
    try:
        dims = [int(v) for v in fields.get("dimsize", "").split()]
        channels = int(fields.get("elementnumberofchannels", "1"))
        header = int(fields.get("headersize", "0"))
        stream = int(fields["compresseddatasize"]) if "compresseddatasize" in fields else None
    except ValueError:
        return
    if (size is None or not dims or target.upper().startswith("LIST") or "%" in target
            or header < 0):
        return
    detached = "" if target.upper() == "LOCAL" else target
    compressed = fields.get("compresseddata", "").lower() == "true"
    _check_voxel_bytes(path, what, detached, offset, header,
                       size * channels * math.prod(dims),
                       f"DimSize {fields.get('dimsize')} and {fields.get('elementtype')}",
                       compressed=compressed)
    if compressed and stream is None and not detached:
        raise InputError(
            f"{what} file {path.name} holds compressed voxel data in its own file without "
            "CompressedDataSize: ITK cannot tell where the stream ends and reads garbage; "
            "add CompressedDataSize = <bytes of the stream> to the header or export the "
            "image again")
    if compressed and stream is not None:
        data, start = (path.parent / detached, header) if detached else (path, offset)
        held = data.stat().st_size - start
        if stream != held:  # ITK inflates CompressedDataSize bytes: the rest becomes zeros
            raise InputError(
                f"{what} file {path.name} gives CompressedDataSize = {stream}, but its "
                f"compressed voxel data holds {held:,} bytes: ITK would read the image from "
                "the first of them only; fix the header or export the image again")


_MET_COUNTS = {"dimsize": 1, "elementspacing": 1, "elementsize": 1, "offset": 1,
               "origin": 1, "position": 1, "centerofrotation": 1, "transformmatrix": 0,
               "rotation": 0, "orientation": 0}
"""MetaImage keys with one number per axis (1) or per axis squared (0)."""


_MET_SYNONYMS = (("offset", "origin", "position"), ("transformmatrix", "rotation",
                                                     "orientation"))
"""MetaImage keys that say the same thing (ITK reads the last one given)."""


def _check_metaimage_counts(path: Path, what: str, fields: dict[str, str],
                            spelt: dict[str, str]) -> None:
    """Every per-axis key of a MetaImage header must give ``NDims`` numbers (``NDims``²
    for a matrix): ITK cannot parse one of another length and says the file is missing.
    Synonyms (``Offset``, ``Origin``, ``Position``; ``TransformMatrix``, ``Rotation``,
    ``Orientation``) given with different values are refused: ITK takes the last one, and
    the header contradicts itself."""
    for group in _MET_SYNONYMS:
        given = {k: fields[k].split() for k in group if k in fields}
        if len({tuple(v) for v in given.values()}) > 1:
            a, b = list(given)[:2]
            raise InputError(
                f"{what} file {path.name} gives {spelt.get(a, a)} = {fields[a]} and "
                f"{spelt.get(b, b)} = {fields[b]}, two names of one field with different "
                "values (ITK reads the last): keep only the right one")
    try:
        ndims = int(fields.get("ndims", ""))
    except ValueError:
        return
    for key, per_axis in _MET_COUNTS.items():
        if key not in fields:
            continue
        want = ndims if per_axis else ndims * ndims
        have = len(fields[key].split())
        if have != want:
            raise InputError(
                f"{what} file {path.name} gives {have} number(s) in {spelt.get(key, key)} for "
                f"NDims = {ndims} ({want} expected); the header is damaged: fix it or export "
                "the image again")


def detached_data_files(path: str | Path) -> list[Path]:
    """The voxel data files a MetaImage (``.mhd``) or detached NRRD (``.nhdr``) header
    names beside it (``ElementDataFile``, ``data file``: one file, the files of a ``LIST``,
    or those of a numbered pattern ``name%03d.raw first last step``), in order; ``[]`` for
    other files and for data in the header's own file.

    Their bytes are the image: a hash of the header alone would stay the same when the
    voxels change (:func:`radiomix.table.file_hash` hashes them with the header).
    """
    path = Path(path)
    suffix = path.name.lower()
    if not suffix.endswith((".mhd", ".nhdr")) or not path.is_file():
        return []
    mha = suffix.endswith(".mhd")
    lines: list[str] = []
    with path.open("rb") as fh:
        for raw in fh:
            lines.append(raw.decode("latin-1").strip())
            if len(lines) > 4096:
                break
    for k, line in enumerate(lines):
        key, sep, value = line.partition("=" if mha else ":")
        name = key.strip().lower()
        if not sep or name not in (("elementdatafile",) if mha else ("data file", "datafile")):
            continue
        target = value.lstrip("=").strip()
        if mha and target.upper() == "LOCAL":
            return []
        if target.upper().startswith("LIST"):
            return [path.parent / item for item in lines[k + 1:] if item]
        if "%" in target:
            return _pattern_files(path.parent, target)
        if not target:
            return []
        return [path.parent / target.split()[0] if not mha else path.parent / target]
    return []


def _pattern_files(folder: Path, target: str) -> list[Path]:
    """The files of a numbered data file pattern (``sl%03d.raw 0 29 1``: printf format,
    first, last and step numbers; MetaImage and NRRD alike), in order; every file of the
    folder whose name the format could give when the numbers are unreadable."""
    parts = target.split()
    try:
        first, last = int(parts[1]), int(parts[2])
        step = int(parts[3]) if len(parts) > 3 else 1
        if step == 0:
            raise ValueError(step)
        numbers = range(first, last + (1 if step > 0 else -1), step)
        return [folder / (parts[0] % k) for k in numbers]
    except (IndexError, ValueError, TypeError):
        head, _, tail = parts[0].partition("%")
        tail = re.sub(r"^[-+ #0-9.]*[a-zA-Z]", "", tail)
        return sorted(p for p in folder.iterdir()
                      if p.name.startswith(head) and p.name.endswith(tail) and p.is_file())


def _all_finite(tokens: Sequence[str]) -> bool:
    """Every token a finite number (a token that is no number counts as finite: ITK's
    own parser reports it)."""
    for token in tokens:
        try:
            if not math.isfinite(float(token)):
                return False
        except ValueError:
            continue
    return True


def _spelt(keys: set[str], lower: str) -> str:
    """A header key as the file spells it."""
    return next((k for k in keys if k.lower() == lower), lower)


def _not_a_number(what: str, path: Path, field: str, value: str) -> str:
    """The message for a geometry field of a MetaImage or NRRD header holding NaN or inf
    (ITK reads it as 0, an invented position or orientation)."""
    return (f"{what} file {path.name} gives {field} = {value.strip()!r} in its header: NaN "
            "or infinity is no position or direction (ITK would read 0 and place the image "
            "at an invented position); the header is damaged, re-export the image")


_NRRD_SPATIAL_KINDS = frozenset({"", "domain", "space", "time", "???", "none"})
"""NRRD ``kinds`` of an axis whose samples lie on the image grid (ITK reads them as one)."""


def _check_nrrd_geometry(path: Path, what: str, fields: dict[str, str]) -> None:
    """Refuse a NRRD header that leaves the spacing of a grid axis unknown (``none`` in
    ``space directions`` or ``nan`` in ``spacings`` for an axis of more than one sample),
    gives a NaN or infinite direction, spacing or origin (ITK reads 1 mm or 0 for each,
    without a word), or gives two parallel space directions (ITK fails with a bare
    matrix)."""
    try:
        sizes = [int(v) for v in fields.get("sizes", "").split()]
    except ValueError:
        return
    kinds = fields.get("kinds", "").lower().split()
    grid = [i for i, n in enumerate(sizes)
            if n > 1 and (kinds[i] if i < len(kinds) else "") in _NRRD_SPATIAL_KINDS]
    for key in ("space origin", "measurement frame"):
        if key in fields and not _all_finite(re.findall(r"[^\s(),]+", fields[key])):
            raise InputError(_not_a_number(what, path, key, fields[key]))
    vectors: list[list[float]] = []
    if "space directions" in fields:
        tokens = re.findall(r"\([^)]*\)|none", fields["space directions"], re.IGNORECASE)
        for i, token in enumerate(tokens):
            if token.lower() == "none":
                if i in grid:
                    raise InputError(_unknown_spacing(what, path, i, "'none' in its space "
                                                      "directions"))
                continue
            numbers = re.findall(r"[^\s(),]+", token)
            if not _all_finite(numbers):
                raise InputError(_not_a_number(what, path, "space directions",
                                               fields["space directions"]))
            try:
                vectors.append([float(v) for v in numbers])
            except ValueError:
                return
    elif "spacings" in fields:
        for i, token in enumerate(fields["spacings"].split()):
            if i in grid and not _all_finite([token]):
                raise InputError(_unknown_spacing(what, path, i, f"spacings {token}"))
    if len(vectors) == 3 and all(len(v) == 3 and any(v) for v in vectors):
        # (a zero vector is a spacing of 0, refused in those words after ITK's reading)
        _check_axes_apart(path, what, "space directions", [x for v in vectors for x in v],
                          fields["space directions"])


def _check_axes_apart(path: Path, what: str, field: str, numbers: Sequence[float],
                      given: str) -> None:
    """Refuse a direction matrix (MetaImage ``TransformMatrix``, NRRD ``space directions``;
    ``numbers`` its nine values by row, ``given`` the header's text) two of whose axes are
    parallel or zero: the grid spans no volume (ITK fails with a bare matrix row, or reads a
    degenerate geometry)."""
    if len(numbers) != 9:
        return
    rows = np.asarray(numbers, dtype=float).reshape(3, 3)
    norms = np.linalg.norm(rows, axis=1)
    if np.all(norms > 0) and abs(float(np.linalg.det(rows / norms[:, None]))) >= 1e-6:
        return
    raise InputError(
        f"{what} file {path.name} gives {field} = {given!r}: two of its axes are "
        "parallel (or one is zero), so the grid spans no volume and has no geometry; the "
        "header is damaged, re-export the image")


def _unknown_spacing(what: str, path: Path, axis: int, given: str) -> str:
    """The message for a NRRD grid axis whose spacing is unknown."""
    return (f"{what} file {path.name} gives no spacing along its axis {axis} ({given}); ITK "
            "would read 1 mm there, so every volume, distance and interpolation would be a "
            "guess: give the axis its spacing in mm (a space direction vector), or export "
            "the image again")


def _no_spacing(what: str, path: Path, field: str) -> str:
    """The message for a MetaImage or NRRD header that gives no voxel spacing."""
    return (f"{what} file {path.name} gives no voxel spacing (no {field} in its header); "
            "ITK would read it as 1 mm along every axis, so every volume, distance and "
            "interpolation would be a guess: add the spacing in mm to the header, or export "
            "the image again")


def _check_voxel_bytes(path: Path, what: str, target: str, offset: int, skip: int,
                       expected: int, declared: str, *, compressed: bool = False) -> None:
    """The voxel data of a MetaImage or NRRD header must hold exactly ``expected`` bytes:
    in the file ``target`` beside it (after ``skip`` bytes), or after the header's
    ``offset`` bytes in the file itself when ``target`` is empty; ``compressed``, its zlib
    or gzip stream must be intact and inflate to them
    (:func:`~radiomix.io.integrity.check_compressed_data`)."""
    if target:
        data = path.parent / target
        if not data.is_file():
            raise InputError(f"{what} file {path.name} names its voxel data {target}, which is "
                             f"not in {path.parent}; copy it beside the header")
        start = skip
    else:
        data, start = path, offset
    subject = f"{what} file {path.name}: its voxel data" + (
        f" {data.name}" if data != path else "")
    if compressed:
        check_compressed_data(subject, data, start, expected, declared)
    else:
        check_data_bytes(subject, data.stat().st_size - start, expected, declared)


_NRRD_BYTES = {
    **dict.fromkeys(("signed char", "int8", "int8_t", "uchar", "unsigned char", "uint8",
                     "uint8_t"), 1),
    **dict.fromkeys(("short", "short int", "signed short", "signed short int", "int16",
                     "int16_t", "ushort", "unsigned short", "unsigned short int", "uint16",
                     "uint16_t"), 2),
    **dict.fromkeys(("int", "signed int", "int32", "int32_t", "uint", "unsigned int",
                     "uint32", "uint32_t", "float"), 4),
    **dict.fromkeys(("longlong", "long long", "long long int", "signed long long",
                     "signed long long int", "int64", "int64_t", "ulonglong",
                     "unsigned long long", "unsigned long long int", "uint64", "uint64_t",
                     "double"), 8),
}


_NRRD_COMPRESSED: dict[str, bool] = {"raw": False, "gzip": True, "gz": True}
"""NRRD encodings whose voxel bytes are checked, and whether they are compressed (ITK reads
no bzip2 NRRD and says so; text encodings are not checked)."""

_MM_NAMES = frozenset({"", "mm", "millimeter", "millimeters", "millimetre", "millimetres"})


def _check_nrrd(path: Path, what: str) -> None:
    """Refuse a NRRD whose ``space units`` (or per-axis ``units``) are not millimetres, and
    a raw or gzip one whose voxel data is shorter or longer than its ``sizes`` and
    ``type`` declare (ITK would read a too-long file through the wrong sizes) or whose
    compressed stream is damaged (ITK would read garbage).

    ITK ignores a NRRD's units and reads every spacing as millimetres: a file written in
    centimetres would give volumes 1000 times too small, without a word.
    """
    fields: dict[str, str] = {}
    offset = 0
    magic = False
    with path.open("rb") as fh:
        for raw in fh:
            offset += len(raw)
            line = raw.decode("latin-1").strip()
            if not line:
                break
            magic = magic or (offset == len(raw) and line.startswith("NRRD"))
            if line.startswith("#") or line.startswith("NRRD"):
                continue
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip().lower()] = value.lstrip("=").strip()
            if offset > 1 << 16:
                return
    if magic and "spacings" not in fields and "space directions" not in fields:
        raise InputError(_no_spacing(what, path, '"space directions" or "spacings"'))
    if magic:
        _check_nrrd_geometry(path, what, fields)
    for key in ("space units", "units"):
        units = re.findall(r'"([^"]*)"', fields.get(key, ""))
        other = [u for u in units if u.strip().lower() not in _MM_NAMES]
        if other:
            raise InputError(
                f"{what} file {path.name} gives its spacing in {other[0]!r} ({key}: "
                f"{fields[key]}); ITK ignores the unit and would read it as millimetres, so "
                "every volume and distance would be wrong: rewrite the file with its spacing "
                'in millimetres (space units: "mm" "mm" "mm")'
            )
    if fields.get("encoding", "").lower() in ("bzip2", "bz2"):
        raise InputError(
            f"{what} file {path.name} is bzip2-encoded, which ITK's NRRD reader cannot read: "
            "save it again with gzip or raw encoding")
    size = _NRRD_BYTES.get(fields.get("type", "").lower())
    target = fields.get("data file") or fields.get("datafile") or ""
    compressed = _NRRD_COMPRESSED.get(fields.get("encoding", "").lower())
    if (size is None or compressed is None or "byte skip" in fields
            or "byteskip" in fields or "line skip" in fields or " " in target.strip()
            or target.strip().upper().startswith("LIST") or "%" in target):
        return
    try:
        expected = size * math.prod(int(v) for v in fields.get("sizes", "").split())
    except ValueError:
        return
    _check_voxel_bytes(path, what, target, offset, 0, expected,
                       f"sizes {fields.get('sizes')} and type {fields.get('type')}",
                       compressed=compressed)


@contextlib.contextmanager
def itk_warnings_off() -> Iterator[None]:
    """ITK's warnings off inside the block (restored after): they are multi-line C++
    messages on stderr that name temporary files; what matters in them is checked and
    reported by radiomix itself (:func:`check_geometry`)."""
    import SimpleITK as sitk

    shown = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(shown)


def check_geometry(spacing: Sequence[float], origin: Sequence[float],
                   direction: Sequence[float], what: str) -> None:
    """Refuse an image geometry that no scanner writes: a spacing that is not a positive
    number, a non-finite origin, or direction cosines that are not orthonormal (a sheared
    or scaled grid, which every distance and volume of the case would silently get wrong).

    Raises
    ------
    InputError
        Naming the first problem found in ``what`` (e.g. ``image file x.mha``).
    """
    # on Python floats: numpy calls on 3 to 16 values cost more than the arithmetic
    sp = [float(v) for v in spacing]
    if not all(math.isfinite(v) and v > 0.0 for v in sp):
        raise InputError(f"{what} has a voxel spacing of {[round(v, 6) for v in sp]} "
                         "mm; a spacing must be a positive number: the header is damaged, "
                         "re-export the image")
    if not all(math.isfinite(float(v)) for v in origin):
        raise InputError(f"{what} has a non-finite origin; the header is damaged, re-export "
                         "the image")
    d = [float(v) for v in direction]
    n = round(math.sqrt(len(d)))
    if not (all(map(math.isfinite, d)) and _orthonormal(d, n)):
        raise InputError(f"{what} has direction cosines that are not orthonormal (a sheared "
                         "or scaled grid); radiomix needs an orthonormal image grid: resample "
                         "the image onto one (e.g. with SimpleITK) first")


def _orthonormal(d: list[float], n: int) -> bool:
    """Whether the row-major ``n`` x ``n`` matrix ``d`` has orthonormal columns: every
    element of ``d.T @ d - I`` below 1e-3. An element within rounding of 1e-3 is decided
    by numpy's matrix product, whose summation order the threshold was set with."""
    for i in range(n):
        for j in range(i, n):
            dot = 0.0
            for k in range(n):
                dot += d[k * n + i] * d[k * n + j]
            deviation = abs(dot - (1.0 if i == j else 0.0))
            if not deviation < 1e-3 - 1e-9:  # near or above the threshold, or NaN
                if not deviation <= 1e-3 + 1e-9:
                    return False
                m = np.asarray(d, dtype=np.float64).reshape(n, n)
                return bool(np.abs(m.T @ m - np.eye(n)).max() < 1e-3)
    return True


def _read_nifti(
    path: Path,
    *,
    digests: dict[Path, str] | None = None,
    ranges: dict[Path, tuple[float, float]] | None = None,
) -> Volume | None:
    """A 3D scalar NIfTI image as ``sitk.ReadImage`` returns it, with one decompression.

    The file is decompressed once in memory and checked (:func:`~radiomix.io.integrity.
    read_nifti`); its voxels become the image. The geometry (origin, spacing, direction:
    ITK's qform/sform choice and its RAS to LPS sign flips) is ITK's arithmetic on the
    header (:func:`radiomix.io.nifti_geometry.itk_geometry`: scalar 3D headers whose
    reading is unambiguous, tested bit for bit against SimpleITK), or else ITK's own, with
    the pixel type, from ``ImageFileReader.ReadImageInformation`` on the same header bytes
    (:func:`_header_information`).
    ``sitk.ReadImage`` reads the file instead (``None`` is returned) whenever ITK would
    not return the stored voxels unchanged (scaling by ``scl_slope`` / ``scl_inter``, a
    pixel type other than the stored one, vector or non-scalar data) or the image is not
    3D: never a silently different image; and when its qform and sform disagree
    (:func:`~radiomix.io.nifti_geometry.form_disagreement`), so that the image SimpleITK
    returns carries the note of :func:`_note_forms`. ``digests`` receives the SHA-256 of
    the file's bytes (:func:`~radiomix.io.integrity.read_nifti`); ``ranges`` the minimum
    and maximum of its float voxels, when the image is returned (they are its voxels).

    Returns
    -------
    image : Volume or None
        The image, or ``None`` where SimpleITK must read the file.

    Raises
    ------
    InputError
        A truncated or corrupt file, or NaN/inf voxels (the messages of
        :func:`~radiomix.io.integrity.check_nifti`).
    """
    found: dict[Path, tuple[float, float]] = {}
    layout, data = read_nifti(path, digests=digests, ranges=found)
    dtype = layout.dtype
    if (
        dtype is None
        or len(layout.dims) != 3
        or dtype.itemsize * 8 != layout.bitpix
        or layout.scl_slope not in (0.0, 1.0)
        or layout.scl_inter != 0.0
    ):
        return None
    pixel = _SITK_PIXEL.get(f"{dtype.kind}{dtype.itemsize}")
    if pixel is None:
        return None
    header = bytes(data[: layout.vox_offset])
    if form_disagreement(header) is not None:
        return None  # SimpleITK reads it, and the caller says which form it took
    geometry = itk_geometry(header)  # ITK's arithmetic on the header (scalar 3D only)
    if geometry is None:
        info = _header_information(header)
        if (
            info is None
            or info.GetDimension() != 3
            or info.GetNumberOfComponents() != 1
            or info.GetPixelID() != _sitk_pixel_id(pixel)
            or tuple(info.GetSize()) != layout.dims
        ):
            return None
        geometry = Geometry(info.GetSpacing(), info.GetOrigin(), info.GetDirection())
    count = layout.data_bytes // dtype.itemsize
    voxels = np.frombuffer(data, dtype=dtype, count=count, offset=layout.vox_offset)
    if not voxels.dtype.isnative:
        voxels = voxels.astype(dtype.newbyteorder("="))
    voxels.flags.writeable = False
    if ranges is not None:
        ranges.update(found)
    # NIfTI stores x fastest: C order (z, y, x) is SimpleITK's array order
    return Volume(
        voxels.reshape(layout.dims[::-1]),
        geometry.spacing,
        geometry.origin,
        geometry.direction,
    )


def _sitk_pixel_id(name: str) -> int:
    import SimpleITK as sitk

    return int(getattr(sitk, name))


def _header_information(header: bytes) -> sitk.ImageFileReader | None:
    """ITK's reading of a NIfTI header alone (``ReadImageInformation``), or ``None``.

    ITK derives the geometry and pixel type from the header only, but on a ``.nii.gz``
    file its header read decompresses the whole stream again (6 ms for a 0.5 MB CT).
    The header bytes (with their extensions, up to ``vox_offset``) are written to a
    temporary ``.nii`` file instead, which ITK reads in well under a millisecond, with
    the same result (checked on every NIfTI file of the sarcoma and IBSI data).
    """
    import tempfile

    import SimpleITK as sitk

    fd, name = tempfile.mkstemp(suffix=".nii", prefix="radiomix-header-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(header)
        info = sitk.ImageFileReader()
        info.SetFileName(name)
        with itk_warnings_off():
            info.ReadImageInformation()
    except (OSError, RuntimeError):
        return None  # sitk.ReadImage then reads (or reports) the file itself
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
    return info


def _as_3d(image: sitk.Image, path: Path, *, what: str) -> sitk.Image:
    """A 3D image: a 4D image with a single volume is reduced to it; others are refused."""
    dim = image.GetDimension()
    if dim == 3:
        return image
    size = image.GetSize()
    if dim == 4 and size[3] == 1:
        import SimpleITK as sitk

        return sitk.Extract(image, (*size[:3], 0), (0, 0, 0, 0))
    if dim == 4:
        raise InputError(
            f"{what} {path} is 4D with {size[3]} volumes (size {size}); radiomix needs one 3D "
            "volume: extract the one to use first (e.g. fslroi or sitk.Extract)"
        )
    raise InputError(
        f"{what} {path} is {dim}D (size {size}); radiomix needs a 3D volume (a single slice "
        "must be stored as a 3D image of one slice)"
    )


def _modality(path: Path) -> str | None:
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:
        return None
    return str(ds.get("Modality", ""))


def _not_a_mask_object(path: Path, modality: str | None) -> InputError:
    """Why a file without an image suffix is not a mask: a damaged DICOM file, a DICOM
    object of another kind, or no DICOM at all."""
    import pydicom

    if modality is None and pydicom.misc.is_dicom(path):
        return DicomError(
            f"mask {path.name} is a damaged DICOM file (it cannot be parsed: cut short or "
            "corrupted in transfer); copy or export it again"
        )
    if modality is not None:
        return DicomError(
            f"mask {path.name} is a DICOM {modality or 'object without Modality'} object, not "
            "an RTSTRUCT or a DICOM SEG: pass the structure set or segmentation drawn on "
            "this image"
        )
    return InputError(
        f"unsupported mask format: {path.name} (expected {', '.join(FILE_SUFFIXES)}, an "
        "RTSTRUCT or a DICOM SEG)"
    )


def is_dicom_object(path: str | Path) -> bool:
    """True when ``path`` is a single DICOM file (RTSTRUCT, SEG, ...) rather than a label
    image file or a folder."""
    path = path if isinstance(path, Path) else Path(path)
    return (
        not str(path).lower().endswith(FILE_SUFFIXES)
        and path.is_file()
        and _modality(path) is not None
    )


def check_mask_options(
    name: str,
    modality: str | None,
    *,
    roi_name: str | None = None,
    segment: int | str | None = None,
) -> None:
    """Refuse a ROI option that the kind of mask cannot use (it would be ignored).

    A label image (``modality`` ``None``) holds label values and no names, an RTSTRUCT
    names its ROIs and has no label values, and a DICOM SEG segment is chosen either by
    number or by label: the option that does not apply is refused rather than dropped.

    Parameters
    ----------
    name : str
        File name of the mask, for the message.
    modality : str or None
        ``"RTSTRUCT"``, ``"SEG"`` or another DICOM modality; ``None`` for a label image.
    roi_name : str, optional
        ROI name (``--roi-name``, ``roi_name=``).
    segment : int or str, optional
        Label value or SEG segment number (``--label``, ``label=``).

    Raises
    ------
    UsageError
        The option, the kind of mask and what to give instead.

    Examples
    --------
    >>> check_mask_options("RS.dcm", "RTSTRUCT", roi_name="GTV")   # applies: no error
    >>> check_mask_options("RS.dcm", "RTSTRUCT", segment=7)
    Traceback (most recent call last):
    ...
    radiomix.errors.UsageError: label 7 does not apply to the RTSTRUCT mask RS.dcm, ...
    """
    if modality == "RTSTRUCT" and segment is not None:
        raise UsageError(
            f"label {segment} does not apply to the RTSTRUCT mask {name}, whose ROIs are "
            "chosen by name: drop the label and give the ROI name (--roi-name NAME, "
            "roi_name=, the roi_name column)"
        )
    if modality is None and roi_name is not None:
        raise UsageError(
            f"roi_name {roi_name!r} does not apply to the label-image mask {name}, which has "
            "label values, not names: drop the ROI name and give the label value (--label N, "
            "label=, the label column)"
        )
    if modality == "SEG" and segment is not None and roi_name is not None:
        raise UsageError(
            f"the SEG mask {name} was given both a segment number (label {segment}) and a "
            f"segment label (roi_name {roi_name!r}); give one of them"
        )


def load_mask(
    path: str | Path,
    reference: Volume | sitk.Image,
    *,
    roi_name: str | None = None,
    segment: int | str | None = None,
) -> sitk.Image:
    """Load a mask as a SimpleITK image (see :func:`read_mask`)."""
    return read_mask(path, reference, roi_name=roi_name, segment=segment).to_sitk()


def read_mask(
    path: str | Path,
    reference: Volume | sitk.Image,
    *,
    roi_name: str | None = None,
    segment: int | str | None = None,
    digests: dict[Path, str] | None = None,
) -> Volume:
    """Load a mask: label image file, RTSTRUCT (rasterised on ``reference``) or DICOM SEG.

    Parameters
    ----------
    path : str or Path
        Mask file.
    reference : Volume or SimpleITK.Image
        The image; RTSTRUCT contours are rasterised on its grid.
    roi_name : str, optional
        RTSTRUCT ROI name, or SEG segment label.
    segment : int or str, optional
        SEG segment number (or label).
    digests : dict, optional
        Receives the SHA-256 of a NIfTI mask file's bytes
        (:func:`radiomix.io.integrity.read_nifti`).

    Returns
    -------
    mask : Volume
        The mask with its own geometry and label values (checked later by
        :func:`radiomix.check.check_case`).

    Raises
    ------
    UsageError
        An option that does not apply to this kind of mask, which would otherwise be
        ignored: a ``segment`` (``--label``) for an RTSTRUCT, whose ROIs have names only; a
        ``roi_name`` for a label image, whose ROIs have values only; both for a SEG (one
        segment is chosen by number or by label).
    InputError
        The mask cannot be read (and its subclasses).
    """
    path = path if isinstance(path, Path) else Path(path)
    found = file_stat(path)
    if found is None:
        raise InputNotFoundError(f"mask not found: {path}")
    label_image = str(path).lower().endswith(FILE_SUFFIXES)
    if stat.S_ISREG(found.st_mode) and not label_image:
        modality = _modality(path)
        if modality in ("RTSTRUCT", "SEG"):
            check_mask_options(path.name, modality, roi_name=roi_name, segment=segment)
        if modality == "RTSTRUCT":
            from radiomix.io.rtstruct import rasterise_rtstruct

            return Volume.from_sitk(
                rasterise_rtstruct(path, as_sitk(reference), roi_name=roi_name)
            )
        if modality == "SEG":
            from radiomix.io.seg import read_seg

            return Volume.from_sitk(
                read_seg(
                    path, segment=segment if segment is not None else roi_name,
                    reference=as_sitk(reference),
                )
            )  # fmt: skip
        raise _not_a_mask_object(path, modality)
    if stat.S_ISDIR(found.st_mode):
        raise InputError(
            f"mask path {path} is a folder; pass the mask file (NIfTI, RTSTRUCT or SEG)"
        )
    if not label_image:
        raise InputError(
            f"unsupported mask format: {path} (expected {', '.join(FILE_SUFFIXES)}, an "
            "RTSTRUCT or a DICOM SEG)"
        )
    check_mask_options(path.name, None, roi_name=roi_name, segment=segment)
    mask = _read_file(path, what="mask", size=found.st_size, digests=digests)
    if isinstance(mask, Volume):
        return mask
    if mask.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            f"mask {path} has {mask.GetNumberOfComponentsPerPixel()} components per voxel; "
            "a label image is needed"
        )
    return Volume.from_sitk(_as_3d(mask, path, what="mask"))
