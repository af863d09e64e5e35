"""One case through the processing chain: optional preprocessing on the original grid (ring,
bias field, smoothing, normalisation; :mod:`radiomix.process.preprocess`), then the IBSI 1
chain crop → interpolate → ROI partial volume → re-segment → discretise, producing the
:class:`~radiomix.roi.RoiContext` features read."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from radiomix.check import CheckedCase
from radiomix.errors import EmptyRoiError, InputError, RoiTooSmallError
from radiomix.process.discretise import discretise, ivh_input
from radiomix.process.interpolate import ORDERS, Grid, aligned_grid, linear_corners, resample
from radiomix.process.normalise import StandardScale
from radiomix.process.peritumoral import RING_CUT_NOTE, touches_edge
from radiomix.process.preprocess import preprocess_around_roi
from radiomix.process.resegment import describe_empty, resegment
from radiomix.roi import RoiContext, bounding_box
from radiomix.settings.steps import ExtractionSettings
from radiomix.types import BoolArray, FloatArray, Spacing

log = logging.getLogger(__name__)

MASK_DECIMALS = 6
"""Interpolated mask fractions are rounded to this many decimals before the partial-volume
threshold, so that floating-point noise cannot move a value of exactly 0.5 below 0.5."""

SUPPORT_PAD = {0: 1, 1: 2, 3: 8}
"""Extra original voxels kept around the crop for each spline order's support (cubic
B-spline prefiltering decays as 0.268^k, so 8 voxels make the crop exact in practice)."""

MASK_REACH = {0: 0.5, 1: 1.0, 3: 2.0}
"""How far (original voxels) an interpolated mask can reach beyond the stored ROI's
bounding box, for each spline order of the mask interpolation: half a voxel for nearest
neighbour, less than one for trilinear (the fraction falls to 0 at the next stored voxel),
about two for the cubic spline, whose ringing beyond that stays below any usual
partial-volume threshold (a crop that still cuts the ROI is caught and widened, see
:func:`process_arrays`)."""


@dataclass(frozen=True, slots=True)
class ProcessedCase:
    """Result of processing one case.

    Attributes
    ----------
    context : RoiContext
        Processed arrays for feature computation.
    spacing : tuple of 3 float
        Voxel spacing after interpolation, (z, y, x) mm.
    origin : tuple of 3 float
        World position (x, y, z, mm) of the first voxel of ``context`` arrays.
    """

    context: RoiContext
    spacing: Spacing
    origin: tuple[float, float, float]


def _bbox(mask: BoolArray) -> list[tuple[int, int]]:
    """First and last index of the ROI along z, y and x."""
    return [(b.start, b.stop - 1) for b in bounding_box(mask)]


def _border_gaps_mm(
    mask: BoolArray, spacing: Spacing, grow_mm: float = 0.0
) -> list[tuple[float, float]]:
    """Per axis (z, y, x), the distances in mm from the ROI's bounding box, grown by
    ``grow_mm`` (the peritumoral ring around the mask), to the nearer and to the farther
    border of the image (near 0 when the ROI touches a border)."""
    gaps = []
    for (lo, hi), n, sp in zip(_bbox(mask), mask.shape, spacing, strict=True):
        low = max(0.0, lo * float(sp) - grow_mm)
        high = max(0.0, (n - 1 - hi) * float(sp) - grow_mm)
        gaps.append((min(low, high), max(low, high)))
    return gaps


MAX_GRID_VOXELS = 2**27
"""Largest processed grid around the ROI (134 M voxels, 1 GiB of float64 per copy; an
extraction peaks at about 31 bytes a voxel, 4 GiB here): a finer one is a spacing typed in
the wrong unit (a 0.5 mm grid over a 20 cm box has 64 M voxels), refused before any array
is allocated."""


def _refuse_sentinels(part: np.ndarray) -> None:
    """Refuse a no-data sentinel of an integer type in the part of the image the ROI's
    features read (the crop, with the margin, the interpolation support and the filters'
    reach): the smallest value of a signed type of 16 bits or more (-32768 for int16), the
    largest of an unsigned type of 32 bits or more. Stored where nothing was measured
    (outside a scanner's field of view, a conversion's fill), it would be averaged into
    the ROI by interpolation and filters as if it were an intensity. Far from the ROI it
    is never read, and allowed. Float images refuse no-data magnitudes anywhere
    (:data:`radiomix.check.NO_DATA_MAGNITUDE`)."""
    kind, size = part.dtype.kind, part.dtype.itemsize
    if not ((kind == "i" and size >= 2) or (kind == "u" and size >= 4)) or part.size == 0:
        return
    bits = 8 * size  # the type's extreme (np.iinfo's min or max, without building it)
    sentinel = -(1 << (bits - 1)) if kind == "i" else (1 << bits) - 1
    if (part.min() if kind == "i" else part.max()) != sentinel:
        return  # one reduction, no temporary: the usual case
    found = int(np.count_nonzero(part == sentinel))
    if found:
        raise InputError(
            f"the image holds {found} voxel(s) of {sentinel} (the "
            f"{'smallest' if kind == 'i' else 'largest'} {part.dtype} value, a no-data fill) "
            "within the region around the ROI that interpolation and filters read, where it "
            "would be averaged in as an intensity: fill those voxels with a real value (e.g. "
            "air, -1000 HU, on CT) or check the conversion that wrote them"
        )


def _refuse_no_data_read(image: np.ndarray, roi: BoolArray, spacing: Spacing,
                         read_mm: float, no_data: tuple[float, float],
                         ring: bool = False) -> None:
    """Refuse no-data voxels (``no_data``: low, high) that the features read: in the
    analysed ROI (the peritumoral ring when ``ring``: the tumour itself was checked with
    the case) and within ``read_mm`` along each axis of its voxels, where interpolation,
    the local intensity peak or a filter reads them into the ROI's values. ``image`` holds
    the stored values (before any preprocessing).

    Raises
    ------
    InputError
        Naming how many, the value, how far is read and the fix.
    """
    if read_mm <= 0.0 and not ring:
        return
    from scipy import ndimage

    grow = [math.ceil(read_mm / sp) if math.isfinite(read_mm) else n
            for sp, n in zip(spacing, roi.shape, strict=True)]
    box = tuple(slice(max(0, lo - g), min(n, hi + 1 + g))
                for (lo, hi), n, g in zip(_bbox(roi), roi.shape, grow, strict=True))
    low, high = no_data
    part = image[box]
    empty = (part >= low) & (part <= high)
    if not empty.any():
        return
    region = roi[box]
    inside = int(np.count_nonzero(empty & region))
    for axis, g in enumerate(grow):  # what interpolation, the peak and filters reach
        if g > 0:
            region = ndimage.maximum_filter1d(region, 2 * min(g, region.shape[axis]) + 1,
                                              axis=axis, mode="constant", cval=0)
    hit = int(np.count_nonzero(empty & region))
    if hit:
        value = (f"{low:g}" if low == high else f"{high:g} or below" if math.isinf(low)
                 else f"{low:g} to {high:g}")
        what = f"{hit} voxel(s) of no data ({value}: pixel padding or a fill outside the " \
               "scanner's reconstructed field of view)"
        reach = "the whole image" if read_mm == math.inf else f"{read_mm:g} mm"
        if ring and inside:
            around = "" if hit == inside else f" or within {reach} of it"
            raise InputError(
                f"{what} lie in the peritumoral ring{around}, whose features would read them "
                "as tissue: the ring reaches beyond the measured image; leave the case out, "
                "or choose a smaller preprocess.ring_outer_mm")
        raise InputError(
            f"{what} lie within {reach} (along each axis) of the "
            f"{'ring' if ring else 'ROI'}'s voxels, which interpolation, the local intensity "
            "peak or the filters read into its values: the ROI lies at the edge of the "
            "measured image; leave the case out, or turn off what reads beyond the ROI"
        )


def _refuse_huge_grid(new_range: list[tuple[int, int]], new_spacing: tuple[float, ...]) -> None:
    """Refuse an interpolation grid around the ROI above :data:`MAX_GRID_VOXELS`.

    Raises
    ------
    SettingsError
        Naming the grid, the spacing and the fix (a settings problem: exit 2).
    """
    shape = [b - a for a, b in new_range]
    voxels = math.prod(shape)
    if voxels > MAX_GRID_VOXELS:
        from radiomix.errors import SettingsError

        raise SettingsError(
            f"interpolation.spacing {tuple(new_spacing)} mm gives a grid of "
            f"{' x '.join(map(str, shape))} = {voxels:,} voxels around the ROI "
            f"({voxels * 8 / 2**30:,.0f} GiB per float64 copy; at most {MAX_GRID_VOXELS:,}): "
            "choose a coarser interpolation.spacing (in mm)"
        )


def _refuse_coarse_grid(n_roi: int, spacing: Spacing, new_spacing: tuple[float, ...]) -> None:
    """Refuse an interpolation spacing whose voxel is larger than the whole ROI (``n_roi``
    voxels of ``spacing``): the
    interpolated ROI is then one voxel or none, whose features describe the grid (a
    500 mm spacing gave a volume of 125 000 000 mm³ for a tumour of 53 000 mm³). A
    spacing in the wrong unit (cm read as mm, or a typo).

    Raises
    ------
    SettingsError
        Naming both volumes and the fix (exit 2).
    """
    voxel = math.prod(new_spacing)
    roi = n_roi * math.prod(spacing)
    if voxel > roi:
        from radiomix.errors import SettingsError

        raise SettingsError(
            f"interpolation.spacing {tuple(new_spacing)} mm gives voxels of {voxel:.6g} mm³, "
            f"larger than the whole ROI ({roi:.6g} mm³): its features would describe one "
            "voxel; choose a spacing (in mm) finer than the ROI"
        )


def feature_margin_mm(settings: ExtractionSettings, spacing: Spacing) -> float:
    """Smallest crop margin (mm) around the stored ROI's bounding box that leaves every
    feature as on the whole image.

    ``crop.margin_mm`` only saves work: the margin used is at least this one. It covers
    how far the interpolated mask reaches beyond the stored ROI (:data:`MASK_REACH`
    original voxels; nothing without interpolation), the radius of the 1 cm³ sphere of the
    local intensity peaks (IBSI 9ST6, which averages image voxels outside the ROI too)
    when that family is computed. The crop reaches at least this far beyond the box along
    every axis (its new-grid range is rounded outwards).

    Parameters
    ----------
    settings : ExtractionSettings
        The extraction's settings.
    spacing : tuple of 3 float
        Stored voxel spacing (z, y, x) in mm.

    Returns
    -------
    float
        The margin in mm.
    """
    need = 0.0
    if settings.interpolation.spacing is not None:
        need += MASK_REACH[ORDERS[settings.mask_interpolation.method]] * max(spacing)
    if "loc" in settings.features.families:
        from radiomix.features.local_intensity import PEAK_RADIUS_MM

        need += PEAK_RADIUS_MM
    return need


def _clear_of_crop(
    roi: BoolArray,
    new_range: list[tuple[int, int]],
    grids: tuple[Grid, Grid, Grid],
    settings: ExtractionSettings,
    new_spacing: tuple[float, ...],
) -> bool:
    """Whether the processed ROI lies inside the crop with room for what features read.

    Along each axis, on a side where the crop is not the edge of the new grid, an
    interpolated ROI must keep one voxel of the crop free (else it may continue beyond it;
    without interpolation the crop holds the stored ROI's whole box), and the
    local-intensity sphere of each ROI voxel must fit in the crop (IBSI 9ST6). Only the
    slabs of that width along the crop's faces are read.
    """
    loc = "loc" in settings.features.families
    if loc:
        from radiomix.features.local_intensity import PEAK_RADIUS_MM
    for axis, ((first, stop), g) in enumerate(zip(new_range, grids, strict=True)):
        room = 0 if settings.interpolation.spacing is None else 1
        if loc:
            room = max(room, math.floor(PEAK_RADIUS_MM / new_spacing[axis]))
        room = min(room, roi.shape[axis])
        if room == 0:
            continue
        # (count_nonzero: a C call, where ndarray.any goes through Python wrappers)
        if first > 0 and np.count_nonzero(roi[(slice(None),) * axis + (slice(0, room),)]):
            return False
        if stop < g.size and np.count_nonzero(roi[(slice(None),) * axis
                                                  + (slice(-room, None),)]):
            return False
    return True


def process_arrays(
    image: FloatArray,
    mask: BoolArray,
    spacing: Spacing,
    settings: ExtractionSettings,
    *,
    organ_mask: BoolArray | None = None,
    scale: StandardScale | None = None,
    no_data: tuple[float, float] | None = None,
    other_lesions: BoolArray | None = None,
    slice_order: int = 1,
) -> tuple[RoiContext, Spacing, tuple[int, int, int], tuple[Grid, Grid, Grid]]:
    """Process (Z, Y, X) arrays with (z, y, x) spacing; see :func:`process_case`.

    ``no_data`` (low, high): image values that are no measurement (a DICOM series' pixel
    padding, a CT's fill), refused where interpolation, the local intensity peak and the
    filters read around the ROI (:func:`_refuse_no_data_read`). ``other_lesions``: the
    mask's other lesions, taken out of a peritumoral ring. ``slice_order``: +1 when the
    world coordinate along the slice axis' main patient direction grows with the slice
    index, -1 when it falls (:func:`radiomix.process.preprocess.largest_slice_roi`).

    Returns the context, the new spacing, the first new-grid index of the crop along each
    axis and the full new grids (positions in original index units). When
    ``settings.preprocess`` sets any step, it runs first
    (:func:`radiomix.process.preprocess.preprocess_around_roi`) and the crop is taken
    around the analysed ROI (the ring when ``preprocess.roi`` is ``ring``).
    """
    given = (image, mask)  # before preprocessing, for a widened crop
    interp = settings.interpolation
    targets = interp.spacing or (None, None, None)
    grids: tuple[Grid, Grid, Grid] = tuple(  # type: ignore[assignment]
        aligned_grid(n, s, t) if t is not None else Grid(n, 0.0, 1.0)
        for n, s, t in zip(image.shape, spacing, targets, strict=True)
    )
    new_spacing = tuple(
        float(t) if t is not None else s for s, t in zip(spacing, targets, strict=True)
    )
    order = ORDERS[interp.method]
    read_mm = feature_margin_mm(settings, spacing)  # how far beyond the ROI values are read
    if settings.response_maps.filters:  # filter-aware margin (issue 20)
        from radiomix.process.filters.margin import response_map_margin_mm

        read_mm = max(
            read_mm,
            response_map_margin_mm(
                settings.response_maps.filters,
                user_margin_mm=settings.response_maps.margin_mm,
                spacing=new_spacing,
                original_spacing=spacing,
                extent_mm=max(n * s for n, s in zip(image.shape, spacing, strict=True)),
                axis_extents_mm=[n * s for n, s in zip(image.shape, spacing, strict=True)],
                border_gaps_mm=_border_gaps_mm(
                    mask, spacing, (settings.preprocess.ring_outer_mm or 0.0)
                    if settings.preprocess.roi == "ring" else 0.0),
            ),
        )
    margin_mm = max(settings.crop.margin_mm, read_mm)
    if no_data is not None and settings.preprocess.roi == "tumour":
        _refuse_no_data_read(image, mask, spacing, read_mm, no_data)
    if settings.preprocess.active:
        # bias field, smoothing, normalisation and ring on the original grid, exact over
        # everything the crop below can reach (margin, grid step and spline support)
        step = max(g.step for g in grids)
        image, mask = preprocess_around_roi(
            image,
            mask,
            spacing,
            settings.preprocess,
            dimensionality=settings.dimensionality,
            margin_mm=margin_mm,
            pad_voxels=SUPPORT_PAD[order] + 2 + math.ceil(step),
            organ_mask=organ_mask,
            scale=scale,
            other_lesions=other_lesions,
            slice_order=slice_order,
        )
        if no_data is not None and settings.preprocess.roi != "tumour":
            # the analysed ROI (a ring, a slice) and its surroundings, on the stored values
            _refuse_no_data_read(given[0], mask, spacing, read_mm, no_data,
                                 ring=settings.preprocess.roi == "ring")
    ring_cut = settings.preprocess.roi == "ring" and touches_edge(
        mask, dimensionality=settings.dimensionality)
    box = _bbox(mask)
    # new-grid index range covering the ROI bounding box plus the margin, and the
    # original-grid crop that supports interpolation at those points
    new_range: list[tuple[int, int]] = []
    old_range: list[tuple[int, int]] = []
    for axis, (g, (lo, hi)) in enumerate(zip(grids, box, strict=True)):
        m_old = margin_mm / spacing[axis]
        first = max(0, math.floor((lo - m_old - g.start) / g.step))
        stop = min(g.size, math.ceil((hi + m_old - g.start) / g.step) + 1)
        new_range.append((first, stop))
        pad = SUPPORT_PAD[order] + 1
        olo = max(0, math.floor(g.start + g.step * first) - pad)
        ohi = min(image.shape[axis], math.ceil(g.start + g.step * (stop - 1)) + pad + 1)
        old_range.append((olo, ohi))
    _refuse_huge_grid(new_range, new_spacing)
    # the ROI on the stored grid, counted in its box only
    n_stored = int(np.count_nonzero(mask[tuple(slice(lo, hi + 1) for lo, hi in box)]))
    if interp.spacing is not None:
        _refuse_coarse_grid(n_stored, spacing, new_spacing)
    _refuse_sentinels(image[tuple(slice(a, b) for a, b in
                                  (new_range if interp.spacing is None else old_range))])
    if interp.spacing is None:
        crop = tuple(slice(a, b) for a, b in new_range)
        img = np.array(image[crop], dtype=np.float64)
        morph = np.array(mask[crop], dtype=bool)
    else:
        sl = tuple(slice(a, b) for a, b in old_range)
        at = (old_range[0][0], old_range[1][0], old_range[2][0])
        rng = (new_range[0], new_range[1], new_range[2])
        m_order = ORDERS[settings.mask_interpolation.method]
        # image and mask crops interpolated at the same points: linear corners computed once
        corners = (linear_corners([b - a for a, b in old_range], grids, rng, at)
                   if order == m_order == 1 else None)
        img = resample(image[sl], grids, order=order, index_range=rng, origin=at,
                       corners=corners)
        if interp.round_intensities:
            np.round(img, out=img)  # in place: resample returned a new array
            img += 0.0  # whole numbers: the -0.0 that rounding gives in (-0.5, 0) is 0.0
        frac = resample(mask[sl], grids, order=m_order, index_range=rng, origin=at,
                        support=[(lo - o, hi - o) for (lo, hi), o in zip(box, at, strict=True)],
                        corners=corners)
        threshold = settings.mask_interpolation.partial_volume_threshold
        np.round(frac, MASK_DECIMALS, out=frac)  # in place: resample returned a new array
        morph = frac >= threshold
    if not _clear_of_crop(morph, new_range, grids, settings, new_spacing):
        # the ROI reaches the crop's border (or the local-intensity sphere of one of its
        # voxels crosses it) where the crop is not the image's edge: widen it and redo
        wider = replace(settings, crop=replace(
            settings.crop, margin_mm=2.0 * margin_mm + max(spacing) + max(new_spacing)))
        log.debug("crop margin %g mm cut the processed ROI's reach; widened", margin_mm)
        return process_arrays(given[0], given[1], spacing, wider, organ_mask=organ_mask,
                              scale=scale, no_data=no_data, other_lesions=other_lesions,
                              slice_order=slice_order)
    n_morph = int(np.count_nonzero(morph))
    if n_morph == 0:
        extent = [(hi - lo + 1) * step for (lo, hi), step in zip(box, spacing, strict=True)]
        raise EmptyRoiError(
            f"the ROI ({n_stored} voxels, {' x '.join(f'{e:g}' for e in extent)} mm along "
            "z, y, x) vanished after interpolation to "
            f"{' x '.join(f'{v:g}' for v in new_spacing)} mm: no voxel of the new grid "
            "reaches the partial-volume threshold "
            f"{settings.mask_interpolation.partial_volume_threshold}; choose a finer "
            "interpolation.spacing, or a lower mask_interpolation.partial_volume_threshold"
        )
    minimum = settings.crop.min_roi_voxels
    if n_morph < minimum:
        grid = ("" if interp.spacing is None else
                f" after interpolation to {' x '.join(f'{v:g}' for v in new_spacing)} mm")
        raise RoiTooSmallError(
            f"the ROI has {n_morph} voxels{grid}, fewer than the minimum {minimum} "
            "(crop.min_roi_voxels, counted on the grid the features are computed on)")
    int_mask = resegment(img, morph, settings.resegmentation)
    n_int = int(np.count_nonzero(int_mask))
    if n_int == 0:
        fix = ("check the range against the image units" if settings.resegmentation.range
               is not None else "")
        if settings.resegmentation.outlier_sigma is not None:
            fix = " and ".join(filter(None, (fix, "widen resegmentation.outlier_sigma "
                                              "(3 is usual) or leave it out")))
        raise EmptyRoiError(
            "no ROI voxel is left after re-segmentation: "
            f"{describe_empty(img, morph, settings.resegmentation)}; {fix}"
        )
    if n_int < minimum:
        raise RoiTooSmallError(
            f"re-segmentation left {n_int} of the ROI's {n_morph} voxels, fewer than the "
            f"minimum {minimum} (crop.min_roi_voxels, counted on the voxels the intensity "
            "features read): check resegmentation against the image's values")
    values = img[int_mask]
    grey, n_levels = discretise(values, settings.discretisation, settings.resegmentation)
    levels = np.zeros(img.shape, dtype=np.int64)
    levels[int_mask] = grey
    ctx = RoiContext(
        img,
        morph,
        int_mask,
        new_spacing,  # type: ignore[arg-type]
        levels=levels,
        n_levels=n_levels,
        ivh=ivh_input(values, settings.ivh, settings.resegmentation),
        settings=settings.features,
        intensities=values,
        grey_levels=grey,
    )
    ctx.stored_extent = (box[0][1] - box[0][0] + 1, box[1][1] - box[1][0] + 1,
                         box[2][1] - box[2][0] + 1)
    ctx.stored_voxels = n_stored
    if ring_cut:
        ctx.notes["preprocess.ring"] = RING_CUT_NOTE
    if interp.spacing is not None and interp.round_intensities and given[0].dtype.kind == "f":
        # the image as given (integer voxels are whole numbers), before a preprocessing step
        # (smoothing) that makes CT HU fractional: rounding those is IBSI's CT rounding
        stored = given[0][tuple(slice(lo, hi + 1) for lo, hi in box)][
            mask[tuple(slice(lo, hi + 1) for lo, hi in box)]]
        if not np.array_equal(stored, np.round(stored)):
            note = (f"interpolation.round_intensities rounded the interpolated intensities to "
                    f"whole numbers, but the image's own ROI values are not whole numbers "
                    f"({np.unique(stored).size} distinct values, {np.unique(values).size} "
                    "after rounding; e.g. PET SUV or MR): IBSI rounds CT HU only; set "
                    "interpolation.round_intensities: false (an ibsi-* CT preset sets it)")
            log.warning("%s", note)
            ctx.notes["interpolation.round_intensities"] = note
    start = (new_range[0][0], new_range[1][0], new_range[2][0])
    return ctx, new_spacing, start, grids  # type: ignore[return-value]


def slice_axis_order(direction: Sequence[float]) -> int:
    """+1 when the world coordinate along the slice axis' main patient direction (the
    largest component of the direction matrix's third column) grows with the slice index,
    -1 when it falls: a stack stored head first and one stored feet first of one image
    have opposite orders.

    Examples
    --------
    >>> d = (1, 0, 0, 0, 1, 0, 0, 0, 1)
    >>> slice_axis_order(d), slice_axis_order((*d[:8], -1))
    (1, -1)
    """
    column = [float(direction[2]), float(direction[5]), float(direction[8])]
    main = max(range(3), key=lambda i: abs(column[i]))
    return 1 if column[main] >= 0 else -1


def process_case(
    case: CheckedCase,
    settings: ExtractionSettings,
    *,
    organ_mask: BoolArray | None = None,
    scale: StandardScale | None = None,
) -> ProcessedCase:
    """Run the preprocessing steps and the IBSI 1 processing chain on a checked case.

    Parameters
    ----------
    case : CheckedCase
        Image and binary mask on the same grid (from :func:`radiomix.check.check_case`).
    settings : ExtractionSettings
        Preprocessing, interpolation, ROI partial-volume threshold, re-segmentation and
        discretisation.
    organ_mask : (Z, Y, X) ndarray of bool or None
        Organ mask on the case grid, clipping the peritumoral ring when
        ``settings.preprocess.ring_clip`` is ``organ``.
    scale : StandardScale or None
        Standard scale of ``settings.preprocess.normalise="nyul"``.

    Returns
    -------
    ProcessedCase
        The ROI context (cropped around the ROI with ``settings.crop.margin_mm``), its
        spacing and world origin.

    Raises
    ------
    EmptyRoiError
        The ROI vanishes after interpolation or re-segmentation.

    Notes
    -----
    IBSI 1 §2: the interpolation grid is aligned on the centre of the original grid
    (:func:`radiomix.process.interpolate.aligned_grid`) and only the part of it around the
    ROI is evaluated; interpolated intensities are optionally rounded; the interpolated
    mask is thresholded at the partial-volume threshold to give the morphological mask;
    re-segmentation gives the intensity mask; discretisation gives the grey levels.
    """
    # the stored voxels without a copy: the chain converts only the crop around the ROI to
    # float64 (preprocessing steps work on float64 copies of their own)
    image = case.image.array
    # the checked ROI's 0/1 bytes read as booleans, without a copy (another mask: > 0)
    stored = case.mask.array
    mask = stored.view(bool) if stored.dtype == np.uint8 else stored > 0
    ctx, new_spacing, first, grids = process_arrays(
        image, mask, case.image.spacing_zyx, settings, organ_mask=organ_mask, scale=scale,
        no_data=case.no_data, other_lesions=case.other_lesions,
        slice_order=slice_axis_order(case.image.direction),
    )
    # world origin of the first processed voxel (continuous index in x, y, z order)
    cidx = [grids[a].start + grids[a].step * first[a] for a in (2, 1, 0)]
    origin = case.image.index_to_physical((float(cidx[0]), float(cidx[1]), float(cidx[2])))
    return ProcessedCase(context=ctx, spacing=new_spacing, origin=origin)
