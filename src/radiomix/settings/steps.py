"""Frozen settings dataclasses mirroring the IBSI 1 image processing chain (manual ch. 2).

Axis-ordered tuples (spacing) are in (z, y, x) order and millimetres, like the arrays.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from radiomix.errors import SettingsError
from radiomix.settings.filters import FilterSettings

log = logging.getLogger(__name__)

Dimensionality = Literal["2d", "3d"]
ImageInterpolation = Literal["nearest", "linear", "cubic"]
MaskInterpolation = Literal["nearest", "linear"]
DiscretisationMethod = Literal["none", "fbn", "fbs"]

FAMILIES: tuple[str, ...] = (
    "morph",
    "loc",
    "stat",
    "ih",
    "ivh",
    "glcm",
    "glrlm",
    "glszm",
    "gldzm",
    "ngtdm",
    "ngldm",
)
"""Feature family short names used in column names (IBSI families HCUG … REK0)."""


def _fail(msg: str) -> None:
    raise SettingsError(msg)


@dataclass(frozen=True, kw_only=True, slots=True)
class CropSettings:
    """Cropping of image and mask to the ROI bounding box before processing.

    Parameters
    ----------
    margin_mm : float
        Margin around the ROI bounding box, in mm. Cropping only saves work: the margin in
        force is at least what features read beyond the box (how far the interpolated mask
        reaches, the 1 cm³ sphere of the local intensity peaks, the filters' kernels;
        :func:`radiomix.process.pipeline.feature_margin_mm`), and a crop that still cuts the
        processed ROI is widened, so no margin changes a feature value.
    min_roi_voxels : int
        Smallest accepted ROI, counted on the grid the features are computed on: the
        morphological mask after interpolation and the intensity mask after re-segmentation
        (as pyradiomics' ``minimumROISize`` is checked after resampling and again after
        re-segmentation); smaller ROIs raise :class:`~radiomix.errors.RoiTooSmallError`.
    """

    margin_mm: float = 10.0
    min_roi_voxels: int = 1

    def __post_init__(self) -> None:
        if not (self.margin_mm >= 0 and math.isfinite(self.margin_mm)):
            _fail(f"crop.margin_mm must be a finite number >= 0, got {self.margin_mm!r}")
        if self.min_roi_voxels < 1:
            _fail(f"crop.min_roi_voxels must be >= 1, got {self.min_roi_voxels!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class InterpolationSettings:
    """Image interpolation to a new voxel grid (IBSI 1 §2.4, interpolation).

    Parameters
    ----------
    spacing : tuple of 3 float or None, or None
        New spacing in mm, (z, y, x). ``None`` disables interpolation. With
        ``dimensionality="2d"`` the z entry must be ``None``: slices are interpolated
        in-plane only and the slice spacing is kept.
    method : {"nearest", "linear", "cubic"}
        Nearest neighbour, (bi/tri)linear or cubic B-spline interpolation.
    round_intensities : bool
        Round interpolated intensities to the nearest integer (CT: HU), IBSI "intensity
        rounding".
    """

    spacing: tuple[float | None, float, float] | None = None
    method: ImageInterpolation = "linear"
    round_intensities: bool = False

    def __post_init__(self) -> None:
        if self.method not in ("nearest", "linear", "cubic"):
            _fail(
                f"interpolation.method must be one of nearest, linear, cubic; got {self.method!r}"
            )
        if self.spacing is not None:
            if isinstance(self.spacing, str) or not hasattr(self.spacing, "__len__"):
                _fail(f"interpolation.spacing must be a list of 3 numbers in mm (z, y, x), e.g. "
                      f"[1, 1, 1]; got {self.spacing!r}")
            if len(self.spacing) != 3:
                _fail(f"interpolation.spacing needs 3 values (z, y, x), got {self.spacing!r}")
            for s in self.spacing[1:]:
                if s is None or not (s > 0 and math.isfinite(s)):
                    _fail(f"interpolation.spacing values must be > 0 mm, got {self.spacing!r}")
            z = self.spacing[0]
            if z is not None and not (z > 0 and math.isfinite(z)):
                _fail(f"interpolation.spacing values must be > 0 mm, got {self.spacing!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class MaskInterpolationSettings:
    """ROI mask interpolation and partial-volume threshold (IBSI 1 §2.4).

    Parameters
    ----------
    method : {"nearest", "linear"}
        Interpolation of the binary mask onto the new grid.
    partial_volume_threshold : float
        Interpolated mask values >= this threshold become ROI voxels (IBSI uses 0.5).
    """

    method: MaskInterpolation = "linear"
    partial_volume_threshold: float = 0.5

    def __post_init__(self) -> None:
        if self.method not in ("nearest", "linear"):
            _fail(f"mask_interpolation.method must be nearest or linear, got {self.method!r}")
        if not 0.0 < self.partial_volume_threshold <= 1.0:
            _fail(
                "mask_interpolation.partial_volume_threshold must be in (0, 1], got "
                f"{self.partial_volume_threshold!r}"
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class ResegmentationSettings:
    """Re-segmentation of the intensity mask (IBSI 1 §2.5).

    Parameters
    ----------
    range : tuple of (float or None, float or None) or None
        Closed intensity interval kept in the intensity mask; either bound may be ``None``
        (open). ``None`` keeps every intensity.
    outlier_sigma : float or None
        Remove voxels outside mean ± n·SD of the ROI intensities (population SD, computed
        on the morphological ROI, before and independently of the range). When both are
        set, the intersection of the two criteria is kept (IBSI 1 §2.5).
    """

    range: tuple[float | None, float | None] | None = None
    outlier_sigma: float | None = None

    def __post_init__(self) -> None:
        if self.range is not None:
            if len(self.range) != 2:
                _fail(f"resegmentation.range needs [lower, upper], got {self.range!r}")
            lo, hi = self.range
            for bound in (lo, hi):
                if bound is not None and not math.isfinite(bound):
                    _fail(
                        f"resegmentation.range bounds must be finite numbers or null (an open "
                        f"bound); got {self.range!r}"
                    )
            if lo is not None and hi is not None and lo > hi:
                _fail(f"resegmentation.range lower bound {lo} exceeds upper bound {hi}")
        sigma = self.outlier_sigma
        if sigma is not None and not (sigma > 0 and math.isfinite(sigma)):
            _fail(f"resegmentation.outlier_sigma must be a finite number > 0, got {sigma!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class DiscretisationSettings:
    """Intensity discretisation (IBSI 1 §2.7).

    Parameters
    ----------
    method : {"none", "fbn", "fbs"}
        ``fbn``: fixed bin number (``bins``); ``fbs``: fixed bin size (``bin_width``, in image
        units) with the lower edge at the lower re-segmentation bound, or at the ROI minimum
        when the range has no lower bound; ``none``: intensities used as they are (they must
        be integers >= 1 for texture matrices, as in the digital phantom).
    bins : int or None
        Number of bins for ``fbn`` (default 32); not given with another method.
    bin_width : float or None
        Bin width for ``fbs``; not given with another method (a bin width beside ``fbn``
        would be ignored, so it is refused: the user who wrote it meant ``fbs``).
    max_levels : int
        Largest accepted number of grey levels (all methods). Texture matrices grow with
        its square (a GLCM of 65 536 levels needs 34 GB), so a bin width too small for the
        intensity range is refused with the width to use instead of running out of memory.
    """

    method: DiscretisationMethod = "fbn"
    bins: int | None = None
    bin_width: float | None = None
    max_levels: int = 1000

    def __post_init__(self) -> None:
        if self.method not in ("none", "fbn", "fbs"):
            _fail(f"discretisation.method must be none, fbn or fbs; got {self.method!r}")
        _refuse_other_parameter("discretisation", self.method, self.bins, self.bin_width)
        if self.method == "fbn" and self.bins is None:
            object.__setattr__(self, "bins", 32)
        if not isinstance(self.max_levels, int) or self.max_levels < 2:
            _fail(f"discretisation.max_levels must be an integer >= 2, got {self.max_levels!r}")
        if self.method == "fbn" and isinstance(self.bins, int) and self.bins > self.max_levels:
            _fail(
                f"discretisation.bins {self.bins} exceeds discretisation.max_levels "
                f"{self.max_levels}; use fewer bins, or raise max_levels if the memory allows "
                "(texture matrices grow with the square of the number of levels)"
            )
        if self.method == "fbn" and (self.bins is None or self.bins < 1):
            _fail(f"discretisation.bins must be an integer >= 1 for fbn, got {self.bins!r}")
        if self.method == "fbs" and (self.bin_width is None or not self.bin_width > 0):
            _fail(f"discretisation.bin_width must be > 0 for fbs, got {self.bin_width!r}")

    @property
    def tag(self) -> str:
        """Short description, e.g. ``fbn32`` or ``fbs25``."""
        if self.method == "fbn":
            return f"fbn{self.bins}"
        if self.method == "fbs":
            return f"fbs{self.bin_width:g}".replace(".", "p")
        return "none"


METHOD_PARAMETER: dict[str, str] = {"fbn": "bins", "fbs": "bin_width"}
"""The parameter of each discretisation method (``none`` has none)."""


def _refuse_other_parameter(step: str, method: str, bins: Any, bin_width: Any) -> None:
    """Refuse the parameter of another discretisation method (``bin_width`` with ``fbn``,
    ``bins`` with ``fbs``, either with ``none``): it would be ignored without a word."""
    given = [(k, v) for k, v in (("bins", bins), ("bin_width", bin_width)) if v is not None]
    own = METHOD_PARAMETER.get(method)
    for key, value in given:
        if key == own:
            continue
        meant = next(m for m, k in METHOD_PARAMETER.items() if k == key)
        _fail(f"{step}.{key} ({value!r}) applies to method {meant} only, and the method is "
              f"{method}: drop {key}, or set {step}.method: {meant}")


@dataclass(frozen=True, kw_only=True, slots=True)
class IvhSettings:
    """Discretisation before the intensity-volume histogram (IBSI 1 §2.7 and P88C).

    Parameters
    ----------
    method : {"none", "fbn", "fbs"}
        ``none`` uses the (integer) intensities directly with interval 1; ``fbs`` re-bins
        with ``bin_width`` from the lower re-segmentation bound and uses bin-centre
        intensities; ``fbn`` re-bins into ``bins`` bins and uses the bin numbers.
    bins, bin_width : see :class:`DiscretisationSettings`.
    use_resegmentation_range : bool
        Use the re-segmentation range as the intensity range of the IVH (calibrated units,
        e.g. CT). When false, or where a bound is not set, the ROI's minimum (maximum)
        intensity is used instead; with ``fbs`` the range runs from the centre of the first
        bin to that of the last (IBSI 1 P88C, continuous case): the range's, or the lowest
        and highest occupied bins' (:func:`radiomix.process.discretise.ivh_input`).
    """

    method: DiscretisationMethod = "none"
    bins: int | None = None
    bin_width: float | None = None
    use_resegmentation_range: bool = True

    def __post_init__(self) -> None:
        if self.method not in ("none", "fbn", "fbs"):
            _fail(f"ivh.method must be none, fbn or fbs; got {self.method!r}")
        _refuse_other_parameter("ivh", self.method, self.bins, self.bin_width)
        if self.method == "fbn" and (self.bins is None or self.bins < 1):
            _fail(f"ivh.bins must be an integer >= 1 for fbn, got {self.bins!r}")
        if self.method == "fbs" and (self.bin_width is None or not self.bin_width > 0):
            _fail(f"ivh.bin_width must be > 0 for fbs, got {self.bin_width!r}")


def _check_family_list(key: str, families: object, default: str) -> None:
    """Refuse a families setting that is not a non-empty list (``default``: what leaving
    the key out gives, for the message)."""
    if isinstance(families, str) or not isinstance(families, tuple | list):
        _fail(f"{key} must be a list of family names, e.g. [stat, glcm]; got {families!r}")
    if not families:
        _fail(f"{key} is empty: name at least one family (e.g. [stat]), or leave the key out "
              f"for {default}")


@dataclass(frozen=True, kw_only=True, slots=True)
class FeatureSettings:
    """Which features to compute and the texture-matrix parameters.

    Parameters
    ----------
    families : tuple of str
        Feature families (short names, see :data:`FAMILIES`).
    glcm_distance : int
        Chebyshev distance δ of GLCM neighbours.
    glcm_symmetric : bool
        Symmetrise GLCMs (IBSI: yes).
    ngtdm_distance, ngldm_distance : int
        Chebyshev neighbourhood distance of NGTDM and NGLDM.
    ngldm_coarseness : int
        NGLDM coarseness α.
    linkage_distance : int
        Chebyshev linkage distance for GLSZM and GLDZM zones.
    aggregations : tuple of str or None
        Texture aggregation methods to compute, by column token (``2d_averaged``,
        ``2d_slice_merged``, ``2p5d_direction_merged``, ``2p5d_merged``, ``3d_averaged``,
        ``3d_merged``, ``2d``, ``2p5d``, ``3d``). ``None``: the 2D and 2.5D methods when
        ``dimensionality`` is ``2d``, the 3D methods when it is ``3d``.
    moran_max_voxels : int or None
        ``None`` (default): Moran's I and Geary's C are exact for every ROI size (blocked
        FFT pair sums over the ROI bounding box: 0.3 s and about 130 MB for a
        290 000-voxel ROI in a 1.2 M-voxel box). Opt-in approximation: set a voxel count,
        above which a seeded random subsample of ``moran_sample_voxels`` voxels is used
        and the approximation is recorded in the provenance notes.
    moran_sample_voxels : int
        Size of that subsample (pair sums cost O(n²): 10 000 voxels take about 0.1 s).
    seed : int
        Seed of every random choice in feature computation.
    """

    families: tuple[str, ...] = FAMILIES
    glcm_distance: int = 1
    glcm_symmetric: bool = True
    ngtdm_distance: int = 1
    ngldm_distance: int = 1
    ngldm_coarseness: int = 0
    linkage_distance: int = 1
    aggregations: tuple[str, ...] | None = None
    moran_max_voxels: int | None = None
    moran_sample_voxels: int = 10_000
    seed: int = 0

    def __post_init__(self) -> None:
        _check_family_list("features.families", self.families, "all of them")
        for fam in self.families:
            if fam not in FAMILIES:
                import difflib

                near = difflib.get_close_matches(fam, FAMILIES, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                _fail(f"unknown feature family {fam!r}{hint} Valid: {', '.join(FAMILIES)}")
        for name in ("glcm_distance", "ngtdm_distance", "ngldm_distance", "linkage_distance"):
            if getattr(self, name) < 1:
                _fail(f"features.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.ngldm_coarseness < 0:
            _fail(f"features.ngldm_coarseness must be >= 0, got {self.ngldm_coarseness!r}")
        if self.moran_max_voxels is not None and self.moran_max_voxels < 2:
            _fail(f"features.moran_max_voxels must be >= 2, got {self.moran_max_voxels!r}")
        if self.moran_sample_voxels < 2:
            _fail(f"features.moran_sample_voxels must be >= 2, got {self.moran_sample_voxels!r}")
        if self.aggregations is not None:
            self.check_aggregated_families(self.families)

    def check_aggregated_families(self, families: Sequence[str],
                                  key: str = "features.families") -> None:
        """Refuse aggregations that leave a selected texture family out: GLCM and GLRLM
        aggregate over directions (``3d_merged`` …), the zone and neighbourhood families
        do not (``3d`` …), so ``[3d_merged]`` alone would drop GLSZM, GLDZM, NGTDM and
        NGLDM without a word."""
        from radiomix.features.aggregation import DIRECTIONAL, ZONAL, Aggregation

        given = self.aggregations
        if isinstance(given, str) or not isinstance(given, tuple | list):
            _fail(f"features.aggregations must be a list of aggregation names, e.g. [3d_merged, "
                  f"3d]; got {given!r}")
            return
        chosen = {Aggregation.from_token(str(t)) for t in given}
        kinds = {"glcm": DIRECTIONAL, "glrlm": DIRECTIONAL, "glszm": ZONAL, "gldzm": ZONAL,
                 "ngtdm": ZONAL, "ngldm": ZONAL}
        left = [f for f in families if f in kinds and not chosen & set(kinds[f])]
        if left:
            need = sorted({a.token for f in left for a in kinds[f]})
            _fail(f"features.aggregations {list(given)} leave out the families "
                  f"{', '.join(left)}, which aggregate as {', '.join(need)}: add the one meant "
                  f"(e.g. 3d beside 3d_merged), or leave those families out of {key}")


TEXTURE_FAMILY_NAMES: tuple[str, ...] = ("glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm")
"""Families computed from the discretised grey levels' arrangement."""

