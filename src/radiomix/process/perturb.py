"""Image and mask perturbations for feature-robustness analysis (Zwanenburg et al. 2019).

Each perturbation takes one image and its binary ROI mask (SimpleITK images on the same
grid) and returns a perturbed pair on the same grid. A perturbation is named by a short
*spec* string, ``kind`` or ``kind:value``:

``original``
    The unperturbed pair (the reference "rater").
``volume:D``
    Mask growth (``D > 0``) or shrinkage (``D < 0``) by ``|D|`` millimetres: every voxel
    whose centre lies within ``D`` mm (physical distance, image spacing) of the ROI is
    added, or every ROI voxel within ``|D|`` mm of the background is removed. A distance
    that changes no voxel (``|D|`` below the voxel spacing) is refused for the lesion: an
    unchanged mask would read as a perfectly reproducible rater.
``contour:K``
    Supervoxel-based contour randomisation, draw ``K`` (1, 2, ...): the image around the
    ROI is over-segmented into supervoxels (:func:`skimage.segmentation.slic`, about
    :data:`SUPERVOXEL_SIZE` voxels each, spacing relative to the smallest voxel spacing, so
    the supervoxels depend on the voxel grid's shape, not its size in mm) and each
    supervoxel enters the new ROI with probability equal to the fraction of it covered by
    the original ROI.
``rotation:A``
    Rotation of image and mask together by ``A`` degrees about the image's stored slice
    axis (the third axis of the voxel grid, its direction cosine in the header) through the
    ROI centroid (image: linear interpolation; mask: linear interpolation of the binary
    mask, threshold 0.5). That is the cranio-caudal axis only for axial images: a sagittal
    or coronal acquisition is rotated about its own slice normal. Angles are taken modulo
    360: a multiple of 360 is refused as the identity. Background outside the original
    field of view is filled with the image minimum.
``translation:F``
    Translation of image and mask together by the fraction ``F`` of a voxel along every
    axis (sub-voxel shifts: the perturbation acts through interpolation). ``F = 0.5`` is
    refused: it would grow the ROI (:data:`TIED_TRANSLATION`).
``noise:M``
    Additive Gaussian noise with standard deviation ``M`` times the image's estimated noise
    level (:func:`estimate_noise_sigma`), drawn independently per voxel. The mask is kept.

Every random draw comes from a :class:`numpy.random.Generator` seeded from ``seed`` and
the spec, so the same case, spec and seed give the same perturbed pair.

References
----------
Zwanenburg A, Leger S, Agolli L, et al. Assessing robustness of radiomic features by image
perturbation. Sci Rep 2019;9:614. doi:10.1038/s41598-018-36938-4
Achanta R, Shaji A, Smith K, et al. SLIC superpixels compared to state-of-the-art
superpixel methods. IEEE TPAMI 2012;34(11):2274-2282.
Donoho DL, Johnstone IM. Ideal spatial adaptation by wavelet shrinkage. Biometrika
1994;81(3):425-455 (median absolute deviation noise estimate).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from radiomix.errors import EmptyRoiError, InputError, SettingsError

if TYPE_CHECKING:
    import SimpleITK as sitk

PerturbationKind = Literal["original", "volume", "contour", "rotation", "translation", "noise"]
KINDS: tuple[str, ...] = ("original", "volume", "contour", "rotation", "translation", "noise")
DEFAULT_PERTURBATIONS: tuple[str, ...] = (
    "original",
    "volume:-1",
    "volume:+1",
    "contour:1",
    "contour:2",
    "rotation:+5",
    "translation:0.25",
    "noise:1",
)
"""Default perturbation set: the unperturbed pair, ±1 mm growth, two contour draws, a 5°
rotation, a quarter-voxel translation and noise at the image's own level (8 raters)."""

TIED_TRANSLATION = 0.5
"""The voxel fraction refused for ``translation``: linear interpolation of the binary mask
then gives exactly 0.5 on both sides of every boundary face (a flat face's voxel and its
outer neighbour each get half), and the >= 0.5 rule keeps both. Other fractions leave no
tie (0.25: corner weights 27, 9, 3 and 1 sixty-fourths never sum to 32)."""

_SPEC = re.compile(r"^(original|volume|contour|rotation|translation|noise)(?::(.*))?$")
FULL_TURN = 360.0
"""Rotation angles are taken modulo this many degrees: a multiple of it is the identity."""
_ANGLE_TOL = 1e-9  # degrees: angles closer than this modulo 360 are the same rotation


