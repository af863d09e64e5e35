"""ITK's voxel-to-world geometry of a NIfTI-1 header, computed from the header bytes.

SimpleITK reads the origin, spacing and direction of a NIfTI file with ITK's
``NiftiImageIO`` (ITK 5.4): the NIfTI-1 library turns the header into two single-precision
4 x 4 matrices (the qform from the quaternion fields, the sform from the ``srow`` rows),
ITK chooses one of them, converts it from RAS to ITK's LPS convention and normalises its
columns into direction cosines; the spacing is ``pixdim``. Asking ITK for this costs more
than a millisecond a file (its header read needs a file on disk), so
:func:`itk_geometry` does the same arithmetic on the header bytes, in the same precision
(float32 matrices, float64 normalisation, the same operation order), for the headers
whose reading is unambiguous, and returns ``None`` for every other header so that the
caller asks ITK itself:

- NIfTI-1 single-file or pair magic, three dimensions, positive finite ``pixdim``, spatial
  units millimetres or unknown (no unit scaling), no vector or matrix intent;
- ``qform_code`` and ``sform_code`` between 0 and 4;
- each decision ITK takes on the way (are the two matrices alike to 1e-5, is the sform an
  invertible affine whose normalised columns are orthonormal to 1e-4) is taken here only
  when the values are clearly on one side of ITK's threshold (a factor of 3 or more);
  near a threshold, and where ITK compares the two matrices through their singular value
  decompositions (an sform code other than scanner-anatomical beside a qform), the header
  is left to ITK.

These are the rules of ITK 5.4 (SimpleITK 2.4 and 2.5); with another installed SimpleITK
(whose ITK may choose differently) every header is left to ITK, so radiomix always reads a
file as the installed SimpleITK does. The equality with ``SimpleITK.ReadImage`` (bit for
bit: the same float operations) is tested on every NIfTI file of the data folder and on
generated headers of every branch (``tests/io/test_nifti_geometry_itk.py``).
"""

from __future__ import annotations

import functools
import math
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

_UNITS_NO_SCALE = (0, 2)  # NIFTI_UNITS_UNKNOWN, NIFTI_UNITS_MM
_SCALAR_INTENTS = (0, 1002)  # NIFTI_INTENT_NONE, NIFTI_INTENT_LABEL
_MARGIN = 3.0  # a decision is taken here only this far from ITK's threshold
_MIN_PIXDIM = float(np.float32(1e-3))  # the smallest grid spacing, as a float32 compares it
ITK_RULES_SIMPLEITK = ((2, 4), (3, 0))
"""SimpleITK versions [from, to) built on the ITK whose NIfTI rules are reproduced here."""


@dataclass(frozen=True, slots=True)
class Geometry:
    """Spacing, origin (x, y, z, mm) and direction (row-major 3 x 3) as SimpleITK reports."""

    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]


class _Unclear(Exception):
    """A decision of ITK's too close to its threshold to be taken here."""


def _byte_order(header: bytes) -> str | None:
    """``"<"`` or ``">"``: the byte order of a NIfTI-1 header (its ``sizeof_hdr`` reads 348),
    or ``None`` for bytes that are no NIfTI-1 header (too short, another size or magic)."""
    if len(header) < 348 or header[344:348] not in (b"n+1\x00", b"ni1\x00"):
        return None
    for order in ("<", ">"):
        if struct.unpack_from(order + "i", header)[0] == 348:
            return order
    return None


