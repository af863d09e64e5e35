"""The processed region of interest that every feature family reads.

:class:`RoiContext` holds the frozen outputs of the processing chain (cropped image,
morphological and intensity masks, discretised grey levels, IVH intensities, spacing) and
caches expensive intermediates (mesh, texture matrices) computed on first use. It is the only
thing feature functions see; it knows nothing about files or DICOM.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from radiomix.errors import InternalError
from radiomix.settings.steps import FeatureSettings
from radiomix.types import BoolArray, FloatArray, IntArray, Spacing

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IvhInput:
    """Intensities and range for the intensity-volume histogram (IBSI P88C).

    Attributes
    ----------
    values : (N,) ndarray of float64
        IVH intensity of each intensity-mask voxel: calibrated intensities (discrete case),
        bin-centre intensities (fixed bin size) or bin numbers (fixed bin number).
    lower, upper : float
        Intensity range used for the intensity fraction: the re-segmentation range when it
        applies, otherwise the minimum and maximum of ``values``.
    step : float
        Spacing between consecutive possible IVH intensities (1 for integer HU or bin
        numbers, the bin width for fixed-bin-size bin centres).
    undefined : str or None
        Why no IVH can be computed from these intensities (``ivh.method: none`` on
        intensities that are not integers): every IVH feature is then NaN with this note.
    """

    values: FloatArray
    lower: float
    upper: float
    step: float
    undefined: str | None = None


class RoiContext:
    """Inputs of feature computation for one ROI, with lazily cached intermediates.

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Processed intensities (after interpolation and rounding), cropped around the ROI
        with a margin; voxels outside the ROI are real image values (local intensity uses
        them).
    morph_mask : (Z, Y, X) ndarray of bool
        Morphological mask (after ROI interpolation, before re-segmentation).
    int_mask : (Z, Y, X) ndarray of bool
        Intensity mask (after re-segmentation); a subset of ``morph_mask``.
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x).
    levels : (Z, Y, X) ndarray of int64
        Discretised grey levels 1..``n_levels`` inside ``int_mask``, 0 outside.
    n_levels : int
        Number of grey levels N_g (matrix size of texture families).
    ivh : IvhInput
        Intensities for the intensity-volume histogram.
    settings : FeatureSettings
        Texture parameters (distances, coarseness, ...).
    intensities, grey_levels : (N,) ndarray, optional
        ``image[int_mask]`` (float64) and ``levels[int_mask]`` (int64), when the caller
        has gathered them already (the processing chain): taken for :attr:`intensities`
        and :attr:`grey_levels` instead of gathering them again.

    Notes
    -----
    Arrays are made read-only; the context never changes them. Intermediates are stored in
    an instance dictionary through :meth:`cached` and freed with the context.
    """

    def __init__(
        self,
        image: FloatArray,
        morph_mask: BoolArray,
        int_mask: BoolArray,
        spacing: Spacing,
        *,
        levels: IntArray,
        n_levels: int,
        ivh: IvhInput,
        settings: FeatureSettings,
        intensities: FloatArray | None = None,
        grey_levels: IntArray | None = None,
    ) -> None:
        if not (image.shape == morph_mask.shape == int_mask.shape == levels.shape):
            raise InternalError(
                "RoiContext arrays differ in shape: "
                f"image {image.shape}, morph {morph_mask.shape}, int {int_mask.shape}, "
                f"levels {levels.shape}"
            )
        if image.ndim != 3:
            raise InternalError(f"RoiContext needs (Z, Y, X) arrays, got ndim={image.ndim}")
        self.image = _readonly(np.asarray(image, dtype=np.float64))
        self.morph_mask = _readonly(np.asarray(morph_mask, dtype=bool))
        self.int_mask = _readonly(np.asarray(int_mask, dtype=bool))
        self.levels = _readonly(np.asarray(levels, dtype=np.int64))
        self.spacing: Spacing = (float(spacing[0]), float(spacing[1]), float(spacing[2]))
        self.n_levels = int(n_levels)
        self.ivh = ivh
        self.settings = settings
        self._cache: dict[Hashable, Any] = {}
        for key, given, dtype in (("intensities", intensities, np.float64),
                                  ("grey_levels", grey_levels, np.int64)):
            if given is not None:
                if given.dtype != dtype or given.ndim != 1:
                    raise InternalError(f"RoiContext {key} must be (N,) {np.dtype(dtype)}, "
                                        f"got {given.shape} {given.dtype}")
                self._cache[key] = _readonly(given)
        self.notes: dict[str, str] = {}
        """Provenance notes set by features (e.g. an approximation used)."""
        self.stored_extent: tuple[int, int, int] | None = None
        """The ROI's extent in voxels along (z, y, x) on the image's stored grid, before
        interpolation (set by the processing chain; None for a context built otherwise)."""
        self.stored_voxels: int | None = None
        """The ROI's voxels on the stored grid (set with :attr:`stored_extent`)."""

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel in mm³."""
        return self.spacing[0] * self.spacing[1] * self.spacing[2]

    @property
    def intensities(self) -> FloatArray:
        """Intensities of the intensity-mask voxels, (N,) float64 (cached)."""
        return self.cached("intensities", lambda: self.image[self.int_mask])

    @property
    def grey_levels(self) -> IntArray:
        """Discretised grey levels of the intensity-mask voxels, (N,) int64 (cached)."""
        return self.cached("grey_levels", lambda: self.levels[self.int_mask])

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Return the intermediate stored under ``key``, computing it on first use."""
        try:
            return self._cache[key]
        except KeyError:
            value = compute()
            self._cache[key] = value
            return value


def _readonly(a: np.ndarray) -> np.ndarray:
    a = a.view()
    a.flags.writeable = False
    return a


def bounding_box(mask: BoolArray) -> tuple[slice, slice, slice]:
    """The bounding box of the voxels of a non-empty (Z, Y, X) ``mask``, as slices.

    The occupied slices from reductions along each slice's contiguous voxels, then the
    occupied rows and columns from the OR of those slices only.

    Raises
    ------
    IndexError
        ``mask`` holds no voxel.
    """
    occupied = np.logical_or.reduce  # (ndarray.any: the same, through Python wrappers)
    z = _occupied_run(occupied(mask, axis=(1, 2)))
    plane = occupied(mask[z], axis=0)
    return z, _occupied_run(occupied(plane, axis=1)), _occupied_run(occupied(plane, axis=0))


def _occupied_run(flags: np.ndarray) -> slice:
    """From the first to the last true entry of the 1-D ``flags`` (one is true)."""
    first = int(flags.argmax())  # (argmax stops at the first true entry)
    if not flags[first]:
        raise IndexError("the mask holds no voxel")
    return slice(first, flags.size - int(flags[::-1].argmax()))