RESPONSE_MAP_FAMILIES: tuple[str, ...] = (
    "stat",
    "ih",
    "glcm",
    "glrlm",
    "glszm",
    "gldzm",
    "ngtdm",
    "ngldm",
)
"""Families that can be computed on filter response maps: intensity statistics (IBSI 2
phase 2), and the intensity histogram and texture families on the response discretised by
``response_maps.discretisation``. Morphology, local intensity and the IVH describe the
image itself and are not repeated per filter."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ResponseMapSettings:
    """Convolutional filters (IBSI 2) whose response maps get their own features.

    Parameters
    ----------
    filters : tuple of FilterSettings
        Filters applied to the processed (interpolated, rounded) image; each response map
        is evaluated in the intensity mask and named by the filter's ``tag`` in the column
        names (``ct.log_s1p5mm.stat.mean``).
    families : tuple of str
        Families computed on each response map (default intensity statistics only, as in
        IBSI 2 phase 2); any of :data:`RESPONSE_MAP_FAMILIES`.
    discretisation : DiscretisationSettings
        Discretisation of each response map for the intensity histogram and texture
        families, over the intensity mask: the image's bins do not carry over to filter
        responses, whose units and range depend on the filter. Default fixed bin number 32;
        with ``fbs`` the lowest bin starts at the response's minimum in the ROI. ``none`` is
        refused (responses are not integer grey levels).
    margin_mm : float or None
        Crop margin around the ROI while filters are set, in mm. ``None`` (default): derived
        from the filters (:func:`radiomix.process.filters.margin.response_map_margin_mm`):
        the kernel radius for finite kernels, the whole image for the Simoncelli wavelet and
        Riesz transforms, so that responses inside the ROI never see the crop border. A
        number is used as given, with a warning when it is smaller than a filter's reach.
    """

    filters: tuple[FilterSettings, ...] = ()
    families: tuple[str, ...] = ("stat",)
    discretisation: DiscretisationSettings = field(
        default_factory=lambda: DiscretisationSettings(method="fbn", bins=32)
    )
    margin_mm: float | None = None

    def __post_init__(self) -> None:
        _check_family_list("response_maps.families", self.families, "stat")
        for fam in self.families:
            if fam not in RESPONSE_MAP_FAMILIES:
                _fail(
                    f"response_maps.families supports {', '.join(RESPONSE_MAP_FAMILIES)} only, "
                    f"got {fam!r}"
                )
        if self.discretisation.method == "none":
            _fail(
                "response_maps.discretisation.method must be fbn or fbs: filter responses are "
                "not integer grey levels"
            )
        if self.margin_mm is not None and not (
            self.margin_mm >= 0 and math.isfinite(self.margin_mm)
        ):
            _fail(f"response_maps.margin_mm must be a finite number >= 0, got {self.margin_mm!r}")
        tags = [f.tag for f in self.filters]
        if len(set(tags)) != len(tags):
            _fail(f"response_maps.filters repeat a filter: {tags}")


NormaliseMethod = Literal["none", "zscore", "minmax", "nyul"]
NormaliseRegion = Literal["roi", "image"]
RoiKind = Literal["tumour", "ring", "largest_slice"]
RingClip = Literal["none", "organ"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PreprocessSettings:
    """Preprocessing on the original grid, before the IBSI 1 chain (issue 9).

    The steps run in this order, on the whole original image (IBSI 2 §2 places filtering and
    intensity normalisation before interpolation; the lung reference study smooths, then
    min–max-normalises):

    1. ``bias_field``: N4 bias-field correction (MR);
    2. ``smoothing_sigma_mm``: Gaussian smoothing;
    3. ``normalise``: z-score or min–max normalisation;
    4. then the IBSI 1 chain: crop, interpolate, re-segment, discretise.

    With ``roi="ring"`` the peritumoral ring replaces the tumour mask before any of these
    steps read the ROI (normalisation statistics) and before cropping, so the crop is
    centred on the ring and its margin is added around the ring.

    Parameters
    ----------
    bias_field : bool
        N4 bias-field correction (:func:`radiomix.process.bias_field.correct_bias_field`,
        default parameters). The field is estimated independently of the ROI, from every
        voxel with intensity > 0 of the whole image, so that tumour and ring get the same
        correction. Needs positive intensities (MR); not for CT.
    smoothing_sigma_mm : float or None
        Standard deviation in mm of a Gaussian smoothing
        (:func:`radiomix.process.filters.gaussian_smooth`, mirror padding, kernel cut at 4σ;
        in-plane only when ``dimensionality`` is ``2d``). ``None``: no smoothing.
    normalise : {"none", "zscore", "minmax", "nyul"}
        Intensity normalisation: ``zscore`` subtracts the mean and divides by the
        (population) standard deviation, ``minmax`` maps the minimum to 0 and the maximum
        to 1 (:mod:`radiomix.process.normalise`); ``nyul`` is the piecewise-linear
        histogram standardisation of Nyúl, Udupa and Zhang (2000) onto a standard scale
        fitted beforehand on training images and read from ``nyul_landmarks``
        (multi-centre MR). Incompatible with ``interpolation.round_intensities``.
    normalise_region : {"roi", "image"}
        Region whose statistics define the z-score or min–max normalisation: the analysed
        ROI (the tumour, or the ring when ``roi="ring"``) or the whole image. Not used by
        ``nyul``: its region (foreground, image or tumour) is the one the landmarks were
        fitted on, recorded in the landmarks file, so that fitting and application always
        agree.
    nyul_landmarks : str or None
        Landmarks file (JSON) of ``normalise: nyul``, written by ``radiomix standardise fit``
        (:func:`radiomix.cohort.fit_study_standard_scale`). A relative path starts from the
        study file's folder in a study, from the working directory otherwise. The file's
        SHA-256 goes into the provenance, the case keys (a re-fitted file recomputes the
        cases) and the study's settings hash. Required with ``nyul``, refused otherwise.
    roi : {"tumour", "ring", "largest_slice"}
        Analysed region: the tumour mask, or the peritumoral ring around it
        (:func:`radiomix.process.peritumoral.peritumoral_ring`, voxels at a distance in
        (``ring_inner_mm``, ``ring_outer_mm``] from the tumour, never tumour voxels; grown
        in-plane only when ``dimensionality`` is ``2d``), or the tumour on its largest axial
        slice only (the single max-diameter slice of 2D radiomics studies; the slice with
        the most ROI voxels of the image grid; ties settled the same way whichever way the
        slices are stored, :func:`radiomix.process.preprocess.largest_slice_roi`).
    ring_inner_mm : float
        Inner radius of the ring in mm (>= 0).
    ring_outer_mm : float or None
        Outer radius of the ring in mm (> ``ring_inner_mm``); required when ``roi="ring"``.
    ring_clip : {"none", "organ"}
        ``organ`` intersects the ring with an organ mask (e.g. the liver, so that the
        peritumoral zone of an HCC stays in the liver): the manifest column
        ``<tag>_organ``, or ``radiomix extract --organ-mask``. The organ mask must be on
        the image grid (or is resampled with ``roi.resample_mask``); a missing organ mask
        is an error of the case. Needs ``roi="ring"``.
    organ_label : int or None
        Label of the organ in the organ mask (label image), or segment number (DICOM SEG);
        ``None``: the organ mask must be binary (0/1), as for ROI masks.
    organ_roi_name : str or None
        Name of the organ's ROI in an RTSTRUCT organ mask (or segment label of a SEG), e.g.
        ``Liver``; needed when the file holds several ROIs.
    """

    bias_field: bool = False
    smoothing_sigma_mm: float | None = None
    normalise: NormaliseMethod = "none"
    normalise_region: NormaliseRegion = "roi"
    nyul_landmarks: str | None = None
    roi: RoiKind = "tumour"
    ring_inner_mm: float = 0.0
    ring_outer_mm: float | None = None
    ring_clip: RingClip = "none"
    organ_label: int | None = None
    organ_roi_name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.bias_field, bool):
            _fail(f"preprocess.bias_field must be true or false, got {self.bias_field!r}")
        s = self.smoothing_sigma_mm
        if s is not None and not (
            isinstance(s, int | float) and not isinstance(s, bool) and s > 0 and math.isfinite(s)
        ):
            _fail(f"preprocess.smoothing_sigma_mm must be a finite number > 0 mm, got {s!r}")
        if self.normalise not in ("none", "zscore", "minmax", "nyul"):
            _fail(
                f"preprocess.normalise must be none, zscore, minmax or nyul; got {self.normalise!r}"
            )
        lm = self.nyul_landmarks
        if lm is not None and (not isinstance(lm, str) or not lm):
            _fail(f"preprocess.nyul_landmarks must be a file path, got {lm!r}")
        if self.normalise == "nyul" and lm is None:
            _fail(
                "preprocess.normalise nyul needs preprocess.nyul_landmarks: the landmarks "
                "file written by 'radiomix standardise fit STUDY --tag TAG --out FILE'"
            )
        if self.normalise != "nyul" and lm is not None:
            _fail(
                f"preprocess.nyul_landmarks is set but preprocess.normalise is "
                f"{self.normalise!r}; set normalise: nyul or remove nyul_landmarks"
            )
        if self.normalise_region not in ("roi", "image"):
            _fail(
                f"preprocess.normalise_region must be roi or image, got {self.normalise_region!r}"
            )
        if self.roi not in ("tumour", "ring", "largest_slice"):
            _fail(f"preprocess.roi must be tumour, ring or largest_slice, got {self.roi!r}")
        inner, outer = self.ring_inner_mm, self.ring_outer_mm
        if not (
            isinstance(inner, int | float)
            and not isinstance(inner, bool)
            and inner >= 0
            and math.isfinite(inner)
        ):
            _fail(f"preprocess.ring_inner_mm must be a finite number >= 0 mm, got {inner!r}")
        if self.roi == "ring" and outer is None:
            _fail("preprocess.roi ring needs preprocess.ring_outer_mm (outer radius in mm)")
        if self.roi != "ring" and (outer is not None or inner != 0):
            _fail(f"preprocess.ring_outer_mm / ring_inner_mm describe a peritumoral ring, but "
                  f"preprocess.roi is {self.roi}: set roi: ring to analyse the ring, or remove "
                  "the radii")
        if outer is not None and not (
            isinstance(outer, int | float)
            and not isinstance(outer, bool)
            and math.isfinite(outer)
            and outer > inner
        ):
            _fail(
                f"preprocess.ring_outer_mm must be a finite number > ring_inner_mm "
                f"({inner} mm), got {outer!r}"
            )

        if (self.roi == "ring" and self.normalise in ("zscore", "minmax")
                and self.normalise_region == "roi"):
            fixed = "mean 0 and SD 1" if self.normalise == "zscore" else "minimum 0, maximum 1"
            log.warning("preprocess: normalise %s with normalise_region roi standardises the "
                        "peritumoral ring on its own statistics, so it has %s in every patient "
                        "by construction; set normalise_region: image to compare rings between "
                        "patients", self.normalise, fixed)
        if self.ring_clip not in ("none", "organ"):
            _fail(f"preprocess.ring_clip must be none or organ, got {self.ring_clip!r}")
        if self.ring_clip == "organ" and self.roi != "ring":
            _fail("preprocess.ring_clip organ clips the peritumoral ring: it needs roi: ring")
        lab = self.organ_label
        if lab is not None and (isinstance(lab, bool) or not isinstance(lab, int)):
            _fail(f"preprocess.organ_label must be an integer, got {lab!r}")
        if lab is not None and self.ring_clip != "organ":
            _fail("preprocess.organ_label is set but preprocess.ring_clip is not organ")
        name = self.organ_roi_name
        if name is not None and not (isinstance(name, str) and name.strip()):
            _fail(f"preprocess.organ_roi_name must be a non-empty string, got {name!r}")
        if name is not None and self.ring_clip != "organ":
            _fail("preprocess.organ_roi_name is set but preprocess.ring_clip is not organ")
        if name is not None and lab is not None:
            _fail("give preprocess.organ_label or preprocess.organ_roi_name, not both")

    @property
    def active(self) -> bool:
        """True when any step changes the image or the ROI."""
        return (
            self.bias_field
            or self.smoothing_sigma_mm is not None
            or self.normalise != "none"
            or self.roi != "tumour"
        )


RegistrationTransform = Literal["translation", "rigid", "affine"]
RegistrationInit = Literal["geometry", "moments", "none"]


@dataclass(frozen=True, kw_only=True, slots=True)
class RegistrationSettings:
    """Registration of one image (phase, sequence) onto a reference image of the same lesion.

    Used by the ``registration`` entry of a study tag that has ``register_to``, and by
    :func:`radiomix.extraction.extract`; the fields are the parameters of
    :func:`radiomix.process.registration.register_images` (SimpleITK, Mattes mutual
    information, regular-step gradient descent, multi-resolution).

    Parameters
    ----------
    transform : {"rigid", "affine", "translation"}
        Transform model: rigid (3 rotations + 3 translations), affine (12 parameters) or
        translation only.
    initialisation : {"geometry", "moments", "none"}
        Initial transform: align the image centres, the intensity centres of mass, or
        identity (scanner coordinates, right for phases of one acquisition).
    histogram_bins : int
        Joint-histogram bins of Mattes MI (>= 4).
    sampling_fraction : float
        Fraction (0, 1] of reference voxels sampled per iteration (random, seeded).
    shrink_factors : tuple of int
        Pyramid shrink factor per level, coarse to fine (>= 1).
    smoothing_sigmas_mm : tuple of float
        Gaussian σ in mm per level (>= 0), one per shrink factor.
    learning_rate : float
        Maximum optimiser step (about mm).
    iterations : int
        Maximum optimiser iterations per level.
    seed : int
        Seed of the metric sampling: the same inputs and settings give the same transform.
    """

    transform: RegistrationTransform = "rigid"
    initialisation: RegistrationInit = "geometry"
    histogram_bins: int = 50
    sampling_fraction: float = 0.25
    shrink_factors: tuple[int, ...] = (4, 2, 1)
    smoothing_sigmas_mm: tuple[float, ...] = (2.0, 1.0, 0.0)
    learning_rate: float = 1.0
    iterations: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if self.transform not in ("translation", "rigid", "affine"):
            _fail(
                f"registration.transform must be rigid, affine or translation; got "
                f"{self.transform!r}"
            )
        if self.initialisation not in ("geometry", "moments", "none"):
            _fail(
                "registration.initialisation must be geometry, moments or none; got "
                f"{self.initialisation!r}"
            )
        for name in ("histogram_bins", "iterations", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                _fail(f"registration.{name} must be an integer, got {v!r}")
        if self.histogram_bins < 4:
            _fail(f"registration.histogram_bins must be >= 4, got {self.histogram_bins}")
        if self.seed < 0:
            _fail(f"registration.seed must be >= 0, got {self.seed}")
        if self.iterations < 1:
            _fail(f"registration.iterations must be >= 1, got {self.iterations}")
        f = self.sampling_fraction
        if not (isinstance(f, int | float) and not isinstance(f, bool) and 0 < f <= 1):
            _fail(f"registration.sampling_fraction must be in (0, 1], got {f!r}")
        lr = self.learning_rate
        if not (isinstance(lr, int | float) and lr > 0 and math.isfinite(lr)):
            _fail(f"registration.learning_rate must be a finite number > 0, got {lr!r}")
        shrink, sigmas = self.shrink_factors, self.smoothing_sigmas_mm
        if not shrink or len(shrink) != len(sigmas):
            _fail(
                "registration.shrink_factors and smoothing_sigmas_mm need one value per "
                f"pyramid level, got {list(shrink)} and {list(sigmas)}"
            )
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shrink):
            _fail(f"registration.shrink_factors must be integers >= 1, got {list(shrink)}")
        if any(not (isinstance(s, int | float) and s >= 0 and math.isfinite(s)) for s in sigmas):
            _fail(f"registration.smoothing_sigmas_mm must be >= 0 mm, got {list(sigmas)}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtractionSettings:
    """Complete settings of one extraction: the IBSI processing chain plus features.

    Parameters
    ----------
    dimensionality : {"2d", "3d"}
        ``2d``: in-plane interpolation and per-slice texture (IBSI configurations A, B);
        ``3d``: volumetric (C–E).
    crop, interpolation, mask_interpolation, resegmentation, discretisation, ivh, features,
    response_maps : see the settings class of each step.
    preprocess : PreprocessSettings
        Bias-field correction, smoothing, normalisation and the peritumoral ring, applied on
        the original grid before the IBSI 1 chain; the defaults change nothing.
    """

    dimensionality: Dimensionality = "3d"
    crop: CropSettings = field(default_factory=CropSettings)
    interpolation: InterpolationSettings = field(default_factory=InterpolationSettings)
    mask_interpolation: MaskInterpolationSettings = field(default_factory=MaskInterpolationSettings)
    resegmentation: ResegmentationSettings = field(default_factory=ResegmentationSettings)
    discretisation: DiscretisationSettings = field(default_factory=DiscretisationSettings)
    ivh: IvhSettings = field(default_factory=IvhSettings)
    features: FeatureSettings = field(default_factory=FeatureSettings)
    response_maps: ResponseMapSettings = field(default_factory=ResponseMapSettings)
    preprocess: PreprocessSettings = field(default_factory=PreprocessSettings)

    def __post_init__(self) -> None:
        if self.dimensionality not in ("2d", "3d"):
            _fail(f"dimensionality must be 2d or 3d, got {self.dimensionality!r}")
        sp = self.interpolation.spacing
        if sp is not None:
            if self.dimensionality == "2d" and sp[0] is not None:
                _fail(
                    "with dimensionality 2d, interpolation is in-plane: give spacing as "
                    f"[null, y, x], got {list(sp)!r}"
                )
            if self.dimensionality == "3d" and sp[0] is None:
                _fail(f"with dimensionality 3d, interpolation.spacing needs z, got {list(sp)!r}")
        if self.preprocess.normalise != "none" and self.interpolation.round_intensities:
            _fail(
                f"preprocess.normalise {self.preprocess.normalise} gives unitless intensities; "
                "interpolation.round_intensities would round them to integers: set it false"
            )
        self._refuse_unread_interpolation()
        if self.response_maps.filters and self.features.aggregations is not None:
            self.features.check_aggregated_families(self.response_maps.families,
                                                    "response_maps.families")

    def unread_values(self) -> list[str]:
        """Values (other than their defaults) that no computed family reads: the settings
        record them and the settings hash changes with them, though no number does (a
        family counts as computed when it is in ``features.families`` or, with filters, in
        ``response_maps.families``). Extraction names them in the provenance notes
        (``settings``); they are not refused, since trimming the families of a settings file
        for a quick run leaves such values behind.

        Examples
        --------
        >>> ExtractionSettings(features=FeatureSettings(families=("stat",)),
        ...                    ivh=IvhSettings(method="fbs", bin_width=0.1)).unread_values()
        ['ivh']
        """
        maps = self.response_maps
        computed = set(self.features.families) | (set(maps.families) if maps.filters else set())
        f, default_f = self.features, FeatureSettings()
        reads = {  # value -> (is it set, families that read it)
            "ivh": (self.ivh != IvhSettings(), {"ivh"}),
            "discretisation": (self.discretisation != DiscretisationSettings(),
                               {"ih", *TEXTURE_FAMILY_NAMES}),
            "features.glcm_distance": (f.glcm_distance != default_f.glcm_distance, {"glcm"}),
            "features.glcm_symmetric": (f.glcm_symmetric != default_f.glcm_symmetric,
                                        {"glcm"}),
            "features.ngtdm_distance": (f.ngtdm_distance != default_f.ngtdm_distance,
                                        {"ngtdm"}),
            "features.ngldm_distance": (f.ngldm_distance != default_f.ngldm_distance,
                                        {"ngldm"}),
            "features.ngldm_coarseness": (f.ngldm_coarseness != default_f.ngldm_coarseness,
                                          {"ngldm"}),
            "features.linkage_distance": (f.linkage_distance != default_f.linkage_distance,
                                          {"glszm", "gldzm"}),
            "features.aggregations": (f.aggregations is not None, set(TEXTURE_FAMILY_NAMES)),
            "features.moran_max_voxels": (f.moran_max_voxels != default_f.moran_max_voxels,
                                          {"morph"}),
        }
        unread = [key for key, (given, families) in reads.items()
                  if given and not computed & families]
        if f.moran_sample_voxels != default_f.moran_sample_voxels and (
                f.moran_max_voxels is None or "morph" not in computed):
            unread.append("features.moran_sample_voxels (read only with moran_max_voxels)")
        if not maps.filters:
            unread += [key for key, given in (
                ("response_maps.families", maps.families != ResponseMapSettings().families),
                ("response_maps.discretisation",
                 maps.discretisation != ResponseMapSettings().discretisation),
                ("response_maps.margin_mm", maps.margin_mm is not None)) if given]
        elif (maps.discretisation != ResponseMapSettings().discretisation
              and not set(maps.families) - {"stat"}):
            unread.append("response_maps.discretisation (response_maps.families holds stat "
                          "only)")
        pre = self.preprocess
        if (pre.normalise == "none"
                and pre.normalise_region != PreprocessSettings().normalise_region):
            unread.append("preprocess.normalise_region (preprocess.normalise is none)")
        return unread

    def _refuse_unread_interpolation(self) -> None:
        """Refuse interpolation values that nothing reads: with no interpolation
        (``spacing: null``) the interpolation method, intensity rounding and the mask's
        method and partial-volume threshold; with a nearest-neighbour mask the threshold
        (the interpolated mask holds only 0 and 1). Provenance would record them as used."""
        interp, mask = self.interpolation, self.mask_interpolation
        default = MaskInterpolationSettings().partial_volume_threshold
        if interp.spacing is None:
            unread = [text for on, text in (
                (interp.round_intensities, "interpolation.round_intensities: true"),
                (interp.method != "linear", f"interpolation.method: {interp.method}"),
                (mask.method != "linear", f"mask_interpolation.method: {mask.method}"),
                (mask.partial_volume_threshold != default,
                 f"mask_interpolation.partial_volume_threshold: "
                 f"{mask.partial_volume_threshold:g}")) if on]
            if unread:
                _fail(f"{', '.join(unread)} set, but interpolation.spacing is null (no "
                      "interpolation), so nothing reads them (IBSI rounds intensities and "
                      "thresholds the mask after interpolation): remove them, or give "
                      "interpolation.spacing")
        elif mask.method == "nearest" and mask.partial_volume_threshold != default:
            _fail(f"mask_interpolation.partial_volume_threshold: "
                  f"{mask.partial_volume_threshold:g} is read by nothing with "
                  "mask_interpolation.method nearest (the interpolated mask holds only 0 and "
                  "1): remove it, or use method linear")