def itk_geometry(header: bytes) -> Geometry | None:
    """ITK's geometry of a NIfTI-1 header, or ``None`` where ITK must be asked.

    Parameters
    ----------
    header : bytes
        At least the 348 bytes of the NIfTI-1 header.

    Returns
    -------
    Geometry or None
        What ``SimpleITK.ReadImage`` reports for the file, or ``None`` for a header outside
        the unambiguous cases listed in the module docstring.
    """
    if not _itk_rules_apply():
        return None
    order = _byte_order(header)
    if order is None:
        return None
    # the fields as Python floats (each float32 value exactly): a few numpy calls on 3 to
    # 12 values cost more than the arithmetic
    ndim = struct.unpack_from(order + "h", header, 40)[0]
    intent = struct.unpack_from(order + "h", header, 68)[0]
    pixdim = struct.unpack_from(order + "8f", header, 76)
    units = header[123] & 0x07
    qcode, scode = struct.unpack_from(order + "2h", header, 252)
    quat = struct.unpack_from(order + "6f", header, 256)  # quatern_b, c, d, qoffset_x, y, z
    srow = struct.unpack_from(order + "12f", header, 280)
    if (
        ndim != 3
        or intent not in _SCALAR_INTENTS
        or units not in _UNITS_NO_SCALE
        or not 0 <= qcode <= 4
        or not 0 <= scode <= 4
        or not all(map(math.isfinite, pixdim[:4] + quat + srow))
        or not min(pixdim[1:4]) >= _MIN_PIXDIM
    ):
        return None
    spacing = (pixdim[1], pixdim[2], pixdim[3])
    if qcode == 0 and scode == 0:
        return Geometry(spacing, (0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0))
    # the two float32 matrices as rows of Python floats (the srow fields are float32 values)
    sto = ([list(srow[0:4]), list(srow[4:8]), list(srow[8:12]), [0.0, 0.0, 0.0, 1.0]]
           if scode > 0 else [[0.0] * 4 for _ in range(4)])
    try:
        m = _chosen_matrix(lambda: _qform_matrix(quat, pixdim, qcode).tolist(), sto, qcode,
                           scode)
    except _Unclear:
        return None
    if m is None:
        return None
    origin = (-m[0][3], -m[1][3], m[2][3])
    columns = [_normalised([-m[0][j], -m[1][j], m[2][j]]) for j in range(3)]
    direction = tuple(columns[j][i] for i in range(3) for j in range(3))
    return Geometry(spacing, origin, direction)


def has_no_orientation(header: bytes) -> bool:
    """Whether a NIfTI-1 header gives its voxels no place in the scanner.

    A header whose ``qform_code`` and ``sform_code`` are both 0 (as some conversion and
    segmentation tools write) places voxel (0, 0, 0) at the origin with identity axes,
    whatever the scan: its grid cannot be matched to another image's, and resampling
    would put the voxels at an arbitrary place.

    Parameters
    ----------
    header : bytes
        The first bytes of the file (at least 348; fewer, or no NIfTI-1 header: False).
    """
    if len(header) < 348 or header[344:348] not in (b"n+1\x00", b"ni1\x00"):
        return False
    for order in ("<", ">"):
        if struct.unpack_from(order + "i", header)[0] == 348:
            return struct.unpack_from(order + "2h", header, 252) == (0, 0)
    return False


