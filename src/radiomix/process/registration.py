"""Rigid / affine registration of one image to a reference (SimpleITK, Mattes mutual
information), e.g. a contrast phase to the portal phase or a T2 to a T1 sequence.

This module works on **SimpleITK images**, not numpy arrays: registration needs the full
geometry (origin, direction, spacing) of both images, which arrays with a spacing do not
carry. Use :func:`SimpleITK.GetArrayFromImage` on :attr:`RegistrationResult.resampled` to
continue on the fixed image's grid with numpy.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from radiomix.errors import InputError, SettingsError
from radiomix.settings.steps import RegistrationSettings

if TYPE_CHECKING:
    import SimpleITK as sitk

log = logging.getLogger(__name__)

TransformKind = Literal["translation", "rigid", "affine"]


@dataclass(frozen=True, slots=True)
class RegistrationResult:
    """Output of :func:`register_images`.

    Attributes
    ----------
    transform : SimpleITK.Transform
        Maps points of the fixed (reference) image space to the moving image space (ITK
        convention), so ``Resample(moving, fixed, transform)`` brings the moving image onto
        the fixed grid.
    resampled : SimpleITK.Image
        The moving image resampled on the fixed grid (linear interpolation; outside the
        moving image: ``default_value``), with the moving image's pixel type as float32.
    metric_before, metric_after : float
        QC metric: Mattes mutual information of the two images at the initial transform
        (the ``initialisation``) and at the final one, as SimpleITK reports it (negative MI:
        lower is better). ``metric_after < metric_before`` means the alignment improved.
    iterations : int
        Optimiser iterations at the last resolution level.
    stop_condition : str
        The optimiser's stop condition, for the record.
    metric_stored : float or None
        The same metric with the images where they are stored (the identity transform:
        both images' patient coordinates taken as they are); None when they do not overlap
        there.
    """

    transform: sitk.Transform
    resampled: sitk.Image
    metric_before: float
    metric_after: float
    iterations: int
    stop_condition: str
    metric_stored: float | None = None

    @property
    def improved(self) -> bool:
        """Whether mutual information increased (the metric decreased) during registration."""
        return self.metric_after < self.metric_before

    @property
    def failed(self) -> bool:
        """Whether the result aligns the images worse than the better of its starting
        transform and the images as stored, by more than :data:`METRIC_NOISE` of that
        metric: the optimiser ended in a wrong place (a bad start, too little overlap, a
        local optimum), and using it would misplace the moving image. Within the margin,
        the difference is the sampled metric's own noise (a start that was already exact,
        left by a hair)."""
        best = self.metric_before
        if self.metric_stored is not None:
            best = min(best, self.metric_stored)
        return self.metric_after > best + METRIC_NOISE * abs(best)


METRIC_NOISE = 0.01
"""Relative margin within which a registration's final mutual information counts as no
worse than its start's or the stored images': the metric is estimated on a random sample of
voxels (``sampling_fraction``), and an exact start left by 0.2 % was refused."""


def _check_image(image: object, name: str) -> sitk.Image:
    import SimpleITK as sitk

    if not isinstance(image, sitk.Image):
        raise InputError(
            f"{name} must be a SimpleITK.Image (registration needs origin, direction and "
            f"spacing), got {type(image).__name__}"
        )
    if image.GetDimension() != 3:
        raise InputError(f"{name} must be a 3D image, got {image.GetDimension()}D")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"{name} must be a scalar image")
    return sitk.Cast(image, sitk.sitkFloat32)


def register_images(
    fixed: sitk.Image,
    moving: sitk.Image,
    *,
    transform: TransformKind = "rigid",
    fixed_mask: sitk.Image | None = None,
    histogram_bins: int = 50,
    sampling_fraction: float = 0.25,
    shrink_factors: Sequence[int] = (4, 2, 1),
    smoothing_sigmas_mm: Sequence[float] = (2.0, 1.0, 0.0),
    learning_rate: float = 1.0,
    iterations: int = 200,
    initialisation: Literal["geometry", "moments", "none"] = "geometry",
    default_value: float = 0.0,
    seed: int = 0,
    threads: int | None = 1,
) -> RegistrationResult:
    """Register ``moving`` to ``fixed`` by maximising Mattes mutual information.

    Parameters
    ----------
    fixed : SimpleITK.Image
        Reference image (3D, scalar), e.g. the portal-venous phase or the T1 sequence.
    moving : SimpleITK.Image
        Image to align (another phase or sequence of the same patient).
    transform : {"rigid", "translation", "affine"}
        Transform model: ``rigid`` (3 rotations + 3 translations, Euler angles),
        ``translation`` or ``affine`` (12 parameters).
    fixed_mask : SimpleITK.Image or None
        Binary mask on the fixed grid restricting where the metric is sampled (e.g. the
        liver, dilated); ``None`` uses the whole overlap.
    histogram_bins : int
        Joint histogram bins of Mattes MI.
    sampling_fraction : float
        Fraction (0, 1] of fixed voxels sampled (randomly, with ``seed``) per iteration.
    shrink_factors, smoothing_sigmas_mm : sequence
        Multi-resolution pyramid: shrink factor and Gaussian σ (mm) per level, coarse to fine.
    learning_rate : float
        Regular-step gradient descent maximum step (in the physical units set by the
        parameter scales, i.e. roughly mm).
    iterations : int
        Maximum optimiser iterations per level.
    initialisation : {"geometry", "moments", "none"}
        Initial transform: align the image centres (``geometry``), the intensity centres of
        mass (``moments``), or identity (``none``).
    default_value : float
        Value of resampled voxels that fall outside the moving image.
    seed : int
        Seed (>= 0) of the metric's random sampling; the same seed gives the same transform.
    threads : int or None
        Threads used by SimpleITK during the registration. The default, 1, makes the result
        bit-for-bit reproducible (multi-threaded sums differ in the last digits between
        runs); ``None`` keeps SimpleITK's default (all cores). The global SimpleITK default
        is set for the duration of the call and restored afterwards, so do not run other
        SimpleITK filters in parallel threads of the same process meanwhile (process pools
        are fine).

    Returns
    -------
    RegistrationResult
        Transform (fixed → moving space), resampled moving image and QC metrics.

    Raises
    ------
    InputError
        Not 3D scalar SimpleITK images; mask geometry differs from the fixed image.
    SettingsError
        Parameter out of range or unknown transform.

    Notes
    -----
    Optimiser: regular-step gradient descent with parameter scales estimated from physical
    shifts (so rotations and translations are comparable), linear interpolation, a
    multi-resolution pyramid with physical smoothing. Mattes MI (Mattes et al. 2003) suits
    images of different contrasts (phases, sequences). Check :attr:`RegistrationResult.improved`
    and the metric values in the provenance of every case.

    References
    ----------
    Mattes D, Haynor DR, Vesselle H, Lewellen TK, Eubank W. PET-CT image registration in the
    chest using free-form deformations. IEEE Trans Med Imaging 2003;22(1):120–128.
    """
    import SimpleITK as sitk

    f = _check_image(fixed, "fixed")
    m = _check_image(moving, "moving")
    if transform not in ("translation", "rigid", "affine"):
        raise SettingsError(f"transform must be translation, rigid or affine; got {transform!r}")
    if initialisation not in ("geometry", "moments", "none"):
        raise SettingsError(
            f"initialisation must be geometry, moments or none; got {initialisation!r}"
        )
    if not 0 < sampling_fraction <= 1:
        raise SettingsError(f"sampling_fraction must be in (0, 1], got {sampling_fraction!r}")
    if histogram_bins < 4:
        raise SettingsError(f"histogram_bins must be >= 4, got {histogram_bins!r}")
    if len(shrink_factors) != len(smoothing_sigmas_mm) or not shrink_factors:
        raise SettingsError(
            "shrink_factors and smoothing_sigmas_mm need one value per level, got "
            f"{list(shrink_factors)} and {list(smoothing_sigmas_mm)}"
        )
    if any(int(s) < 1 for s in shrink_factors) or any(
        not (math.isfinite(s) and s >= 0) for s in smoothing_sigmas_mm
    ):
        raise SettingsError("shrink factors must be >= 1 and smoothing sigmas >= 0 mm")
    if iterations < 1 or not learning_rate > 0:
        raise SettingsError("iterations must be >= 1 and learning_rate > 0")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SettingsError(f"seed must be an integer >= 0, got {seed!r}")

    if transform == "translation":
        base: sitk.Transform = sitk.TranslationTransform(3)
    elif transform == "rigid":
        base = sitk.Euler3DTransform()
    else:
        base = sitk.AffineTransform(3)
    if initialisation == "none" or transform == "translation":
        initial = sitk.Transform(base)
        if initialisation != "none":
            centred = sitk.CenteredTransformInitializer(
                f,
                m,
                sitk.Euler3DTransform(),
                sitk.CenteredTransformInitializerFilter.GEOMETRY
                if initialisation == "geometry"
                else sitk.CenteredTransformInitializerFilter.MOMENTS,
            )
            tr = sitk.TranslationTransform(3)
            tr.SetOffset(sitk.Euler3DTransform(centred).GetTranslation())
            initial = tr
    else:
        initial = sitk.CenteredTransformInitializer(
            f,
            m,
            base,
            sitk.CenteredTransformInitializerFilter.GEOMETRY
            if initialisation == "geometry"
            else sitk.CenteredTransformInitializerFilter.MOMENTS,
        )

    if threads is not None and threads < 1:
        raise SettingsError(f"threads must be >= 1 or None, got {threads!r}")
    with _sitk_threads(threads):
        return _register(
            f,
            m,
            initial,
            transform,
            fixed_mask,
            histogram_bins,
            sampling_fraction,
            shrink_factors,
            smoothing_sigmas_mm,
            learning_rate,
            iterations,
            default_value,
            seed,
        )


@contextmanager
def _sitk_threads(threads: int | None) -> Iterator[None]:
    """Temporarily set SimpleITK's global default number of threads."""
    import SimpleITK as sitk

    if threads is None:
        yield
        return
    previous = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(int(threads))
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(previous)


