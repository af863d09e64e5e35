"""How far a filter reaches: the crop margin a response map needs (IBSI 2 phase 2).

A response map computed on a crop of the image equals the response computed on the whole
image at every voxel whose distance to the crop border is at least the filter's reach.
For a filter with a finite kernel that reach is the kernel radius (summed over the stages
of a cascade: rotation pooling, à trous levels, the Laws energy window). Filters applied in
the Fourier domain with a transform of infinite spatial support (the Simoncelli wavelet,
any Riesz transform) reach the whole image: their response depends on every voxel and on
the boundary, so no margin short of the whole image is exact, and extraction filters the
whole processed image. A filter with a periodic boundary whose reach from the ROI meets
an image border reads the opposite side of the image there: the crop then holds that whole
axis (:func:`wrap_reach_mm`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from radiomix.settings.filters import FilterSettings

log = logging.getLogger(__name__)

INFINITE = math.inf


def _laws_radius(name: str) -> int:
    """Largest 1D kernel radius of a Laws kernel name (L3 → 1, L5 → 2)."""
    return max(int(name[i + 1]) // 2 for i in range(0, len(name), 2))


def _wavelet_taps(name: str) -> int:
    """Number of taps of a separable wavelet's decomposition filters."""
    from radiomix.process.filters.wavelets import wavelet_filters

    return int(wavelet_filters(name)[0].shape[0])


