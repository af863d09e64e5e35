"""N4 bias-field correction of MR images (SimpleITK), on numpy arrays with spacing.

MR intensities are modulated by a smooth multiplicative field (coil sensitivity, B1
inhomogeneity). N4 (Tustison et al. 2010) estimates the field as a B-spline in the log
domain by sharpening the intensity histogram; the corrected image is ``image / field``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from radiomix.errors import EmptyRoiError, GeometryMismatchError, InputError, SettingsError
from radiomix.process.filters._validate import check_image, check_spacing
from radiomix.types import BoolArray, FloatArray

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BiasFieldResult:
    """Output of :func:`correct_bias_field`.

    Attributes
    ----------
    corrected : (Z, Y, X) ndarray of float64
        Bias-corrected image, ``image / field``.
    field : (Z, Y, X) ndarray of float64
        Estimated multiplicative bias field (> 0) on the full image grid. N4 determines it up
        to a constant factor.
    iterations : int
        Iterations run at the last fitting level.
    convergence : float
        Last convergence measure reported by N4 (lower is better).
    """

    corrected: FloatArray
    field: FloatArray
    iterations: int
    convergence: float


def correct_bias_field(
    image: np.ndarray,
    *,
    spacing: Sequence[float],
    mask: BoolArray | None = None,
    shrink_factor: int = 4,
    iterations: Sequence[int] = (50, 50),
    control_points: int = 4,
    spline_order: int = 3,
    convergence_threshold: float = 1e-4,
    histogram_bins: int = 200,
    bias_fwhm: float = 0.15,
) -> BiasFieldResult:
    """N4 bias-field correction (SimpleITK ``N4BiasFieldCorrectionImageFilter``).

    Parameters
    ----------
    image : (Z, Y, X) ndarray
        MR image with positive intensities in the mask (arbitrary units).
    spacing : tuple of 3 float
        Voxel spacing (z, y, x) in mm (the B-spline lives in physical space).
    mask : (Z, Y, X) ndarray of bool or None
        Voxels used to estimate the field (e.g. the body or an organ). ``None`` uses every
        voxel with intensity > 0 (air at 0 is excluded). The field is evaluated everywhere.
    shrink_factor : int
        The field is fitted on the image shrunk by this factor along each axis (not below 4
        voxels per axis) for speed; it is evaluated at full resolution afterwards.
    iterations : sequence of int
        Maximum iterations per fitting level; the number of levels is its length (the
        B-spline mesh resolution doubles at each level). The default, two levels, fits a
        smooth field, which suits images cropped around a lesion; whole-head or whole-body
        fields may need four levels (the ITK default) at the risk of fitting anatomy.
    control_points : int
        Control points per axis of the initial B-spline mesh (>= spline_order + 1).
    spline_order : int
        B-spline order.
    convergence_threshold : float
        Stop a level when the change of the field falls below this.
    histogram_bins : int
        Bins of the log-intensity histogram.
    bias_fwhm : float
        Full width at half maximum of the assumed Gaussian bias distribution (log domain).

    Returns
    -------
    BiasFieldResult

    Raises
    ------
    InputError
        Bad image, spacing or parameters; non-positive intensities in the mask.
    EmptyRoiError, GeometryMismatchError
        Empty mask or mask shape differs from the image.

    Notes
    -----
    N4 models :math:`v = u \\cdot f` (:math:`\\log v = \\log u + \\log f`) and alternates
    histogram sharpening of :math:`\\log u` with a B-spline fit of :math:`\\log f`. The
    SimpleITK filter is deterministic for given inputs.

    References
    ----------
    Tustison NJ, Avants BB, Cook PA, et al. N4ITK: improved N3 bias correction. IEEE Trans
    Med Imaging 2010;29(6):1310–1320. doi:10.1109/TMI.2010.2046908.
    """
    import SimpleITK as sitk

    data = check_image(image)
    sp = check_spacing(spacing)
    if mask is None:
        m = data > 0
    else:
        m = np.asarray(mask)
        if m.shape != data.shape:
            raise GeometryMismatchError(
                f"bias-field mask shape {m.shape} differs from image shape {data.shape}"
            )
        m = m.astype(bool, copy=False)
    if not m.any():
        raise EmptyRoiError("bias-field correction: the mask holds no voxel (or no voxel > 0)")
    if np.any(data[m] <= 0):
        raise InputError(
            "bias-field correction needs positive intensities inside the mask (N4 works on "
            f"log intensities); found {int(np.sum(data[m] <= 0))} voxel(s) <= 0. Restrict the "
            "mask, or shift the intensities of modalities that can be negative"
        )
    its = [int(i) for i in iterations]
    if not its or any(i < 1 for i in its):
        raise SettingsError(
            f"iterations must be a non-empty list of integers >= 1, got {iterations!r}"
        )
    if shrink_factor < 1:
        raise SettingsError(f"shrink_factor must be >= 1, got {shrink_factor!r}")
    if spline_order < 1 or control_points < spline_order + 1:
        raise SettingsError(
            f"control_points ({control_points}) must be >= spline_order + 1 ({spline_order + 1})"
        )

    img = sitk.GetImageFromArray(data.astype(np.float32))
    img.SetSpacing(tuple(reversed(sp)))
    msk = sitk.GetImageFromArray(m.astype(np.uint8))
    msk.CopyInformation(img)
    shrink = [max(1, min(shrink_factor, n // 4)) for n in img.GetSize()]
    small = sitk.Shrink(img, shrink) if max(shrink) > 1 else img
    small_mask = sitk.Shrink(msk, shrink) if max(shrink) > 1 else msk

    n4 = sitk.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations(its)
    n4.SetConvergenceThreshold(float(convergence_threshold))
    n4.SetNumberOfControlPoints([int(control_points)] * 3)
    n4.SetSplineOrder(int(spline_order))
    n4.SetNumberOfHistogramBins(int(histogram_bins))
    n4.SetBiasFieldFullWidthAtHalfMaximum(float(bias_fwhm))
    n4.Execute(small, small_mask)
    log_field = n4.GetLogBiasFieldAsImage(img)
    field = np.exp(sitk.GetArrayFromImage(log_field).astype(np.float64))
    log.debug(
        "N4: shrink %s, iterations %s, convergence %.3g",
        shrink,
        n4.GetElapsedIterations(),
        n4.GetCurrentConvergenceMeasurement(),
    )
    return BiasFieldResult(
        corrected=data / field,
        field=field,
        iterations=int(n4.GetElapsedIterations()),
        convergence=float(n4.GetCurrentConvergenceMeasurement()),
    )