@functools.cache
def _itk_rules_apply() -> bool:
    """Whether the installed SimpleITK is one whose ITK reads NIfTI geometry by these rules
    (its version from the package metadata: SimpleITK itself is not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        numbers = re.findall(r"\d+", version("SimpleITK"))
    except PackageNotFoundError:
        return False
    if len(numbers) < 2:
        return False
    installed = (int(numbers[0]), int(numbers[1]))
    low, high = ITK_RULES_SIMPLEITK
    return low <= installed < high


def _qform_matrix(
    quat: Sequence[float] | np.ndarray, pixdim: Sequence[float] | np.ndarray, qcode: int
) -> np.ndarray:
    """The NIfTI-1 library's qform matrix (float32 4 x 4) from the quaternion fields.

    Without a qform code it is the diagonal of the grid spacings. Otherwise the rotation of
    the quaternion (b, c, d) with a = sqrt(1 - b² - c² - d²) (a 180° rotation when that
    is below 1e-7), scaled by the grid spacings, the last column flipped when
    ``pixdim[0]`` (qfac) is negative, computed in double precision and stored in single.
    """
    if qcode == 0:
        return np.diag([pixdim[1], pixdim[2], pixdim[3], 1.0]).astype(np.float32)
    b, c, d = (float(v) for v in quat[:3])
    a = 1.0 - (b * b + c * c + d * d)
    if a < 1e-7:
        a = 1.0 / math.sqrt(b * b + c * c + d * d)
        b *= a
        c *= a
        d *= a
        a = 0.0
    else:
        a = math.sqrt(a)
    xd, yd, zd = (float(v) for v in pixdim[1:4])  # all > 0 (checked by the caller)
    if float(pixdim[0]) < 0.0:
        zd = -zd
    r = np.array(
        [
            [(a * a + b * b - c * c - d * d) * xd, 2.0 * (b * c - a * d) * yd,
             2.0 * (b * d + a * c) * zd, float(quat[3])],
            [2.0 * (b * c + a * d) * xd, (a * a + c * c - b * b - d * d) * yd,
             2.0 * (c * d - a * b) * zd, float(quat[4])],
            [2.0 * (b * d - a * c) * xd, 2.0 * (c * d + a * b) * yd,
             (a * a + d * d - c * c - b * b) * zd, float(quat[5])],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )  # fmt: skip
    return r.astype(np.float32)


Matrix = list[list[float]]
"""A 4 x 4 matrix as rows of Python floats (the float32 values of a qform or sform)."""


def _chosen_matrix(
    qform: Callable[[], Matrix], sto: Matrix, qcode: int, scode: int
) -> Matrix | None:
    """The matrix ITK takes (sform or qform); ``None`` where ITK compares SVDs or fails.

    ``qform`` gives the qform matrix (computed only when the sform does not decide).

    ITK prefers the sform when it is an invertible affine with orthonormal directions and
    the qform code is unknown or the sform code is scanner-anatomical; an sform that is not
    is still taken when it equals the qform element-wise; otherwise the qform, unless its
    code is unknown (ITK then refuses the file).

    Raises
    ------
    _Unclear
        A decision that matters is too close to ITK's threshold.
    """
    if scode == 0:
        # the empty sform is neither alike a qform of positive spacings nor an affine
        return qform() if qcode > 0 else None
    if _orthonormal_affine(sto):
        if qcode == 0 or scode == 1:
            return sto
        return None  # both codes known, sform not scanner-anatomical: ITK's SVD test
    qto = qform()
    if _alike(sto, qto):
        return sto
    return qto if qcode > 0 else None


def _alike(sto: Matrix, qto: Matrix) -> bool:
    """ITK's element-wise comparison of the two float32 matrices, taken clearly or not
    (the differences in double precision: a float32 rounding of them moves no decision
    taken this far from the thresholds)."""
    rot = max(abs(sto[i][j] - qto[i][j]) for i in range(3) for j in range(3))
    trans = sum(abs(sto[i][3] - qto[i][3]) for i in range(4))
    bottom = sum(abs(sto[3][j] - qto[3][j]) for j in range(4))
    return (
        _clearly_below(rot, 1e-5) and _clearly_below(trans, 1e-7) and _clearly_below(bottom, 1e-7)
    )


def _clearly_below(value: float, threshold: float) -> bool:
    """``value <= threshold`` when clearly so, False when clearly above, else unclear."""
    if value <= threshold / _MARGIN:
        return True
    if value > threshold * _MARGIN:
        return False
    raise _Unclear


def _orthonormal_affine(sto: Matrix | np.ndarray) -> bool:
    """ITK's test that the sform (4 x 4, rows) is an invertible affine with orthonormal
    directions."""
    m = sto.tolist() if isinstance(sto, np.ndarray) else sto
    # ITK's affine test checks the conditioning of the 4 x 4 (its singular values' ratio
    # above 1e-10) and 3 x 3 inverses. For an affine (last row 0, 0, 0, 1) the product of
    # the Frobenius norms of the matrix and its inverse bounds the ratio from below; the
    # SVD is needed only where that bound leaves it unclear
    if not _clearly_invertible(m) and not _singular_ratio(m) > 1e-10:
        raise _Unclear
    (a, b, c, _), (d, e, f, _), (g, h, k, _) = m[0], m[1], m[2]
    norms = (math.sqrt(a * a + d * d + g * g), math.sqrt(b * b + e * e + h * h),
             math.sqrt(c * c + f * f + k * k))  # none is 0: the affine is invertible
    rows = [(x / norms[0], y / norms[1], z / norms[2]) for x, y, z in ((a, b, c), (d, e, f),
                                                                         (g, h, k))]
    # the columns normalised, times their transpose (symmetric: six products), minus I
    deviation = 0.0
    for i in range(3):
        for j in range(i, 3):
            dot = rows[i][0] * rows[j][0] + rows[i][1] * rows[j][1] + rows[i][2] * rows[j][2]
            deviation = max(deviation, abs(dot - 1.0) if i == j else abs(dot))
    # conditioning of the 3 x 3 part: columns orthonormal to 1e-2 once normalised bound
    # its condition number by 1.04 times the ratio of their lengths (Gershgorin), so the
    # SVD is needed only for other grids
    clear = deviation <= 1e-2 and max(norms) <= 1e5 * min(norms)
    if not clear and np.linalg.cond(np.array(m)[:3, :3]) > 1e6:
        raise _Unclear
    return _clearly_below(deviation, 1e-4)


def _singular_ratio(m: Matrix) -> float:
    """Smallest over largest singular value of the 4 x 4 matrix ``m``."""
    sv = np.linalg.svd(np.array(m), compute_uv=False)
    return float(sv[-1] / sv[0])


_FROBENIUS_BOUND = 1e9
"""Largest product of the Frobenius norms of an affine and its inverse taken as clearly
well conditioned: the ratio of its singular values is then above 1e-9, ten times ITK's
1e-10 (rounding in the inverse is far below that margin)."""


def _clearly_invertible(m: Matrix) -> bool:
    """Whether the 4 x 4 ``m`` is an affine (last row 0, 0, 0, 1) whose smallest singular
    value is clearly above 1e-10 times its largest: ``||M||_F ||M^-1||_F``, which bounds
    their inverse ratio from above, is below :data:`_FROBENIUS_BOUND`
    (``M^-1 = [[A^-1, -A^-1 t], [0, 1]]``, ``A^-1`` by cofactors)."""
    if m[3] != [0.0, 0.0, 0.0, 1.0]:
        return False
    (a, b, c, t0), (d, e, f, t1), (g, h, k, t2) = m[0], m[1], m[2]
    co = (e * k - f * h, f * g - d * k, d * h - e * g)  # cofactors of the first row
    det = a * co[0] + b * co[1] + c * co[2]
    if not (math.isfinite(det) and det != 0.0):
        return False
    inv = [
        [co[0] / det, (c * h - b * k) / det, (b * f - c * e) / det],
        [co[1] / det, (a * k - c * g) / det, (c * d - a * f) / det],
        [co[2] / det, (b * g - a * h) / det, (a * e - b * d) / det],
    ]
    shift = [inv[i][0] * t0 + inv[i][1] * t1 + inv[i][2] * t2 for i in range(3)]
    norm = 1.0 + sum(v * v for row in m[:3] for v in row)
    norm_inv = 1.0 + sum(v * v for row in inv for v in row) + sum(v * v for v in shift)
    return math.isfinite(norm * norm_inv) and norm * norm_inv < _FROBENIUS_BOUND**2


def _normalised(v: list[float]) -> tuple[float, float, float]:
    """ITK's ``Normalize``: divide by the root of the sum of squares (in this order)."""
    total = 0.0
    for x in v:
        total += x * x
    if total == 0.0:
        return (v[0], v[1], v[2])
    norm = math.sqrt(total)
    return (v[0] / norm, v[1] / norm, v[2] / norm)


