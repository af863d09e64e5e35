"""Intensity normalisation on numpy arrays: min–max, z-score, histogram standardisation.

All functions take (Z, Y, X) arrays, return new float64 arrays (the input is never
modified) and compute their statistics in an optional boolean ``mask`` of the same shape:
the ROI, or a reference region (e.g. muscle or fat for MR, as in reference-region
normalisation). Voxels outside the mask are transformed with the same mapping.

For multi-centre MR, where intensities have no physical unit and differ between scanners and
protocols, :func:`fit_histogram_standardisation` and :func:`histogram_standardise` implement
the piecewise-linear histogram standardisation of Nyúl, Udupa and Zhang (2000): landmarks
(percentiles) learnt on training images are mapped onto a common standard scale.
:class:`StandardScale` adds the region the landmarks are read from and the provenance of
the fit, and is stored as a JSON landmarks file (:func:`save_standard_scale`,
:func:`load_standard_scale`) that ``radiomix standardise fit`` writes and study runs read.

References
----------
Nyúl LG, Udupa JK, Zhang X. New variants of a method of MRI scale standardization. IEEE Trans
Med Imaging 2000;19(2):143–150. doi:10.1109/42.836373.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from radiomix.errors import EmptyRoiError, GeometryMismatchError, InputError, SettingsError
from radiomix.process.filters._validate import check_image
from radiomix.types import BoolArray, FloatArray

log = logging.getLogger(__name__)

DEFAULT_LANDMARKS: tuple[float, ...] = (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0)
"""Default inner landmarks of histogram standardisation: the deciles (Nyúl et al. 2000)."""


def _values(image: FloatArray, mask: BoolArray | None, what: str) -> FloatArray:
    if mask is None:
        return image.ravel()
    m = np.asarray(mask)
    if m.shape != image.shape:
        raise GeometryMismatchError(
            f"{what}: mask shape {m.shape} differs from image shape {image.shape}"
        )
    m = m.astype(bool, copy=False)
    if not m.any():
        raise EmptyRoiError(f"{what}: the mask holds no voxel")
    return image[m]


def minmax_normalise(
    image: np.ndarray,
    mask: BoolArray | None = None,
    *,
    out_range: tuple[float, float] = (0.0, 1.0),
) -> FloatArray:
    """Min–max normalisation: the mask's minimum maps to ``out_range[0]``, its maximum to
    ``out_range[1]``.

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Image to normalise.
    mask : (Z, Y, X) ndarray of bool or None
        Region whose minimum and maximum define the mapping (ROI or reference region);
        ``None`` uses the whole image. Voxels outside it may fall outside ``out_range``.
    out_range : tuple of 2 float
        Target interval (lower < upper).

    Returns
    -------
    (Z, Y, X) ndarray of float64

    Raises
    ------
    EmptyRoiError, GeometryMismatchError
        Empty mask, or mask shape differs from the image.
    InputError
        The region is constant (max = min), so the mapping is undefined.
    SettingsError
        ``out_range`` not increasing.

    Notes
    -----
    .. math:: I' = a + (b - a)\\frac{I - \\min_R I}{\\max_R I - \\min_R I}

    Examples
    --------
    >>> import numpy as np
    >>> minmax_normalise(np.array([[[2.0, 4.0, 6.0]]])).ravel().tolist()
    [0.0, 0.5, 1.0]
    """
    lo, hi = (float(v) for v in out_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise SettingsError(
            f"out_range must be two finite numbers, lower < upper; got {out_range!r}"
        )
    data = check_image(image)
    values = _values(data, mask, "min-max normalisation")
    vmin, vmax = float(values.min()), float(values.max())
    if not vmax > vmin:
        raise InputError(
            f"min-max normalisation is undefined: the region is constant (all values {vmin})"
        )
    return lo + (hi - lo) * (data - vmin) / (vmax - vmin)


def zscore_normalise(image: np.ndarray, mask: BoolArray | None = None) -> FloatArray:
    """Z-score normalisation: subtract the mask's mean, divide by its standard deviation.

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Image to normalise.
    mask : (Z, Y, X) ndarray of bool or None
        Region whose mean and (population) standard deviation are used: ROI or reference
        region; ``None`` uses the whole image.

    Returns
    -------
    (Z, Y, X) ndarray of float64

    Raises
    ------
    EmptyRoiError, GeometryMismatchError
        Empty mask, or mask shape differs from the image.
    InputError
        The region is constant (standard deviation 0).

    Notes
    -----
    .. math:: I' = \\frac{I - \\mu_R}{\\sigma_R},\\quad
       \\sigma_R^2 = \\frac{1}{N_R}\\sum_{k \\in R}(I_k - \\mu_R)^2

    Examples
    --------
    >>> import numpy as np
    >>> zscore_normalise(np.array([[[1.0, 3.0]]])).ravel().tolist()
    [-1.0, 1.0]
    """
    data = check_image(image)
    values = _values(data, mask, "z-score normalisation")
    mu = float(values.mean())
    sd = float(values.std())
    if not sd > 0:
        raise InputError(
            f"z-score normalisation is undefined: the region is constant (all values {mu})"
        )
    return (data - mu) / sd


@dataclass(frozen=True, slots=True)
class HistogramLandmarks:
    """Standard scale learnt by :func:`fit_histogram_standardisation`.

    Attributes
    ----------
    percentiles : tuple of float
        Percentiles of every landmark, increasing, including the two ends
        (``lower_percentile``, inner landmarks…, ``upper_percentile``).
    standard : tuple of float
        Their positions on the standard scale, increasing; the ends are the standard range.
    n_images : int
        Number of training images.
    """

    percentiles: tuple[float, ...]
    standard: tuple[float, ...]
    n_images: int


def _check_percentiles(lower: float, upper: float, landmarks: Sequence[float]) -> tuple[float, ...]:
    pcs = (float(lower), *(float(v) for v in landmarks), float(upper))
    if not all(0.0 <= p <= 100.0 for p in pcs) or any(b <= a for a, b in itertools.pairwise(pcs)):
        raise SettingsError(
            "histogram standardisation percentiles must increase strictly within [0, 100]: "
            f"lower {lower}, landmarks {tuple(landmarks)}, upper {upper}"
        )
    return pcs


def _image_landmarks(values: FloatArray, pcs: tuple[float, ...], what: str) -> FloatArray:
    marks = np.percentile(values, pcs)
    if np.any(np.diff(marks) <= 0):
        raise InputError(
            f"{what}: landmarks {np.round(marks, 6).tolist()} at percentiles {list(pcs)} are not "
            "strictly increasing (too few distinct intensities in the region); use fewer "
            "landmarks or a larger region"
        )
    return marks


def fit_histogram_standardisation(
    images: Sequence[np.ndarray],
    masks: Sequence[BoolArray | None] | None = None,
    *,
    landmarks: Sequence[float] = DEFAULT_LANDMARKS,
    lower_percentile: float = 1.0,
    upper_percentile: float = 99.0,
    standard_range: tuple[float, float] = (0.0, 100.0),
) -> HistogramLandmarks:
    """Learn the standard histogram landmarks of Nyúl–Udupa standardisation.

    Parameters
    ----------
    images : sequence of (Z, Y, X) ndarray
        Training images (one per patient, same sequence and body region), e.g. the training
        fold only, so that no information from test patients leaks into the scale.
    masks : sequence of (Z, Y, X) bool ndarray or None, or None
        Region of each image used for its histogram (e.g. a body or foreground mask);
        ``None`` uses all voxels.
    landmarks : sequence of float
        Inner landmark percentiles (default: deciles 10 … 90).
    lower_percentile, upper_percentile : float
        Percentiles p1 and p2 mapped to the ends of ``standard_range`` (default 1 and 99,
        which ignores outliers).
    standard_range : tuple of 2 float
        Standard scale [s1, s2].

    Returns
    -------
    HistogramLandmarks

    Raises
    ------
    SettingsError
        Percentiles not strictly increasing within [0, 100], bad standard range, no image.
    InputError, EmptyRoiError, GeometryMismatchError
        Bad image or mask; landmarks of an image not strictly increasing.

    Notes
    -----
    For training image i with landmark intensities :math:`p_1 < \\mu_{i,1} < … < p_2`, each
    inner landmark is mapped linearly onto the standard scale,
    :math:`\\mu'_{i,l} = s_1 + (\\mu_{i,l} - p_1)(s_2 - s_1)/(p_2 - p_1)`, and the standard
    landmark is the mean :math:`\\bar\\mu'_l` over images (Nyúl et al. 2000).
    """
    if len(images) == 0:
        raise SettingsError("fit_histogram_standardisation needs at least one training image")
    if masks is not None and len(masks) != len(images):
        raise InputError(f"got {len(images)} images but {len(masks)} masks")
    s1, s2 = (float(v) for v in standard_range)
    if not (math.isfinite(s1) and math.isfinite(s2) and s1 < s2):
        raise SettingsError(f"standard_range must be increasing, got {standard_range!r}")
    pcs = _check_percentiles(lower_percentile, upper_percentile, landmarks)
    mapped = []
    for i, img in enumerate(images):
        data = check_image(img)
        values = _values(data, None if masks is None else masks[i], f"training image {i}")
        marks = _image_landmarks(values, pcs, f"training image {i}")
        mapped.append(s1 + (marks - marks[0]) * (s2 - s1) / (marks[-1] - marks[0]))
    standard = np.mean(mapped, axis=0)
    standard[0], standard[-1] = s1, s2
    return HistogramLandmarks(
        percentiles=pcs, standard=tuple(float(v) for v in standard), n_images=len(images)
    )


def histogram_standardise(
    image: np.ndarray, landmarks: HistogramLandmarks, mask: BoolArray | None = None
) -> FloatArray:
    """Map an image onto the standard scale (Nyúl–Udupa histogram standardisation).

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        Image to standardise.
    landmarks : HistogramLandmarks
        Standard scale from :func:`fit_histogram_standardisation`.
    mask : (Z, Y, X) ndarray of bool or None
        Region whose histogram gives this image's landmarks (as in training).

    Returns
    -------
    (Z, Y, X) ndarray of float64

    Raises
    ------
    InputError, EmptyRoiError, GeometryMismatchError
        Bad image or mask; landmarks not strictly increasing.

    Notes
    -----
    The image's landmark intensities (same percentiles as in training) are mapped to the
    standard landmarks by a piecewise-linear, increasing function; below the first and above
    the last landmark the first and last segments are extended. An intensity transformation
    ``a·I + b`` (a > 0) of the input leaves the output unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> img = rng.gamma(2.0, 100.0, size=(4, 16, 16))
    >>> lm = fit_histogram_standardisation([img])
    >>> a, b = histogram_standardise(img, lm), histogram_standardise(3 * img + 50, lm)
    >>> bool(np.allclose(a, b))
    True
    """
    data = check_image(image)
    values = _values(data, mask, "histogram standardisation")
    marks = _image_landmarks(values, landmarks.percentiles, "histogram standardisation")
    std = np.asarray(landmarks.standard)
    out = np.interp(data, marks, std)
    lo_slope = (std[1] - std[0]) / (marks[1] - marks[0])
    hi_slope = (std[-1] - std[-2]) / (marks[-1] - marks[-2])
    below = data < marks[0]
    above = data > marks[-1]
    out[below] = std[0] + (data[below] - marks[0]) * lo_slope
    out[above] = std[-1] + (data[above] - marks[-1]) * hi_slope
    return out


# --------------------------------------------------------------------------- standard scale

STANDARD_SCALE_FORMAT = "radiomix.histogram_standardisation/1"
"""``format`` entry of a landmarks file (:func:`save_standard_scale`)."""

StandardisationRegion = Literal["foreground", "image", "roi"]
STANDARDISATION_REGIONS: tuple[str, ...] = ("foreground", "image", "roi")


def standardisation_region(
    image: np.ndarray, mask: BoolArray | None, region: str
) -> BoolArray | None:
    """Voxels whose histogram gives an image's landmarks in histogram standardisation.

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        The image (after any bias-field correction and smoothing that precede it).
    mask : (Z, Y, X) ndarray of bool or None
        Tumour mask; needed for ``region="roi"`` only.
    region : {"foreground", "image", "roi"}
        ``foreground``: voxels brighter than the image's mean intensity (the usual
        foreground heuristic of Nyúl–Udupa standardisation: it drops air and background,
        whose share of the field of view varies between scans); ``image``: every voxel;
        ``roi``: the tumour mask.

    Returns
    -------
    (Z, Y, X) ndarray of bool or None
        ``None`` for ``image`` (every voxel).

    Raises
    ------
    SettingsError
        Unknown region, or ``roi`` without a mask.
    """
    if region == "image":
        return None
    if region == "foreground":
        data = np.asarray(image, dtype=np.float64)
        return data > float(data.mean())
    if region == "roi":
        if mask is None:
            raise SettingsError("histogram standardisation region 'roi' needs the tumour mask")
        return np.asarray(mask, dtype=bool)
    raise SettingsError(
        f"histogram standardisation region must be one of {', '.join(STANDARDISATION_REGIONS)};"
        f" got {region!r}"
    )


@dataclass(frozen=True, slots=True)
class StandardScale:
    """A fitted Nyúl–Udupa standard scale with what it was fitted on (a landmarks file).

    Attributes
    ----------
    landmarks : HistogramLandmarks
        Percentiles and standard-scale positions.
    region : {"foreground", "image", "roi"}
        Region of each image whose histogram gives its landmarks, in fitting and when the
        scale is applied (:func:`standardisation_region`).
    fitted_on : dict
        Provenance of the fit: study name, tag, manifest hash, selection (e.g. centres),
        the ``patient_id``/``lesion_id`` of every training image, preprocessing applied
        before fitting. Written to the file and to the provenance of every case using it,
        so that training images can be audited against test patients.
    sha256 : str or None
        SHA-256 of the file it was read from (``None`` before saving).
    """

    landmarks: HistogramLandmarks
    region: str = "foreground"
    fitted_on: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (the landmarks file's contents)."""
        return {
            "format": STANDARD_SCALE_FORMAT,
            "method": "nyul_udupa_2000",
            "region": self.region,
            "percentiles": list(self.landmarks.percentiles),
            "standard": list(self.landmarks.standard),
            "n_images": self.landmarks.n_images,
            "fitted_on": self.fitted_on,
        }

    def apply(self, image: np.ndarray, mask: BoolArray | None = None) -> FloatArray:
        """Standardise ``image`` (:func:`histogram_standardise` over this scale's region)."""
        return histogram_standardise(
            image, self.landmarks, standardisation_region(image, mask, self.region)
        )


