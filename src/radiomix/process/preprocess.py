"""Preprocessing on the original grid, before the IBSI 1 chain (issue 9).

Order (IBSI 2 §2 and the reference studies: filtering and intensity normalisation precede
interpolation; the lung study smooths, then min–max-normalises):

1. peritumoral ring (``roi="ring"``): replaces the tumour mask, optionally clipped to an
   organ mask (``ring_clip="organ"``); it depends on the masks only, so it is computed first
   and every later step that reads the ROI sees the ring;
2. N4 bias-field correction, estimated from the whole image (ROI-independent);
3. Gaussian smoothing, σ in mm;
4. z-score or min–max normalisation, statistics from the analysed ROI or the whole image;
   or Nyúl–Udupa histogram standardisation onto a standard scale fitted beforehand
   (:class:`radiomix.process.normalise.StandardScale`), landmarks of this image from the
   scale's region (foreground, whole image or tumour);

then :func:`radiomix.process.pipeline.process_arrays` crops, interpolates, re-segments and
discretises as usual.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from radiomix.errors import EmptyRoiError, GeometryMismatchError, InputError, SettingsError
from radiomix.process.bias_field import correct_bias_field
from radiomix.process.filters.gaussian import gaussian_smooth
from radiomix.process.normalise import StandardScale, minmax_normalise, zscore_normalise
from radiomix.process.peritumoral import peritumoral_ring
from radiomix.settings.steps import PreprocessSettings
from radiomix.types import BoolArray, FloatArray, Spacing

log = logging.getLogger(__name__)

SMOOTHING_TRUNCATION = 4.0
"""Gaussian kernel cut-off in standard deviations (radius ``floor(4σ/s + 0.5)`` voxels)."""


def largest_slice_roi(mask: BoolArray, slice_order: int = 1) -> BoolArray:
    """The ROI on its largest axial slice only (most ROI voxels).

    Ties (17 of the sarcoma cohort's 153 masks have two slices of the largest area) are
    settled without the order in which the slices are stored, so that an image stored
    head first and one stored feet first give the same slice: the tied slice nearest the
    ROI's centre (the mean slice index of its voxels), then the one whose neighbouring
    slices, read outward in pairs (one on each side, the larger first), hold more ROI voxels
    at the first distance where the two differ; slices whose surroundings match pair for
    pair (a symmetric ROI) are settled by their place in the patient: the one farthest
    along the slice axis' main patient direction (``slice_order`` +1 when the world
    coordinate there grows with the slice index, -1 when it falls,
    :func:`radiomix.process.pipeline.slice_axis_order`), e.g. the most superior of an axial stack.

    Examples
    --------
    >>> m = np.zeros((3, 2, 2), bool); m[0, 0, 0] = True; m[1] = True; m[2, :, 0] = True
    >>> largest_slice_roi(m).sum(axis=(1, 2)).tolist()
    [0, 4, 0]
    >>> m = np.zeros((5, 2, 2), bool); m[1] = m[3] = True; m[4, 0, 0] = True
    >>> largest_slice_roi(m).sum(axis=(1, 2)).tolist(), largest_slice_roi(m[::-1]).sum(
    ...     axis=(1, 2)).tolist()
    ([0, 0, 0, 4, 0], [0, 4, 0, 0, 0])
    """
    m = np.asarray(mask, dtype=bool)
    counts = m.reshape(m.shape[0], -1).sum(axis=1)
    out = np.zeros_like(m)
    if counts.size and counts.max() > 0:
        k = _largest_slice(counts, slice_order)
        out[k] = m[k]
    return out


def _largest_slice(counts: np.ndarray, slice_order: int = 1) -> int:
    """Index of the slice with most ROI voxels, ties settled as :func:`largest_slice_roi`
    says (the same slice whichever way the slices are stored)."""
    tied = np.flatnonzero(counts == counts.max())
    if tied.size == 1:
        return int(tied[0])
    n = counts.size
    centre = float(np.dot(np.arange(n), counts) / counts.sum())
    gap = np.abs(tied - centre)
    tied = tied[np.isclose(gap, gap.min(), rtol=0.0, atol=1e-9)]

    def outward(k: int) -> tuple[tuple[int, ...], ...]:
        # the ROI voxels of the slices d away on either side, as a sorted pair (-1 beyond
        # the image), for d = 1, 2, ...: the same read from either end of the stack
        return tuple(tuple(sorted((int(counts[k - d]) if k - d >= 0 else -1,
                                   int(counts[k + d]) if k + d < n else -1)))
                     for d in range(1, n))

    best = max(outward(int(k)) for k in tied)
    alike = [int(k) for k in tied if outward(int(k)) == best]
    return max(alike, key=lambda k: k * slice_order)


def analysis_mask(
    mask: BoolArray,
    spacing: Spacing,
    settings: PreprocessSettings,
    *,
    dimensionality: str = "3d",
    organ_mask: BoolArray | None = None,
    other_lesions: BoolArray | None = None,
    slice_order: int = 1,
) -> BoolArray:
    """The analysed ROI: the tumour mask, or its peritumoral ring (``settings.roi``).

    Parameters
    ----------
    mask : (Z, Y, X) ndarray of bool
        Tumour mask.
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm.
    settings : PreprocessSettings
        ``roi``, ``ring_inner_mm``, ``ring_outer_mm`` and ``ring_clip``.
    dimensionality : {"3d", "2d"}
        ``2d`` grows the ring within each axial slice.
    organ_mask : (Z, Y, X) ndarray of bool or None
        Organ mask on the same grid; the ring is intersected with it when
        ``settings.ring_clip`` is ``organ`` (required then), ignored otherwise.
    other_lesions : (Z, Y, X) ndarray of bool or None
        The other lesions of the mask (its other labels, one lesion each): taken out of
        the ring, which holds no tumour voxel of any lesion.
    slice_order : {1, -1}
        How the slice index runs in the patient, for a symmetric tie of the largest slice
        (:func:`largest_slice_roi`).

    Returns
    -------
    (Z, Y, X) ndarray of bool
        ``mask`` itself, or the ring (never a tumour voxel, of this lesion or another),
        clipped to the organ on request.

    Raises
    ------
    EmptyRoiError
        Empty tumour mask.
    InputError
        ``ring_clip="organ"`` without an organ mask.
    GeometryMismatchError
        The organ mask has another shape than the tumour mask.
    """
    if settings.roi == "tumour":
        return mask
    if settings.roi == "largest_slice":
        return largest_slice_roi(mask, slice_order)
    assert settings.ring_outer_mm is not None  # enforced by PreprocessSettings
    organ = None
    if settings.ring_clip == "organ":
        if organ_mask is None:
            raise InputError(
                "preprocess.ring_clip is organ but no organ mask was given: fill the "
                "<tag>_organ column of the manifest, or pass --organ-mask to radiomix extract"
            )
        organ = np.asarray(organ_mask)
        if organ.shape != np.shape(mask):
            raise GeometryMismatchError(
                f"organ mask shape {organ.shape} differs from the tumour mask {np.shape(mask)}"
            )
        organ = organ.astype(bool, copy=False)
    ring = peritumoral_ring(
        mask,
        spacing=spacing,
        outer_mm=settings.ring_outer_mm,
        inner_mm=settings.ring_inner_mm,
        organ_mask=organ,
        dimensionality=dimensionality,
    )
    if other_lesions is not None:
        ring &= ~np.asarray(other_lesions, dtype=bool)
    return ring


def preprocess(
    image: np.ndarray,
    mask: BoolArray,
    spacing: Spacing,
    settings: PreprocessSettings,
    *,
    dimensionality: str = "3d",
    organ_mask: BoolArray | None = None,
    scale: StandardScale | None = None,
    other_lesions: BoolArray | None = None,
    slice_order: int = 1,
) -> tuple[FloatArray, BoolArray]:
    """Apply the preprocessing steps of ``settings`` to a (Z, Y, X) image and its ROI.

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Image on its original grid.
    mask : (Z, Y, X) ndarray of bool
        Tumour mask on the same grid.
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm.
    settings : PreprocessSettings
        Steps to apply; the defaults return the inputs unchanged (as float64 / bool).
    dimensionality : {"3d", "2d"}
        ``2d``: smoothing and ring growth stay within each axial slice.
    organ_mask : (Z, Y, X) ndarray of bool or None
        Organ mask clipping the ring (``settings.ring_clip="organ"``).
    other_lesions : (Z, Y, X) ndarray of bool or None
        Other lesions of the mask, taken out of the ring (:func:`analysis_mask`).
    slice_order : {1, -1}
        How the slice index runs in the patient, for a symmetric tie of the largest slice
        (:func:`largest_slice_roi`).
    scale : StandardScale or None
        Standard scale of ``settings.normalise="nyul"`` (required then): read from the
        landmarks file by :func:`radiomix.process.normalise.load_standard_scale`.

    Returns
    -------
    image : (Z, Y, X) ndarray of float64
        Preprocessed image.
    mask : (Z, Y, X) ndarray of bool
        Analysed ROI: the tumour mask or its peritumoral ring.

    Raises
    ------
    EmptyRoiError
        Empty tumour mask, or a ring that is empty.
    InputError
        Bias-field correction of non-positive intensities; normalisation of a constant
        region; ring clipping without an organ mask; landmarks of this image not
        increasing.
    SettingsError
        ``nyul`` normalisation without a standard scale.

    Notes
    -----
    Steps, in order: ring (mask only) → N4 bias field (from all voxels > 0, whatever the
    ROI) → Gaussian smoothing (mirror padding, 4σ kernel) → normalisation

    .. math:: I' = \\frac{I - \\mu_R}{\\sigma_R} \\quad\\text{or}\\quad
       I' = \\frac{I - \\min_R I}{\\max_R I - \\min_R I}

    with R the analysed ROI (``normalise_region="roi"``) or the whole image; ``nyul``
    maps this image's landmark intensities (percentiles of the scale's region) piecewise
    linearly onto the standard landmarks
    (:func:`radiomix.process.normalise.histogram_standardise`).
    """
    if settings.normalise == "nyul" and scale is None:
        raise SettingsError(
            "preprocess.normalise nyul needs the standard scale: load the landmarks file "
            "with radiomix.process.normalise.load_standard_scale and pass it as scale="
        )
    img = np.asarray(image, dtype=np.float64)
    tumour = np.asarray(mask, dtype=bool)
    roi = analysis_mask(
        tumour, spacing, settings, dimensionality=dimensionality, organ_mask=organ_mask,
        other_lesions=other_lesions, slice_order=slice_order,
    )
    if not roi.any():
        clipped = " after clipping to the organ mask" if settings.ring_clip == "organ" else ""
        raise EmptyRoiError(
            f"the peritumoral ring ({settings.ring_inner_mm}-{settings.ring_outer_mm} mm) "
            f"holds no voxel{clipped}"
        )
    img = correct_and_smooth(img, spacing, settings, dimensionality=dimensionality)
    if settings.normalise == "nyul":
        assert scale is not None
        img = scale.apply(img, tumour)
        _say_extrapolated(img[roi], scale)
    elif settings.normalise != "none":
        region = roi if settings.normalise_region == "roi" else None
        if settings.normalise == "zscore":
            img = zscore_normalise(img, region)
        else:
            img = minmax_normalise(img, region, out_range=(0.0, 1.0))
    return img, roi


EXTRAPOLATED_SHARE = 0.25
"""Share of ROI voxels beyond the standard scale's range above which the standardisation
of a case is said to be mostly extrapolated."""


def _say_extrapolated(values: FloatArray, scale: StandardScale) -> None:
    """Warn when much of the ROI lies beyond the standard scale's first or last landmark
    after Nyúl–Udupa standardisation: those values come from extending the first or last
    segment, not from the fitted landmarks (a landmark region, such as the default
    foreground above the image mean, that holds few of the tumour's intensities)."""
    std = scale.landmarks.standard
    if values.size == 0:
        return
    share = float(np.mean((values < std[0]) | (values > std[-1])))
    if share > EXTRAPOLATED_SHARE:
        log.warning("%.0f %% of the ROI's voxels lie beyond the standard scale [%g, %g] after "
                    "Nyúl standardisation: their values are extrapolated from its first or last "
                    "segment; the landmarks' region (%s) holds few of the tumour's intensities "
                    "(fit the landmarks with --region roi, or image)", 100 * share, std[0],
                    std[-1], scale.region)


def correct_and_smooth(
    image: np.ndarray,
    spacing: Spacing,
    settings: PreprocessSettings,
    *,
    dimensionality: str = "3d",
) -> FloatArray:
    """The preprocessing steps that precede normalisation: N4 bias-field correction and
    Gaussian smoothing (each only when ``settings`` asks for it).

    Histogram standardisation landmarks are fitted on images after these same steps
    (:func:`radiomix.cohort.fit_study_standard_scale`), so that fitting and application see
    the same intensities.

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Image on its original grid.
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm.
    settings : PreprocessSettings
        ``bias_field`` and ``smoothing_sigma_mm``.
    dimensionality : {"3d", "2d"}
        ``2d`` smooths within each axial slice.

    Returns
    -------
    (Z, Y, X) ndarray of float64
    """
    img = np.asarray(image, dtype=np.float64)
    if settings.bias_field:
        log.debug("preprocess: N4 bias-field correction on %s voxels", img.size)
        img = correct_bias_field(img, spacing=spacing, mask=None).corrected
    if settings.smoothing_sigma_mm is not None:
        img = gaussian_smooth(
            img,
            spacing=spacing,
            sigma_mm=settings.smoothing_sigma_mm,
            dimensionality=dimensionality,
            padding="mirror",
            truncation=SMOOTHING_TRUNCATION,
        )
    return img


def needs_whole_image(settings: PreprocessSettings, scale: StandardScale | None = None) -> bool:
    """Whether a preprocessing step reads voxels far from the ROI (N4, image statistics)."""
    if settings.bias_field:
        return True
    if settings.normalise in ("zscore", "minmax"):
        return settings.normalise_region == "image"
    if settings.normalise == "nyul":
        return scale is None or scale.region != "roi"
    return False


def smoothing_radius_voxels(settings: PreprocessSettings, spacing: Spacing) -> tuple[int, ...]:
    """Gaussian kernel radius along (z, y, x), in voxels (0 without smoothing)."""
    if settings.smoothing_sigma_mm is None:
        return (0, 0, 0)
    return tuple(
        math.floor(SMOOTHING_TRUNCATION * settings.smoothing_sigma_mm / s + 0.5) for s in spacing
    )


def preprocess_around_roi(
    image: np.ndarray,
    mask: BoolArray,
    spacing: Spacing,
    settings: PreprocessSettings,
    *,
    dimensionality: str = "3d",
    margin_mm: float,
    pad_voxels: int,
    organ_mask: BoolArray | None = None,
    scale: StandardScale | None = None,
    other_lesions: BoolArray | None = None,
    slice_order: int = 1,
) -> tuple[FloatArray, BoolArray]:
    """:func:`preprocess`, exact within ``margin_mm`` + ``pad_voxels`` of the analysed ROI.

    When no step needs the whole image (no bias field, normalisation statistics from the
    ROI, no histogram standardisation over the foreground or image), the steps run on a
    box around the tumour only: the tumour bounding box grown by
    the ring's outer radius, ``margin_mm``, ``pad_voxels`` and the smoothing kernel radius.
    The box is written into a copy of the full image, so that grids and indices stay those
    of the original image; voxels outside the box are left unprocessed and must not be
    used (the pipeline's crop lies inside the box). Otherwise :func:`preprocess` runs on the
    whole image.
    """
    if needs_whole_image(settings, scale):
        return preprocess(
            image,
            mask,
            spacing,
            settings,
            dimensionality=dimensionality,
            organ_mask=organ_mask,
            scale=scale,
            other_lesions=other_lesions,
            slice_order=slice_order,
        )
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        raise EmptyRoiError("the ROI mask holds no voxel")
    ring_mm = settings.ring_outer_mm if settings.roi == "ring" else 0.0
    radius = smoothing_radius_voxels(settings, spacing)
    box = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        idx = np.flatnonzero(m.any(axis=other))
        grow = math.ceil(((ring_mm or 0.0) + margin_mm) / spacing[axis]) + pad_voxels
        grow += radius[axis] + 1
        box.append(slice(max(0, int(idx[0]) - grow), min(m.shape[axis], int(idx[-1]) + grow + 1)))
    sl = tuple(box)
    organ = None if organ_mask is None else np.asarray(organ_mask)
    if organ is not None and organ.shape != m.shape:
        raise GeometryMismatchError(
            f"organ mask shape {organ.shape} differs from the tumour mask {m.shape}"
        )
    sub_img, sub_roi = preprocess(
        image[sl],
        m[sl],
        spacing,
        settings,
        dimensionality=dimensionality,
        organ_mask=None if organ is None else organ[sl],
        scale=scale,
        other_lesions=None if other_lesions is None else np.asarray(other_lesions)[sl],
        slice_order=slice_order,
    )
    out = np.array(image, dtype=np.float64)
    out[sl] = sub_img
    roi = np.zeros(m.shape, dtype=bool)
    roi[sl] = sub_roi
    return out, roi