FORMS_SHIFT_VOXELS = 0.1
"""Largest distance, in voxels (of the smallest spacing), between the places a NIfTI
header's qform and sform give a voxel of the grid before :func:`form_disagreement` reports
them."""

FORMS_DIRECTION_TOLERANCE = 1e-3
"""Largest difference between the qform's and the sform's direction cosines before
:func:`form_disagreement` reports them."""


@dataclass(frozen=True, slots=True)
class FormDisagreement:
    """A NIfTI-1 header whose qform and sform (both declared) place the grid differently.

    Attributes
    ----------
    shift_mm : float
        Largest distance (mm) between a grid corner's places under the two.
    direction : float
        Largest difference between their direction cosines.
    qform, sform : tuple of (origin, direction)
        Each one's origin and row-major direction in ITK's LPS convention (as SimpleITK
        would report the image if it took that one).
    """

    shift_mm: float
    direction: float
    qform: tuple[tuple[float, ...], tuple[float, ...]]
    sform: tuple[tuple[float, ...], tuple[float, ...]]

    def used(self, origin: tuple[float, ...], direction: tuple[float, ...]) -> str:
        """``"sform"`` or ``"qform"``: the one whose geometry an image read from the file
        has (the nearer in origin and direction)."""

        def distance(form: tuple[tuple[float, ...], tuple[float, ...]]) -> float:
            return (float(np.max(np.abs(np.subtract(form[0], origin))))
                    + 1e3 * float(np.max(np.abs(np.subtract(form[1], direction)))))

        return "sform" if distance(self.sform) <= distance(self.qform) else "qform"