def check_scale_fits(scale: StandardScale, *, tag: str, name: str, bias_field: bool,
                     smoothing_sigma_mm: float | None, modality: str | None,
                     compare_tag: bool = True) -> None:
    """Refuse a landmarks file that does not fit the tag it standardises.

    The landmarks are percentiles of histograms taken after the fitted tag's own N4 and
    smoothing (``fitted_on.preprocess_before``); a tag that runs other steps first maps
    histograms of another shape onto that scale, so its intensities land elsewhere on the
    standard scale without an error. Nyúl–Udupa standardisation is for MR intensities in
    arbitrary units: on a tag declared CT or PT it would replace the Hounsfield or SUV
    scale. A file fitted on a tag of another name is only said (a study may rename tags;
    ``compare_tag=False``: a single extraction, whose tag is only a column prefix).

    Raises
    ------
    SettingsError
        Naming the mismatch and the fix.
    """
    if modality in ("CT", "PT"):
        raise SettingsError(
            f"tags.{tag}: normalise nyul standardises MR intensities (arbitrary units), but "
            f"the tag declares modality {modality}, whose {'HU' if modality == 'CT' else 'SUV'}"
            " scale it would replace; use it on MR tags only")
    before = scale.fitted_on.get("preprocess_before")
    if isinstance(before, dict):
        fitted = (bool(before.get("bias_field")), before.get("smoothing_sigma_mm"))
        if fitted != (bool(bias_field), smoothing_sigma_mm):
            def yaml(v: Any) -> str:
                if v is None or isinstance(v, bool):
                    return "null" if v is None else str(v).lower()
                return f"{v:g}" if isinstance(v, int | float) else repr(v)

            raise SettingsError(
                f"tags.{tag}: the landmarks file {name} was fitted after bias_field "
                f"{yaml(fitted[0])}, smoothing_sigma_mm {yaml(fitted[1])}, but this tag runs "
                f"bias_field {yaml(bool(bias_field))}, smoothing_sigma_mm "
                f"{yaml(smoothing_sigma_mm)} first: its histograms would not be those the "
                "scale was fitted on; fit the file again with 'radiomix standardise fit STUDY "
                f"--tag {tag}' (it runs the tag's own steps first)")
    fitted_tag = scale.fitted_on.get("tag")
    if compare_tag and isinstance(fitted_tag, str) and fitted_tag != tag:
        # a warning, not a refusal: a study may rename its tags (the same T1 sequence called
        # 't1' in one study and 'mr_t1' in the next); said once per run, in the main process
        log.warning("tags.%s: the landmarks file %s was fitted on tag %r of study %r, not on "
                    "%s; unless %r holds the same MR sequence, fit the file for this tag with "
                    "'radiomix standardise fit STUDY --tag %s --out FILE'", tag, name,
                    fitted_tag, scale.fitted_on.get("study"), tag, fitted_tag, tag)