def support_radius_vox(
    settings: FilterSettings, spacing: Sequence[float]
) -> tuple[float, float, float]:
    """Reach of a filter in voxels along (z, y, x): kernel radius, or ``inf`` (whole image).

    Parameters
    ----------
    settings : FilterSettings
        The filter.
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm of the image that is filtered (σ and λ in mm are
        converted with it).

    Returns
    -------
    (rz, ry, rx) : tuple of float
        Voxels on each side that the response at a voxel depends on; 0 along an axis that
        is not filtered (z for 2D filters); ``math.inf`` along every filtered axis for the
        Simoncelli wavelet (IBSI 2 LODD) and Riesz-transformed filters, which are applied
        by FFT with multipliers of infinite spatial support.

    Notes
    -----
    Radii, with the kernel sizes of the filter modules:

    - mean (S60F): (M − 1) / 2;
    - Gaussian, LoG (L6PA): ⌊t σ + 0.5⌋, t the truncation (4);
    - Gabor (Q88H): ⌊t max(σ, σ/γ) + 0.5⌋ in each filtered plane (all axes in 3D);
    - Laws (JTXT): the largest 1D kernel radius (rotation pooling swaps axes) plus the energy
      distance δ;
    - separable wavelets (25BO), level j: ⌊n/2⌋ (2^j − 1) for n taps (à trous cascade of
      levels 1 … j; the anchor of an even kernel is tap ⌊n/2⌋).

    Examples
    --------
    >>> support_radius_vox(FilterSettings(kind="mean", support=5, dimensionality="2d"),
    ...                    (3.0, 1.0, 1.0))
    (0.0, 2.0, 2.0)
    >>> support_radius_vox(FilterSettings(kind="simoncelli", level=1), (1.0, 1.0, 1.0))
    (inf, inf, inf)
    """
    axes = (1, 2) if settings.ndim == 2 else (0, 1, 2)
    sp = [float(s) for s in spacing]
    kind = settings.kind
    per_axis: list[float] = [0.0, 0.0, 0.0]
    if kind == "simoncelli" or settings.riesz_order_xyz is not None:
        for a in axes:
            per_axis[a] = INFINITE
        return (per_axis[0], per_axis[1], per_axis[2])
    trunc = settings.effective_truncation
    for a in axes:
        if kind == "mean":
            r = (int(settings.support or 1) - 1) // 2
        elif kind in ("gaussian", "log"):
            r = math.floor(trunc * float(settings.sigma_mm or 0.0) / sp[a] + 0.5)
        elif kind == "gabor":
            sigma = float(settings.sigma_mm or 0.0) / sp[a]
            r = math.floor(trunc * max(sigma, sigma / float(settings.gamma or 1.0)) + 0.5)
        elif kind == "laws":
            r = _laws_radius(settings.laws_kernel or "L3") + int(settings.energy_distance or 0)
        else:  # separable wavelet
            taps = _wavelet_taps(settings.wavelet or "haar")
            r = (taps // 2) * (2 ** int(settings.level or 1) - 1)
        per_axis[a] = float(r)
    return (per_axis[0], per_axis[1], per_axis[2])


def support_radius_mm(settings: FilterSettings, spacing: Sequence[float]) -> float:
    """Reach of a filter in mm: the largest of its per-axis radii times the spacing
    (``inf`` for the Simoncelli wavelet and Riesz transforms); see
    :func:`support_radius_vox`."""
    radii = support_radius_vox(settings, spacing)
    return max(r * float(s) for r, s in zip(radii, spacing, strict=True))


def wrap_reach_mm(
    settings: FilterSettings,
    spacing: Sequence[float],
    border_gaps_mm: Sequence[tuple[float, float]],
    pad_mm: float = 0.0,
) -> float:
    """How far (mm) beyond the ROI a periodic filter's response inside the ROI reads when
    its reach wraps around the image: 0 when it does not wrap.

    A periodic boundary (IBSI 2) wraps the *whole image* around: a voxel beyond the last
    slice is the first slice. A crop of the image wraps around its own faces instead. Along
    an axis where the filter's reach (plus ``pad_mm``) is at least the gap between the ROI
    and the nearer image border, the response inside the ROI reads the opposite side of
    the image, so the crop must hold the whole axis: it must reach the farther border too.
    The other boundary conditions pad from the voxels next to the border, which the crop
    keeps.

    Parameters
    ----------
    settings : FilterSettings
        The filter (only a periodic boundary wraps).
    spacing : tuple of 3 float
        Spacing (z, y, x) in mm of the image that is filtered.
    border_gaps_mm : sequence of 3 (near, far) pairs
        Per axis (z, y, x), the distances in mm from the ROI's bounding box to the nearer
        and to the farther border of the image.
    pad_mm : float
        Added to the reach and to the distance returned (how far the interpolated ROI can
        extend beyond the stored one).

    Returns
    -------
    float
        The farther border's distance plus ``pad_mm``, largest over the axes where the
        filter wraps; 0 when it wraps along none.

    Examples
    --------
    >>> f = FilterSettings(kind="mean", support=5, padding="periodic")
    >>> wrap_reach_mm(f, (1.0, 1.0, 1.0), ((0.0, 40.0), (30.0, 30.0), (30.0, 30.0)))
    40.0
    >>> wrap_reach_mm(f, (1.0, 1.0, 1.0), ((30.0, 40.0), (30.0, 30.0), (30.0, 30.0)))
    0.0
    """
    if settings.boundary != "periodic":
        return 0.0
    radii = support_radius_vox(settings, spacing)
    return max(
        (far + pad_mm
         for r, sp, (near, far) in zip(radii, spacing, border_gaps_mm, strict=True)
         if r > 0 and r * float(sp) + pad_mm >= near),
        default=0.0,
    )


def response_map_margin_mm(
    filters: Sequence[FilterSettings],
    *,
    user_margin_mm: float | None,
    spacing: Sequence[float],
    original_spacing: Sequence[float],
    extent_mm: float,
    border_gaps_mm: Sequence[tuple[float, float]] | None = None,
    axis_extents_mm: Sequence[float] | None = None,
) -> float:
    """Crop margin around the ROI while response maps are computed.

    Parameters
    ----------
    filters : sequence of FilterSettings
        The response-map filters.
    user_margin_mm : float or None
        ``response_maps.margin_mm``. ``None`` (default): derived from the filters, so that
        every response inside the ROI equals the response computed on the whole image.
        A number is used as given (an explicit choice is never changed), with a warning
        when it is smaller than a filter's reach (and than ``extent_mm``).
    spacing : tuple of 3 float
        Spacing (z, y, x) in mm of the processed (interpolated) image that is filtered.
    original_spacing : tuple of 3 float
        Spacing of the image before interpolation; one original voxel is added to a derived
        margin because the interpolated ROI can reach half an original voxel beyond the
        original ROI's bounding box.
    extent_mm : float
        Largest extent of the original image in mm: a margin of this size keeps the whole
        image (the crop is clipped to the image).
    border_gaps_mm : sequence of 3 (near, far) pairs, optional
        Per axis (z, y, x), the distances in mm from the stored ROI's bounding box to the
        nearer and the farther image border. A periodic filter whose reach meets the nearer
        one wraps around the image, and the crop then holds that whole axis
        (:func:`wrap_reach_mm`).
    axis_extents_mm : sequence of 3 float, optional
        The image's extent along z, y, x in mm: a filter whose kernel reaches farther than
        the image along an axis it filters is refused (a 2D filter is measured in-plane).
        Without it, the largest reach is compared with ``extent_mm``.

    Returns
    -------
    float
        The margin in mm: ``max`` over filters of the reach plus one original voxel,
        ``extent_mm`` (the whole image) when a filter reaches the whole image (Simoncelli,
        Riesz), the distance to the farther border along an axis where a periodic boundary
        wraps around, or ``user_margin_mm`` when set.
    """
    pad = max(float(s) for s in original_spacing)

    def reach_mm(f: FilterSettings) -> float:
        wrap = 0.0 if border_gaps_mm is None else wrap_reach_mm(f, spacing, border_gaps_mm, pad)
        return max(support_radius_mm(f, spacing), wrap)

    for f in filters:  # a kernel longer than the image reads padding, and can exhaust memory
        radii = [r * float(sp) for r, sp in zip(support_radius_vox(f, spacing), spacing,
                                                 strict=True)]
        limits = list(axis_extents_mm) if axis_extents_mm is not None else [extent_mm] * 3
        over = [(axis, own, limit) for axis, own, limit in zip("zyx", radii, limits,
                                                                strict=True)
                if math.isfinite(own) and own > limit]
        if over:
            from radiomix.errors import SettingsError

            axis, own, limit = max(over, key=lambda item: item[1] - item[2])
            raise SettingsError(
                f"response_maps filter {f.tag} reaches {own:g} mm around each voxel along "
                f"{axis}, more than the whole image along {axis} ({limit:g} mm): its response "
                "would be made of padding (and its padded array can exhaust memory); choose "
                "a smaller level, sigma or size")
    need = max((reach_mm(f) for f in filters), default=0.0)
    if user_margin_mm is not None:
        if need > user_margin_mm and user_margin_mm < extent_mm:
            short = [f.tag for f in filters if reach_mm(f) > user_margin_mm]
            reach = "the whole image" if math.isinf(need) else f"{need:g} mm"
            log.warning(
                "response_maps.margin_mm=%g mm is smaller than the reach of %s (%s): their "
                "responses inside the ROI depend on the crop border and differ from the "
                "responses on the whole image. Remove response_maps.margin_mm to derive it "
                "from the filters.",
                user_margin_mm,
                ", ".join(short),
                reach,
            )
        return float(user_margin_mm)
    if math.isinf(need):
        return float(extent_mm)
    return float(need + pad)