def angle_key(degrees: float) -> float:
    """A rotation angle reduced modulo 360 degrees into ``[0, 360)``, with angles within
    1e-9 degrees of a full turn reading as 0 (``rotation:365`` and ``rotation:-355`` are
    ``rotation:5``)."""
    r = float(degrees) % FULL_TURN
    return 0.0 if min(r, FULL_TURN - r) <= _ANGLE_TOL else r


def same_rotation(a: float, b: float) -> bool:
    """Whether two angles in degrees are the same rotation (equal modulo 360)."""
    return angle_key(float(a) - float(b)) == 0.0


def _number_text(value: float, *, signed: bool) -> str:
    """The shortest spelling of ``value`` that reads back as the same float (``%g`` when
    exact, else ``repr``), with a sign when ``signed``."""
    text = f"{value:g}"
    if float(text) != value:
        text = repr(float(value))
    if signed and not text.startswith("-"):
        text = "+" + text
    return text


_MAD_TO_SIGMA = 0.6744897501960817  # Phi^-1(3/4): median |N(0, 1)|


class PerturbationRefused(InputError):
    """A perturbation refused by design for one lesion: it would leave the ROI unchanged
    (``volume:D`` with ``|D|`` below the voxel spacing), and an unchanged pair would count
    as a perfectly reproducible rater.

    Attributes
    ----------
    reason : str
        Why, in words that hold for every lesion refused the same way (no lesion's voxel
        size), with what to do instead.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Perturbation:
    """One parsed perturbation spec (see the module docstring).

    Attributes
    ----------
    kind : str
        ``original``, ``volume``, ``contour``, ``rotation``, ``translation`` or ``noise``.
    value : float
        Millimetres (volume), draw number (contour), degrees (rotation), voxel fraction
        (translation) or multiple of the noise level (noise); 0 for ``original``.
    spec : str
        The canonical spec string.
    """

    kind: str
    value: float
    spec: str

    @property
    def slug(self) -> str:
        """File- and identifier-safe name, e.g. ``volume_m1``, ``volume_p1``, ``noise_1``."""
        if self.kind == "original":
            return "original"
        text = _number_text(self.value, signed=False)
        text = text.replace("+", "").replace("-", "m").replace(".", "p")
        if self.kind in ("volume", "rotation") and self.value > 0:
            text = "p" + text
        return f"{self.kind}_{text}"


def parse_perturbation(spec: str) -> Perturbation:
    """Parse a perturbation spec such as ``volume:+1`` or ``contour:2``.

    The value may be written as any finite decimal number (``5``, ``+5.0``, ``1e6``,
    ``1e-3``); the canonical spec (:attr:`Perturbation.spec`) parses back to the same value.

    Raises
    ------
    SettingsError
        Unknown kind, missing or invalid value, a value that is not a finite number, or a
        rotation that is a multiple of 360 degrees (the identity).

    Examples
    --------
    >>> parse_perturbation("volume:-1").slug
    'volume_m1'
    >>> parse_perturbation("original").value
    0.0
    """
    text = str(spec).strip().replace(" ", "")
    m = _SPEC.match(text)
    if m is None:
        kind = text.split(":")[0]
        if kind not in KINDS:
            import difflib

            near = difflib.get_close_matches(kind, KINDS, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise SettingsError(
                f"unknown perturbation {spec!r}: kinds are {', '.join(KINDS)}{hint} "
                "(write kind:value, e.g. volume:+1, contour:1, rotation:5, noise:1)"
            )
        raise SettingsError(f"perturbation {spec!r} needs a number after ':' (e.g. {kind}:1)")
    kind, value = m.group(1), m.group(2)
    if kind == "original":
        if value is not None:
            raise SettingsError(f"perturbation {spec!r}: 'original' takes no value")
        return Perturbation("original", 0.0, "original")
    if value is None:
        raise SettingsError(f"perturbation {spec!r} needs a value, e.g. {kind}:1")
    try:
        v = float(value) if re.fullmatch(r"[0-9eE.+-]+", value) else float("nan")
    except ValueError:
        v = float("nan")
    if not np.isfinite(v):
        raise SettingsError(
            f"perturbation {spec!r} needs a finite number after ':' (e.g. {kind}:1 or {kind}:1e-3)"
        )
    if kind == "contour" and (v < 1 or v != int(v)):
        raise SettingsError(f"perturbation {spec!r}: the contour draw must be an integer >= 1")
    if kind == "noise" and v <= 0:
        raise SettingsError(f"perturbation {spec!r}: the noise multiple must be > 0")
    if kind == "translation" and not 0 < abs(v) < 1:
        raise SettingsError(
            f"perturbation {spec!r}: the translation must be a voxel fraction in (0, 1): a "
            "whole voxel moves image and mask together onto the same voxel values (without "
            "interpolation, a perfect rater), e.g. translation:0.25"
        )
    if kind == "translation" and abs(v) == TIED_TRANSLATION:
        raise SettingsError(
            f"perturbation {spec!r}: a half-voxel shift puts every boundary voxel of the "
            "interpolated mask at exactly 0.5, which the >= 0.5 rule keeps, so the ROI would "
            "grow by a voxel layer along each axis (5 % of a 17 000-voxel ROI) instead of "
            "moving; use another fraction, e.g. translation:0.25 or translation:0.75"
        )
    if kind in ("volume", "rotation") and v == 0:
        raise SettingsError(f"perturbation {spec!r} is the identity; use 'original'")
    if kind == "rotation" and angle_key(v) == 0:
        raise SettingsError(
            f"perturbation {spec!r} is the identity: a rotation by a multiple of 360 degrees "
            "leaves image and mask unchanged (angles are taken modulo 360); use 'original' or "
            "another angle, e.g. rotation:5"
        )
    canonical = f"{kind}:{_number_text(v, signed=kind in ('volume', 'rotation'))}"
    return Perturbation(kind, v, canonical)


def _rng(seed: int, spec: str, case: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}|{case}|{spec}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Noise standard deviation of an image from its finest Haar diagonal detail.

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Image intensities (e.g. HU).

    Returns
    -------
    float
        ``median(|HH|) / 0.6745`` over the in-plane Haar diagonal coefficients
        ``HH = (a - b - c + d) / 2`` of every 2 x 2 block of every slice (Donoho-Johnstone
        MAD estimate; for white Gaussian noise ``HH`` has the noise's standard deviation,
        and the median ignores the edges of anatomy).

    Notes
    -----
    Zwanenburg et al. (2019) estimate the noise level with a wavelet-based method (Chang et
    al. 2000); this is the same idea with the Haar wavelet, per axial slice, because slices
    of clinical CT are thicker than their pixels.
    """
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    _, y, x = a.shape
    a = a[:, : y - y % 2, : x - x % 2]
    if a.shape[1] < 2 or a.shape[2] < 2:
        raise InputError(f"image of shape {image.shape} is too small to estimate its noise")
    hh = (a[:, 0::2, 0::2] - a[:, 1::2, 0::2] - a[:, 0::2, 1::2] + a[:, 1::2, 1::2]) / 2.0
    return float(np.median(np.abs(hh)) / _MAD_TO_SIGMA)