def _register(
    f: sitk.Image,
    m: sitk.Image,
    initial: sitk.Transform,
    transform: str,
    fixed_mask: sitk.Image | None,
    histogram_bins: int,
    sampling_fraction: float,
    shrink_factors: Sequence[int],
    smoothing_sigmas_mm: Sequence[float],
    learning_rate: float,
    iterations: int,
    default_value: float,
    seed: int,
) -> RegistrationResult:
    import SimpleITK as sitk

    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=int(histogram_bins))
    reg.SetMetricSamplingStrategy(reg.RANDOM)
    # SimpleITK reads seed 0 as "seed from the wall clock" (sitkWallClock), which made
    # seed=0 runs differ; shifting by one keeps every seed, 0 included, reproducible
    reg.SetMetricSamplingPercentage(float(sampling_fraction), int(seed) + 1)
    if fixed_mask is not None:
        if not isinstance(fixed_mask, sitk.Image) or (
            fixed_mask.GetSize() != f.GetSize()
            or not np.allclose(fixed_mask.GetSpacing(), f.GetSpacing(), atol=1e-4)
            or not np.allclose(fixed_mask.GetOrigin(), f.GetOrigin(), atol=1e-3)
        ):
            raise InputError("fixed_mask must be a SimpleITK image on the fixed image's grid")
        reg.SetMetricFixedMask(sitk.Cast(fixed_mask > 0, sitk.sitkUInt8))
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetOptimizerAsRegularStepGradientDescent(
        learningRate=float(learning_rate),
        minStep=1e-4,
        numberOfIterations=int(iterations),
        relaxationFactor=0.5,
        gradientMagnitudeTolerance=1e-8,
    )
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel([int(s) for s in shrink_factors])
    reg.SetSmoothingSigmasPerLevel([float(s) for s in smoothing_sigmas_mm])
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    reg.SetInitialTransform(initial, inPlace=False)

    metric_before = float(_metric(f, m, initial, histogram_bins, fixed_mask))
    try:
        metric_stored: float | None = float(
            _metric(f, m, sitk.Transform(3, sitk.sitkIdentity), histogram_bins, fixed_mask))
    except RuntimeError:  # no overlap where the images are stored
        metric_stored = None
    final = reg.Execute(f, m)
    metric_after = float(_metric(f, m, final, histogram_bins, fixed_mask))
    resampled = sitk.Resample(m, f, final, sitk.sitkLinear, float(default_value), sitk.sitkFloat32)
    log.debug(
        "registration %s: MI %.4f -> %.4f, %d iterations, %s",
        transform,
        metric_before,
        metric_after,
        reg.GetOptimizerIteration(),
        reg.GetOptimizerStopConditionDescription(),
    )
    return RegistrationResult(
        transform=final,
        resampled=resampled,
        metric_before=metric_before,
        metric_after=metric_after,
        iterations=int(reg.GetOptimizerIteration()),
        stop_condition=str(reg.GetOptimizerStopConditionDescription()),
        metric_stored=metric_stored,
    )