def _json_number(value: float) -> str:
    """A non-finite float as JSON files spell it (what the user sees in the file)."""
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _first_non_finite(data: Any, at: str = "") -> tuple[str, float] | None:
    """The first NaN or infinite number anywhere in a JSON document (depth first).

    Returns its place, e.g. ``standard[5] (entry 6 of 11)`` or
    ``fitted_on.preprocess_before.smoothing_sigma_mm``, and the value; ``None`` when every
    number is finite.
    """
    if isinstance(data, dict):
        for key, value in data.items():
            found = _first_non_finite(value, f"{at}.{key}" if at else str(key))
            if found is not None:
                return found
    elif isinstance(data, list):
        for i, value in enumerate(data):
            if isinstance(value, float) and not math.isfinite(value):
                return f"{at}[{i}] (entry {i + 1} of {len(data)})", value
            found = _first_non_finite(value, f"{at}[{i}]")
            if found is not None:
                return found
    elif isinstance(data, float) and not math.isfinite(data):
        return at, data
    return None


def _check_finite(data: Any, where: str) -> None:
    """Refuse a landmarks document holding NaN or Infinity (Python's json reads both)."""
    found = _first_non_finite(data)
    if found is not None:
        at, value = found
        raise SettingsError(
            f"{where}: {at} is {_json_number(value)}, but a landmarks file holds finite numbers "
            "only; write it again with 'radiomix standardise fit' instead of editing it"
        )