def form_disagreement(header: bytes) -> FormDisagreement | None:
    """How far a NIfTI-1 header's qform and sform disagree, when both are declared.

    SimpleITK (ITK) takes one of the two (the sform when it is a rigid affine, see
    :func:`_chosen_matrix`) and says nothing of the other; FSL, nibabel and most viewers
    may take the other, and put the image elsewhere.

    Parameters
    ----------
    header : bytes
        The first 348 bytes (or more) of the decompressed file.

    Returns
    -------
    FormDisagreement or None
        ``None`` when the header is not NIfTI-1, a code is 0 (one form only), a spacing is
        not positive, or the two place every grid corner within
        :data:`FORMS_SHIFT_VOXELS` of the smallest spacing and their direction cosines agree
        within :data:`FORMS_DIRECTION_TOLERANCE`.
    """
    order = _byte_order(header)
    if order is None:
        return None
    qcode, scode = struct.unpack_from(order + "2h", header, 252)
    if qcode <= 0 or scode <= 0:
        return None
    dim = struct.unpack_from(order + "8h", header, 40)
    pixdim = struct.unpack_from(order + "8f", header, 76)
    quat = struct.unpack_from(order + "6f", header, 256)
    rows = struct.unpack_from(order + "12f", header, 280)
    spacing = pixdim[1:4]
    # (the checks on Python floats: a few numpy calls on 3 to 12 values cost more)
    if not (all(map(math.isfinite, spacing + quat + rows)) and min(spacing) > 0):
        return None
    qto = _qform_matrix(quat, pixdim, qcode)
    if qto[:3].ravel().tolist() == list(rows):
        return None  # one placement written twice (the usual header): nothing to compare
    q = qto.astype(np.float64)[:3]
    srow = np.reshape(rows, (3, 4))
    ndim = max(1, min(int(dim[0]), 3))
    extent = [max(int(dim[j + 1]) - 1, 0) if j < ndim else 0 for j in range(3)]
    corners = np.array([[i, j, k, 1.0] for i in (0, extent[0]) for j in (0, extent[1])
                        for k in (0, extent[2])]).T
    shift = float(np.max(np.linalg.norm(q @ corners - srow @ corners, axis=0)))
    directions = []
    for m in (q, srow):
        top = m[:, :3]
        norms = np.linalg.norm(top, axis=0)
        if not np.all(norms > 0):
            return None  # an empty sform: ITK takes the qform, nothing disagrees
        directions.append(top / norms)
    turn = float(np.max(np.abs(directions[0] - directions[1])))
    if shift <= FORMS_SHIFT_VOXELS * min(spacing) and turn <= FORMS_DIRECTION_TOLERANCE:
        return None
    ras_to_lps = np.array([-1.0, -1.0, 1.0])

    def lps(m: np.ndarray, d: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return (tuple(float(v) for v in m[:, 3] * ras_to_lps),
                tuple(float(v) for v in (d * ras_to_lps[:, None]).ravel()))

    return FormDisagreement(shift, turn, lps(q, directions[0]), lps(srow, directions[1]))
