"""A 3D scalar image as radiomix handles it: voxels in a numpy array and ITK's geometry.

A checked case (:class:`radiomix.check.CheckedCase`) holds its image and mask as
:class:`Volume`: what every later stage reads (the voxels, the spacing, the world position
of a voxel) without SimpleITK, which a NIfTI case then never imports (its shared library
alone is about 90 MiB of resident memory). Images that come from SimpleITK (DICOM series,
NRRD, registration results) are wrapped without a copy; stages that need SimpleITK
(registration, perturbations, RTSTRUCT rasterisation) ask for :meth:`Volume.to_sitk`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from radiomix.errors import InputError

if TYPE_CHECKING:
    import SimpleITK as sitk


@dataclass(frozen=True, slots=True, eq=False)
class Volume:
    """Voxels and geometry of a 3D scalar image (SimpleITK's conventions).

    Attributes
    ----------
    array : (Z, Y, X) ndarray
        The voxels in their stored type, z slowest (SimpleITK's array order); read-only.
    spacing, origin : tuple of 3 float
        Voxel spacing and the world position of voxel (0, 0, 0), in mm, (x, y, z) order.
    direction : tuple of 9 float
        Direction cosines, row-major: column j is the world direction of index axis j.
    """

    array: np.ndarray
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]
    _image: Any = field(default=None, repr=False)  # the SimpleITK image the array views

    @classmethod
    def from_sitk(cls, image: sitk.Image) -> Volume:
        """The volume of a 3D scalar SimpleITK image, viewing its voxels (no copy).

        Raises
        ------
        InputError
            The image is not 3D or not scalar.
        """
        import SimpleITK as sitk

        if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
            raise InputError(
                f"a 3D scalar image is needed; got {image.GetDimension()}D with "
                f"{image.GetNumberOfComponentsPerPixel()} component(s) per voxel"
            )
        return cls(
            sitk.GetArrayViewFromImage(image),
            tuple(image.GetSpacing()),
            tuple(image.GetOrigin()),
            tuple(image.GetDirection()),
            image,
        )

    @classmethod
    def like(cls, array: np.ndarray, grid: Volume) -> Volume:
        """``array`` (of ``grid``'s shape) with the geometry of ``grid``."""
        if array.shape != grid.array.shape:
            raise ValueError(f"array shape {array.shape} is not the grid's {grid.array.shape}")
        array.flags.writeable = False
        return cls(array, grid.spacing, grid.origin, grid.direction)

    @property
    def spacing_zyx(self) -> tuple[float, float, float]:
        """Voxel spacing in mm in the array's axis order (z, y, x), as the kernels take it."""
        return (float(self.spacing[2]), float(self.spacing[1]), float(self.spacing[0]))

    @property
    def size(self) -> tuple[int, int, int]:
        """Number of voxels along x, y, z (SimpleITK's ``GetSize``)."""
        z, y, x = self.array.shape
        return (x, y, z)

    def to_sitk(self) -> sitk.Image:
        """The SimpleITK image (the one wrapped, or a new one holding a copy of the voxels)."""
        import SimpleITK as sitk

        if self._image is not None:
            return self._image
        image = sitk.GetImageFromArray(self.array)
        image.SetSpacing(self.spacing)
        image.SetOrigin(self.origin)
        image.SetDirection(self.direction)
        return image

    def index_to_physical(self, index: tuple[float, float, float]) -> tuple[float, float, float]:
        """World position (mm) of a continuous index (x, y, z), as ITK computes it.

        ``origin + direction @ diag(spacing) @ index``, in ITK's operation order (the
        matrix ``direction * spacing`` first, each row's products with the index summed,
        then the origin added).
        """
        d = self.direction
        point = []
        for i in range(3):
            total = 0.0
            for j in range(3):
                total += (d[3 * i + j] * self.spacing[j]) * index[j]
            point.append(total + self.origin[i])
        return (point[0], point[1], point[2])


def as_volume(image: Volume | sitk.Image) -> Volume:
    """A :class:`Volume` (a SimpleITK image is wrapped without a copy)."""
    return image if isinstance(image, Volume) else Volume.from_sitk(image)


def as_sitk(image: Volume | sitk.Image) -> sitk.Image:
    """A SimpleITK image (a :class:`Volume` gives its own, see :meth:`Volume.to_sitk`)."""
    return image.to_sitk() if isinstance(image, Volume) else image