def _numbers(data: dict[str, Any], key: str, where: str) -> tuple[float, ...]:
    """The list ``data[key]`` of JSON numbers (not strings or booleans) as floats."""
    values = data[key]
    if not isinstance(values, list):
        raise SettingsError(f"{where}: {key} must be a list of numbers, got {values!r}; "
                           "write it again with 'radiomix standardise fit'")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise SettingsError(f"{where}: {key}[{i}] must be a number, got {v!r}; write it "
                               "again with 'radiomix standardise fit'")
    return tuple(float(v) for v in values)


def standard_scale_from_dict(data: Any, *, where: str = "landmarks") -> StandardScale:
    """Read the contents of a landmarks file, checking every entry.

    Raises
    ------
    SettingsError
        Wrong format tag, missing entry, a NaN or infinite number anywhere (naming where),
        a percentile or standard position that is not a number, or landmarks that are not
        increasing.
    """
    if not isinstance(data, dict) or data.get("format") != STANDARD_SCALE_FORMAT:
        raise SettingsError(
            f"{where} is not a radiomix landmarks file (format {STANDARD_SCALE_FORMAT!r}); "
            "write it with 'radiomix standardise fit'"
        )
    # NaN passes every "strictly increasing" comparison and Infinity is increasing: refused
    # here, before any check compares them (they made every feature NaN or inf, exit 0)
    _check_finite(data, where)
    try:
        pcs = _numbers(data, "percentiles", where)
        std = _numbers(data, "standard", where)
        n = data["n_images"]
        region = str(data["region"])
    except KeyError as exc:
        raise SettingsError(f"{where}: missing entry {exc}") from None
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SettingsError(f"{where}: n_images must be a positive whole number, got {n!r}; "
                           "write it again with 'radiomix standardise fit'")
    if region not in STANDARDISATION_REGIONS:
        raise SettingsError(f"{where}: unknown region {region!r}")
    if len(pcs) >= 2:
        try:
            _check_percentiles(pcs[0], pcs[-1], pcs[1:-1])
        except SettingsError as exc:
            raise SettingsError(f"{where}: {exc}") from None
    if len(pcs) < 2 or len(std) != len(pcs) or any(b <= a for a, b in itertools.pairwise(std)):
        raise SettingsError(
            f"{where}: needs as many strictly increasing standard positions as percentiles "
            f"(got {len(pcs)} percentiles, standard {list(std)})"
        )
    fitted = data.get("fitted_on", {})
    return StandardScale(
        landmarks=HistogramLandmarks(percentiles=pcs, standard=std, n_images=n),
        region=region,
        fitted_on=fitted if isinstance(fitted, dict) else {},
    )