def _arrays(image: sitk.Image, mask: sitk.Image) -> tuple[np.ndarray, np.ndarray]:
    import SimpleITK as sitk

    img = sitk.GetArrayFromImage(image)
    roi = sitk.GetArrayFromImage(mask) != 0
    if img.shape != roi.shape:
        raise InputError(
            f"image {img.shape} and mask {roi.shape} differ in size; perturbations need the "
            "mask on the image grid"
        )
    if not roi.any():
        raise EmptyRoiError("the ROI is empty; nothing to perturb")
    return img, roi


def _like(array: np.ndarray, ref: sitk.Image) -> sitk.Image:
    import SimpleITK as sitk

    out = sitk.GetImageFromArray(array)
    out.CopyInformation(ref)
    return out


def _volume(roi: np.ndarray, spacing_zyx: tuple[float, ...], mm: float) -> np.ndarray:
    """Grow (mm > 0) or shrink (mm < 0) a binary ROI by a physical distance.

    Growth adds every voxel whose centre lies within ``mm`` of an ROI voxel centre;
    shrinkage removes every ROI voxel whose centre lies within ``|mm|`` of a background
    voxel centre (exact Euclidean distance transforms with the voxel spacing).
    """
    from scipy.ndimage import distance_transform_edt

    sp = np.asarray(spacing_zyx, dtype=np.float64)
    margin = np.ceil(abs(mm) / sp).astype(int) + 2
    idx = np.argwhere(roi)
    lo = np.maximum(idx.min(0) - margin, 0)
    hi = np.minimum(idx.max(0) + margin + 1, roi.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    sub = roi[box]
    out = roi.copy()
    if mm > 0:
        # distance of every voxel to the nearest ROI voxel centre (0 inside the ROI)
        out[box] = distance_transform_edt(~sub, sampling=sp) <= mm + 1e-9
    else:
        # the box edge may be the image edge: voxels beyond it count as background too
        padded = np.pad(sub, 1, constant_values=False)
        d = distance_transform_edt(padded, sampling=sp)[1:-1, 1:-1, 1:-1]
        out[box] = sub & (d > -mm + 1e-9)
    return out


SUPERVOXEL_SIZE = 100
"""Voxels per supervoxel of the contour randomisation (over the ROI's bounding box)."""
SUPERVOXEL_COMPACTNESS = 0.5
"""SLIC compactness on intensities scaled by the ROI's 5-95 % range (0.5 follows edges of
the tumour while keeping supervoxels compact; lower values let noise shape them)."""


def supervoxels(
    img: np.ndarray, roi: np.ndarray, spacing_zyx: tuple[float, ...]
) -> tuple[tuple[slice, ...], np.ndarray, np.ndarray]:
    """SLIC supervoxels of the ROI's bounding box (3-voxel margin) and their ROI coverage.

    Parameters
    ----------
    img : (Z, Y, X) ndarray
        Image intensities.
    roi : (Z, Y, X) ndarray of bool
        The ROI (not empty).
    spacing_zyx : tuple of float
        Voxel spacing in (z, y, x) order. Only its shape matters: SLIC receives the spacing
        relative to the smallest one (``spacing / min(spacing)``), because its spatial term
        is weighed against the intensity term in the units of ``spacing``; millimetres would
        make the supervoxels depend on the voxel size (4.7 mm PET voxels would let the
        spatial term swamp the intensity edges). The same voxels on a uniformly rescaled
        grid give the same supervoxels.

    Returns
    -------
    box : tuple of slice
        The bounding box in the image.
    labels : ndarray of int
        Supervoxel label of every voxel of the box.
    fraction : ndarray of float
        Fraction of each supervoxel that lies in the ROI.
    """
    from skimage.segmentation import slic

    sp = np.asarray(spacing_zyx, dtype=np.float64)
    if sp.shape != (img.ndim,) or not np.all(np.isfinite(sp) & (sp > 0)):
        raise InputError(
            f"voxel spacing {tuple(spacing_zyx)} is not {img.ndim} positive numbers; fix the "
            "image header"
        )
    idx = np.argwhere(roi)
    lo = np.maximum(idx.min(0) - 3, 0)
    hi = np.minimum(idx.max(0) + 4, roi.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    sub = img[box].astype(np.float64)
    sub_roi = roi[box]
    n_segments = max(20, round(sub.size / SUPERVOXEL_SIZE))
    inside = sub[sub_roi]
    scale = float(np.percentile(inside, 95) - np.percentile(inside, 5)) or 1.0
    labels = slic(
        (sub - sub.min()) / scale,
        n_segments=n_segments,
        compactness=SUPERVOXEL_COMPACTNESS,
        spacing=sp / sp.min(),
        channel_axis=None,
        start_label=0,
        enforce_connectivity=True,
    )
    counts = np.bincount(labels.ravel())
    covered = np.bincount(
        labels.ravel(), weights=sub_roi.ravel().astype(np.float64), minlength=len(counts)
    )
    frac = np.divide(covered, counts, out=np.zeros_like(covered), where=counts > 0)
    return box, labels, frac


def _contour(
    shape: tuple[int, ...],
    sv: tuple[tuple[slice, ...], np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    box, labels, frac = sv
    keep = rng.random(len(frac)) < frac
    new_sub = keep[labels]
    if not new_sub.any():  # every draw failed: keep the best-covered supervoxel
        new_sub = labels == int(np.argmax(frac))
    out = np.zeros(shape, dtype=bool)
    out[box] = new_sub
    return out


def _rigid(
    image: sitk.Image, roi: np.ndarray, mask: sitk.Image, *, angle_deg: float, shift_frac: float
) -> tuple[sitk.Image, sitk.Image]:
    import SimpleITK as sitk

    idx = np.argwhere(roi).mean(0)[::-1]  # centroid (x, y, z) index
    centre = image.TransformContinuousIndexToPhysicalPoint([float(v) for v in idx])
    # rotation about the image's third (slice) axis
    axis = np.asarray(image.GetDirection(), dtype=np.float64).reshape(3, 3)[:, 2]
    tf = sitk.VersorRigid3DTransform()
    tf.SetCenter(centre)
    tf.SetRotation([float(a) for a in axis], float(np.deg2rad(angle_deg)))
    direction = np.asarray(image.GetDirection(), dtype=np.float64).reshape(3, 3)
    shift = shift_frac * direction @ np.asarray(image.GetSpacing(), dtype=np.float64)
    tf.SetTranslation([float(s) for s in shift])
    fill = float(sitk.GetArrayViewFromImage(image).min())
    new_img = sitk.Resample(image, image, tf, sitk.sitkLinear, fill, sitk.sitkFloat32)
    soft = _like(roi.astype(np.float32), mask)
    new_soft = sitk.GetArrayFromImage(sitk.Resample(soft, soft, tf, sitk.sitkLinear, 0.0))
    return new_img, _like((new_soft >= 0.5).astype(np.uint8), mask)


def perturb_case(
    image: sitk.Image,
    mask: sitk.Image,
    spec: str | Perturbation,
    *,
    seed: int = 0,
    case: str = "",
    cache: dict[str, object] | None = None,
) -> tuple[sitk.Image, sitk.Image]:
    """Apply one perturbation to an image and its ROI mask.

    Parameters
    ----------
    image : SimpleITK.Image
        The image (any pixel type).
    mask : SimpleITK.Image
        The ROI on the image grid: non-zero voxels form the ROI.
    spec : str or Perturbation
        The perturbation (see the module docstring).
    seed : int
        Seed of the random draws (contour randomisation, noise).
    case : str
        Case identifier mixed into the seed, so cases get independent draws.
    cache : dict, optional
        Reused across calls on the same image and mask: the supervoxels of the contour
        randomisation are computed once and shared by every draw.

    Returns
    -------
    image, mask : SimpleITK.Image
        The perturbed image (float32 after rotation, translation or noise; unchanged
        otherwise) and binary mask (uint8 0/1), both on the input grid.

    Raises
    ------
    InputError
        Image and mask sizes differ.
    PerturbationRefused
        A volume change that moves no voxel (the pair would equal the original).
    EmptyRoiError
        The ROI is empty, or shrinkage removes it entirely.
    """
    p = spec if isinstance(spec, Perturbation) else parse_perturbation(spec)
    img, roi = _arrays(image, mask)
    rng = _rng(seed, p.spec, case)
    new_image: sitk.Image = image
    if p.kind == "original":
        new_roi = roi
    elif p.kind == "volume":
        new_roi = _volume(roi, tuple(image.GetSpacing()[::-1]), p.value)
        if np.array_equal(new_roi, roi):
            raise PerturbationRefused(
                f"perturbation {p.spec} does not change the ROI: no voxel centre lies within "
                f"{abs(p.value):g} mm of its edge (voxels {_spacing_text(image)} mm); an "
                "unchanged mask would count as a perfectly reproducible rater: use "
                "volume:±D with D at least the smallest voxel spacing",
                reason=(
                    f"no voxel centre lies within {abs(p.value):g} mm of the ROI's edge (voxels "
                    f"coarser than {abs(p.value):g} mm), so the mask would be unchanged and "
                    "count as a perfectly reproducible rater; to perturb these lesions' volume "
                    "use volume:±D with D at least their smallest voxel spacing"
                ),
            )
    elif p.kind == "contour":
        for _ in range(int(p.value) - 1):  # draw K: skip the generators of earlier draws
            rng = np.random.default_rng(rng.integers(2**63))
        sv = cache.get("supervoxels") if cache is not None else None
        if sv is None:
            sv = supervoxels(img, roi, tuple(image.GetSpacing()[::-1]))
            if cache is not None:
                cache["supervoxels"] = sv
        new_roi = _contour(roi.shape, sv, rng)  # type: ignore[arg-type]
    elif p.kind in ("rotation", "translation"):
        angle = p.value if p.kind == "rotation" else 0.0
        shift = p.value if p.kind == "translation" else 0.0
        new_image, new_mask = _rigid(image, roi, mask, angle_deg=angle, shift_frac=shift)
        new_roi = sitk_array(new_mask) != 0
    else:  # noise
        sigma = estimate_noise_sigma(img) * p.value
        noisy = img.astype(np.float32) + rng.normal(0.0, sigma, img.shape).astype(np.float32)
        new_image = _like(noisy, image)
        new_roi = roi
    if not new_roi.any():
        raise EmptyRoiError(
            f"perturbation {p.spec} leaves an empty ROI ({int(roi.sum())} voxels before); "
            "use a smaller shrinkage"
        )
    return new_image, _like(new_roi.astype(np.uint8), mask)


def _spacing_text(image: sitk.Image) -> str:
    return " x ".join(f"{v:.3g}" for v in image.GetSpacing())


def sitk_array(image: sitk.Image) -> np.ndarray:
    """Voxel array of a SimpleITK image in (z, y, x) order (a copy)."""
    import SimpleITK as sitk

    return sitk.GetArrayFromImage(image)