def _metric(
    fixed: sitk.Image,
    moving: sitk.Image,
    transform: sitk.Transform,
    bins: int,
    fixed_mask: sitk.Image | None,
) -> float:
    """Mattes MI at a given transform, on all fixed voxels."""
    import SimpleITK as sitk

    ev = sitk.ImageRegistrationMethod()
    ev.SetMetricAsMattesMutualInformation(numberOfHistogramBins=int(bins))
    ev.SetMetricSamplingStrategy(ev.NONE)
    if fixed_mask is not None:
        ev.SetMetricFixedMask(sitk.Cast(fixed_mask > 0, sitk.sitkUInt8))
    ev.SetInterpolator(sitk.sitkLinear)
    ev.SetInitialTransform(sitk.Transform(transform), inPlace=True)
    return float(ev.MetricEvaluate(fixed, moving))


def register_with_settings(
    fixed: sitk.Image,
    moving: sitk.Image,
    settings: RegistrationSettings,
    *,
    what: str = "registration",
) -> RegistrationResult:
    """:func:`register_images` with the parameters of a :class:`RegistrationSettings`.

    Voxels of the resampled image that fall outside the moving image get the moving
    image's minimum (background: air in CT, 0 in MR); :func:`moving_coverage` tells which
    they are.

    Parameters
    ----------
    fixed, moving : SimpleITK.Image
        Reference image and the image to bring onto its grid.
    settings : RegistrationSettings
        Transform model, metric and optimiser parameters.
    what : str
        Description used in error messages, e.g. ``"registration of portal to arterial"``.

    Returns
    -------
    RegistrationResult

    Raises
    ------
    InputError
        Bad images, or SimpleITK could not register them (e.g. too little overlap: "All
        samples map outside moving image buffer"); the message starts with ``what``.
    """
    import SimpleITK as sitk

    m = _check_image(moving, "moving")
    background = float(np.min(sitk.GetArrayViewFromImage(m)))
    try:
        return register_images(
            fixed,
            moving,
            transform=settings.transform,
            initialisation=settings.initialisation,
            histogram_bins=settings.histogram_bins,
            sampling_fraction=settings.sampling_fraction,
            shrink_factors=settings.shrink_factors,
            smoothing_sigmas_mm=settings.smoothing_sigmas_mm,
            learning_rate=settings.learning_rate,
            iterations=settings.iterations,
            default_value=background,
            seed=settings.seed,
        )
    except RuntimeError as exc:  # SimpleITK reports registration failures as RuntimeError
        detail = " ".join(str(exc).split())
        raise InputError(f"{what} failed in SimpleITK: {detail[-400:]}") from exc