def save_standard_scale(scale: StandardScale, path: str | Path) -> StandardScale:
    """Write a landmarks file (JSON); returns the scale with the file's SHA-256.

    Raises
    ------
    SettingsError
        The scale holds a NaN or infinite number (the file would be refused when read).
    OSError
        The file cannot be written (its folder must exist).
    """
    import hashlib
    import json

    path = Path(path)
    _check_finite(scale.to_dict(), f"landmarks for {path}")  # never a file the loader refuses
    text = json.dumps(scale.to_dict(), indent=2, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return StandardScale(
        landmarks=scale.landmarks, region=scale.region, fitted_on=scale.fitted_on, sha256=digest
    )


def load_standard_scale(path: str | Path) -> StandardScale:
    """Read a landmarks file written by :func:`save_standard_scale`.

    Raises
    ------
    SettingsError
        Missing file, invalid JSON or contents (see :func:`standard_scale_from_dict`).
    """
    import hashlib
    import json

    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SettingsError(
            f"landmarks file not found: {path} (write it with 'radiomix standardise fit')"
        ) from None
    except IsADirectoryError:
        raise SettingsError(f"landmarks file {path} is a folder") from None
    except OSError as exc:
        raise SettingsError(
            f"landmarks file {path} cannot be read: {exc.strerror or exc}"
        ) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SettingsError(f"landmarks file {path} is not valid JSON: {exc}") from exc
    scale = standard_scale_from_dict(data, where=f"landmarks file {path}")
    return StandardScale(
        landmarks=scale.landmarks,
        region=scale.region,
        fitted_on=scale.fitted_on,
        sha256=hashlib.sha256(raw).hexdigest(),
    )