def moving_coverage(result: RegistrationResult, moving: sitk.Image) -> sitk.Image:
    """Mask (uint8, fixed grid) of the fixed voxels that map inside the moving image."""
    return _inside(moving, result.resampled, result.transform)


def reference_coverage(result: RegistrationResult, moving: sitk.Image) -> sitk.Image:
    """Mask (uint8, moving grid) of the moving voxels that land inside the fixed grid.

    The transform maps fixed points to moving points; its inverse brings each moving voxel
    to the fixed space, where it either falls inside the fixed image or not (its content
    is then lost when the moving image or a moving mask is resampled onto the fixed grid).
    """
    return _inside(result.resampled, moving, result.transform.GetInverse())


def _inside(source: sitk.Image, grid: sitk.Image, transform: sitk.Transform) -> sitk.Image:
    """Mask (uint8) on ``grid`` of the voxels that ``transform`` maps inside ``source``."""
    import SimpleITK as sitk

    ones = sitk.Image(source.GetSize(), sitk.sitkUInt8) + 1
    ones.CopyInformation(source)
    return sitk.Resample(ones, grid, transform, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)


def transform_mask(mask: sitk.Image, result: RegistrationResult) -> sitk.Image:
    """A label mask of the moving image brought onto the fixed grid (nearest neighbour)."""
    import SimpleITK as sitk

    return sitk.Resample(
        mask, result.resampled, result.transform, sitk.sitkNearestNeighbor, 0, mask.GetPixelID()
    )


def registration_qc(result: RegistrationResult) -> dict[str, object]:
    """JSON-compatible QC record of a registration: metric before and after (Mattes MI,
    negative: lower is better), whether it improved, iterations, stop condition and the
    transform's parameters."""
    tr = result.transform
    while tr.GetName() == "CompositeTransform":  # registration returns a composite of one
        import SimpleITK as sitk

        comp = sitk.CompositeTransform(tr)
        if comp.GetNumberOfTransforms() != 1:
            break
        tr = comp.GetNthTransform(0)
    return {
        "metric": "mattes_mutual_information",
        "metric_before": float(result.metric_before),
        "metric_after": float(result.metric_after),
        "metric_stored": (None if result.metric_stored is None
                          else float(result.metric_stored)),
        "improved": bool(result.improved),
        "failed": bool(result.failed),
        "iterations": int(result.iterations),
        "stop_condition": str(result.stop_condition),
        "transform": {
            "name": str(tr.GetName()),
            "parameters": [float(v) for v in tr.GetParameters()],
            "fixed_parameters": [float(v) for v in tr.GetFixedParameters()],
        },
    }
