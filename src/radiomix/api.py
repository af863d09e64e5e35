"""The top-level Python API: ``radiomix.extract``, ``extract_many``, ``load_settings``,
``features``.

These are thin wrappers over :func:`radiomix.extraction.extract` (the one path every case
takes, the CLI's too) that accept what a researcher has at hand: file paths, SimpleITK
images or numpy arrays, and return :class:`pandas.DataFrame` rows with the provenance in
``DataFrame.attrs["provenance"]``.

In-memory inputs (SimpleITK images, arrays) are written losslessly to a temporary MetaImage
file (``.mha`` keeps the voxel values and the float64 geometry bit for bit) and go through
exactly the same loading and checking as files, so the values equal the command line's for
the same voxels. Arrays are in (z, y, x) order, like every array in radiomix; their
``spacing`` and ``origin`` are (z, y, x) too.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from radiomix.errors import InputError, RadiomixError, SettingsError, UsageError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import SimpleITK as sitk

    from radiomix.deep import DeepSettings
    from radiomix.settings import ExtractionSettings

    ImageInput = str | os.PathLike[str] | sitk.Image | np.ndarray
    SettingsInput = ExtractionSettings | str | os.PathLike[str] | Mapping[str, Any] | None

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = ["BatchProgress", "extract", "extract_many", "features", "load_settings"]

CASE_COLUMNS: tuple[str, ...] = ("image", "mask", "label", "roi_name", "case_id")
"""Columns of an ``extract_many`` table: ``image`` and ``mask`` required, the rest optional."""

PER_RUN_OPTIONS: dict[str, str] = {
    "modality": "--modality (modality= in Python)",
    "organ_mask": "--organ-mask (organ_mask= in Python)",
    "tag": "--tag (tag= in Python)",
    "resample_mask": "--resample-mask (resample_mask= in Python)",
    "settings": "--config or --preset (settings= in Python)",
    "preset": "--preset (settings= in Python)",
    "config": "--config (settings= in Python)",
}
"""Columns of a cases table that name a per-run option: warned about, since a user may
expect them read per case (a ``modality`` column would seem to switch the CT checks on)."""


# --------------------------------------------------------------------------------------
# settings


def load_settings(name_or_path: SettingsInput = None, /, **overrides: Any) -> ExtractionSettings:
    """Extraction settings from a preset, a YAML file or a mapping, with overrides.

    Parameters
    ----------
    name_or_path : ExtractionSettings, str, path, mapping or None
        A preset name (``ibsi-digital``, ``ibsi-A`` … ``ibsi-E``), a settings YAML file,
        a mapping with the keys of a settings file, settings to modify, or ``None`` for
        the defaults (no interpolation, no re-segmentation, 32 fixed bins, every family).
    **overrides
        Changes on top of it, checked like a settings file (unknown keys are refused with
        the nearest valid key). A step name takes a mapping that replaces that whole step,
        as the same key in a settings file would (``discretisation={"method": "fbn",
        "bins": 16}``: the step's other keys take their defaults); ``step__key=value``
        changes one key and keeps the rest of the step (``interpolation__spacing=(1, 1,
        1)``). Spacings are (z, y, x) in mm.

    Returns
    -------
    ExtractionSettings
        Frozen, validated settings.

    Raises
    ------
    SettingsError
        Unknown preset, file, key or an invalid value.

    Examples
    --------
    >>> import radiomix
    >>> s = radiomix.load_settings("ibsi-C", discretisation__bin_width=10)
    >>> s.discretisation.method, s.discretisation.bin_width, s.interpolation.spacing
    ('fbs', 10.0, (2.0, 2.0, 2.0))
    >>> radiomix.load_settings().discretisation.bins    # the defaults: 32 fixed bins
    32
    >>> radiomix.load_settings("ibsi-C", discretisaton__bins=16)
    Traceback (most recent call last):
    ...
    radiomix.errors.SettingsError: unknown setting 'discretisaton'; did you mean ...
    """
    from radiomix.extraction import resolve_settings
    from radiomix.settings import ExtractionSettings, settings_from_dict, settings_to_dict

    if isinstance(name_or_path, Mapping):
        base = settings_from_dict(dict(name_or_path))
    elif isinstance(name_or_path, os.PathLike):
        base = resolve_settings(Path(name_or_path))
    else:
        base = resolve_settings(name_or_path)
    if not overrides:
        return base
    assert isinstance(base, ExtractionSettings)
    data = settings_to_dict(base)
    for key, value in overrides.items():
        _set_override(data, key.split("__"), value, key)
    _drop_stale_method_parameters(data, settings_to_dict(base), overrides)
    return settings_from_dict(data)


def _drop_stale_method_parameters(data: dict[str, Any], base: dict[str, Any],
                                  overrides: Mapping[str, Any]) -> None:
    """Where ``step__method=`` changed a step's method, drop the base's parameters of the
    old method that no override gives (as a study tag's override does,
    :func:`radiomix.settings.loader.stale_method_parameters`)."""
    from radiomix.settings.loader import stale_method_parameters

    given: dict[tuple[str, ...], dict[str, Any]] = {}  # the keys set in each step
    for key, value in overrides.items():
        *path, name = key.split("__")
        given.setdefault(tuple(path), {})[name] = value
    for step, keys in given.items():
        node, old = data, base
        for part in step:
            node, old = node.get(part, {}), old.get(part, {})
        if isinstance(node, dict) and isinstance(old, dict):
            for stale in stale_method_parameters(old, keys):
                node.pop(stale, None)


def _set_override(data: dict[str, Any], parts: list[str], value: Any, key: str) -> None:
    """Set ``value`` (a mapping replaces the whole step) at the nested key path ``parts``."""
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise SettingsError(
                f"override {key!r}: {where!r} is a single value, not a group of settings; "
                f"pass {where.replace('.', '__')}=VALUE"
            )
        node = child
    node[parts[-1]] = _plain(value)


def _plain(value: Any) -> Any:
    """Tuples and other sequences as lists, mappings as dicts (the YAML form)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------------------
# the registry


def features() -> pd.DataFrame:
    """The feature registry as a table: one row per feature.

    Returns
    -------
    pandas.DataFrame
        Columns ``name`` (``family.feature``), ``ibsi`` (IBSI identifier or ``None`` for a
        feature IBSI does not define), ``family``, ``family_code`` (IBSI family code),
        ``aggregations`` (tuple of column tokens, empty for features without texture
        aggregation), ``aggregation_codes`` (their IBSI codes), ``requires`` (shared
        intermediates) and ``description`` (the first docstring line).

    Examples
    --------
    >>> import radiomix
    >>> reg = radiomix.features()
    >>> reg.set_index("name").loc["stat.kurtosis", "ibsi"]      # excess kurtosis
    'IPH6'
    >>> reg.set_index("name").loc["glcm.joint_max", "aggregations"][-1]
    '3d_merged'
    """
    import pandas as pd

    from radiomix.features import all_features

    return pd.DataFrame(
        [
            {
                "name": s.name,
                "ibsi": s.ibsi,
                "family": s.family,
                "family_code": s.family_code,
                "aggregations": tuple(a.token for a in s.aggregations),
                "aggregation_codes": tuple(a.ibsi for a in s.aggregations),
                "requires": tuple(s.requires),
                "description": s.doc,
            }
            for s in all_features()
        ]
    )


# --------------------------------------------------------------------------------------
# one case


def extract(
    image: ImageInput,
    mask: ImageInput,
    settings: SettingsInput = None,
    *,
    spacing: tuple[float, float, float] | None = None,
    origin: tuple[float, float, float] | None = None,
    direction: Any = None,
    label: int | None = None,
    roi_name: str | None = None,
    resample_mask: bool = False,
    tag: str = "image",
    case_id: str | None = None,
    deep: DeepSettings | str | None = None,
    organ_mask: str | os.PathLike[str] | sitk.Image | np.ndarray | None = None,
    modality: str | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Radiomic features of one image and mask, as a one-row table.

    The same computation as ``radiomix extract IMAGE MASK``: load, check the geometry of
    image against mask, process (IBSI 1 chain: crop, interpolate, re-segment, discretise),
    compute every feature of the selected families (Zwanenburg et al. 2020,
    doi:10.1148/radiol.2020191145).

    Parameters
    ----------
    image : path, SimpleITK.Image or (Z, Y, X) ndarray
        A NIfTI/NRRD/MHA file or DICOM series folder (CT in HU, PET converted to SUV body
        weight), a SimpleITK image (used as it is: no SUV conversion), or an array of
        intensities with ``spacing``.
    mask : path, SimpleITK.Image or (Z, Y, X) ndarray
        A label image file, RTSTRUCT (``roi_name``) or DICOM SEG, a SimpleITK label image,
        or an integer/bool array on the image grid.
    settings : ExtractionSettings, str, path, mapping or None
        Preset name (``"ibsi-C"``), settings YAML file, mapping, settings object, or
        ``None`` for the defaults (the command line's default too); see
        :func:`load_settings`.
    spacing : tuple of 3 float, optional
        Voxel spacing in mm, (z, y, x), of array inputs. Required when ``image`` is an
        array; an array mask without it takes the geometry of the image.
    origin : tuple of 3 float, optional
        Position in mm of the first voxel, (z, y, x), of array inputs (default 0).
    direction : (3, 3) array_like, optional
        Direction cosines of array inputs in (z, y, x) order: column ``j`` is the unit
        vector of array axis ``j`` (default identity).
    label : int, optional
        Mask label (or SEG segment number) forming the ROI; needed for 0/255 and
        multi-label masks. A Python or numpy integer (a string such as ``"1"`` is refused).
    roi_name : str, optional
        RTSTRUCT ROI name or SEG segment label.
    resample_mask : bool
        Resample the mask to the image grid (nearest neighbour) when their geometry differs;
        otherwise that is an error.
    tag : str
        Image tag, the first part of every column name.
    case_id : str, optional
        Written as a ``case_id`` column and used in messages.
    deep : DeepSettings or str, optional
        Also CNN embeddings: ``"resnet18:2.5d"`` (ImageNet weights from the cache, see
        ``radiomix weights list``) or a :class:`radiomix.deep.DeepSettings`.
    organ_mask : path, SimpleITK.Image or ndarray, optional
        Organ mask clipping the peritumoral ring (``preprocess: {ring_clip: organ}``), on
        the image's grid (an array takes the image's geometry, as ``mask`` does).
    modality : str, optional
        DICOM modality of the image (``CT``, ``PT``, ``MR`` …; a DICOM series declares its
        own): a ``CT`` whose values cannot be Hounsfield units, or a ``PT`` whose values
        cannot be activity or SUV, is refused (:func:`radiomix.check.check_ct_values`,
        :func:`radiomix.check.check_pt_values`).
    **overrides
        Settings changes on top of ``settings`` (see :func:`load_settings`), e.g.
        ``discretisation={"method": "fbn", "bins": 16}`` (replaces the step) or
        ``features__families=["stat"]`` (one key).

    Returns
    -------
    pandas.DataFrame
        One row: ``case_id`` (when given), the feature columns
        ``<tag>.<filter>.<family>.<feature>[.<aggregation>]``, ``settings_hash`` and
        ``radiomix_version``. ``df.attrs["provenance"]`` holds the settings, software
        versions, SHA-256 of the inputs (of the voxels and geometry for in-memory inputs)
        and processing notes.

    Raises
    ------
    InputError
        A problem of the case: unreadable input, array without spacing, geometry mismatch,
        empty ROI, ... (the subclass names it).
    UsageError
        ``spacing``, ``origin`` or ``direction`` without a numpy array input (a file and a
        SimpleITK image carry their own geometry), a ``label`` that is not an integer, a
        ``tag`` that is empty or holds a dot or whitespace, an option that does not apply
        to the kind of mask (``label`` with an RTSTRUCT, ``roi_name`` with a label image,
        both with a SEG), or an ``organ_mask`` without ``preprocess.ring_clip: organ``.
    SettingsError
        Unknown preset, settings key or invalid value.

    Examples
    --------
    A 20 mm cube in a 4 mm CT-like volume, as numpy arrays in (z, y, x) order:

    >>> import numpy as np, radiomix
    >>> image = np.random.default_rng(0).normal(40.0, 10.0, (12, 12, 12))
    >>> mask = np.zeros(image.shape, dtype=np.uint8)
    >>> mask[3:8, 3:8, 3:8] = 1
    >>> row = radiomix.extract(image, mask, spacing=(4.0, 4.0, 4.0), tag="ct",
    ...                        features__families=["morph", "stat"])
    >>> row.shape[0], float(row["ct.original.morph.volume_voxels"].iloc[0])   # mm³
    (1, 8000.0)
    >>> row.attrs["provenance"]["inputs"]["image_source"]
    'array'
    """
    from radiomix.case import check_case_id, check_label
    from radiomix.settings.study import check_modality

    label = check_label(label)
    case_id = check_case_id(case_id)
    modality = check_modality(modality)
    _refuse_same_arrays(image, mask)
    _check_geometry_arguments(image, mask, spacing=spacing, origin=origin, direction=direction)
    s = load_settings(settings, **overrides)
    deep_settings = _deep_settings(deep)
    with tempfile.TemporaryDirectory(prefix="radiomix-") as tmp:
        img_path, img_info, img_geometry = _as_path(
            image, "image", Path(tmp), spacing, origin, direction, reference=None
        )
        msk_path, msk_info, _ = _as_path(
            mask, "mask", Path(tmp), spacing, origin, direction, reference=img_geometry
        )
        organ_info: dict[str, str] = {}
        if organ_mask is not None:
            organ_mask, organ_info, _ = _as_path(
                organ_mask, "organ mask", Path(tmp), spacing, origin, direction,
                reference=img_geometry)
        return _extract_paths(
            img_path,
            msk_path,
            s,
            label=label,
            roi_name=roi_name,
            resample_mask=resample_mask,
            tag=tag,
            case_id=case_id,
            deep=deep_settings,
            organ_mask=organ_mask,
            modality=modality,
            inputs={**img_info, **msk_info, **organ_info},
        )


def _refuse_same_arrays(image: Any, mask: Any) -> None:
    """Refuse the mask array given as the image too (the written files would otherwise be
    refused as "the same file", a file the caller never named).

    Raises
    ------
    InputError
        Two numpy arrays of one type and shape holding the same values.
    """
    import numpy as np

    if not (isinstance(image, np.ndarray) and isinstance(mask, np.ndarray)):
        return
    if image is mask or (image.shape == mask.shape and image.dtype == mask.dtype
                         and np.array_equal(image, mask)):
        raise InputError(
            "the image and mask arrays hold the same values: the mask was given as the "
            "image; pass the image's array as image"
        )


def _check_geometry_arguments(image: Any, mask: Any, **geometry: Any) -> None:
    """Refuse ``spacing``/``origin``/``direction`` when no input is a numpy array.

    They describe array inputs only; a file or a SimpleITK image carries its own geometry,
    which they would otherwise leave unchanged without a word.

    Raises
    ------
    UsageError
        Naming the arguments given and the inputs' types.
    """
    import numpy as np

    given = [name for name, value in geometry.items() if value is not None]
    if not given or isinstance(image, np.ndarray) or isinstance(mask, np.ndarray):
        return
    names = " and ".join(f"{name}=" for name in given)
    verb = "applies" if len(given) == 1 else "apply"
    kinds = " and ".join(sorted({_input_kind(image), _input_kind(mask)}))
    if not all(_has_geometry(obj) for obj in (image, mask)):  # lists and other containers
        raise UsageError(
            f"{names} {verb} to numpy array inputs only; the image and mask here are {kinds}: "
            f"pass numpy arrays in (z, y, x) order (np.asarray(image), np.asarray(mask)) "
            f"with {names}"
        )
    resample = (", and set interpolation__spacing=(z, y, x) to resample to another voxel "
                "size" if "spacing" in given else "")
    raise UsageError(
        f"{names} {verb} to numpy array inputs only; the image and mask here are {kinds}, "
        f"which carry their own geometry: drop {names}{resample}"
    )


def _has_geometry(obj: Any) -> bool:
    """True for inputs that carry their own geometry: file paths and SimpleITK images."""
    if isinstance(obj, str | os.PathLike):
        return True
    import SimpleITK as sitk

    return isinstance(obj, sitk.Image)


def _input_kind(obj: Any) -> str:
    """``"file paths"``, ``"SimpleITK images"`` or the type name, for messages."""
    if isinstance(obj, str | os.PathLike):
        return "file paths"
    import SimpleITK as sitk

    return "SimpleITK images" if isinstance(obj, sitk.Image) else type(obj).__name__


def _extract_paths(
    image: str | Path,
    mask: str | Path,
    settings: ExtractionSettings,
    *,
    label: int | None,
    roi_name: str | None,
    resample_mask: bool,
    tag: str,
    case_id: str | None,
    deep: DeepSettings | None,
    organ_mask: str | os.PathLike[str] | None,
    modality: str | None,
    inputs: Mapping[str, str],
) -> pd.DataFrame:
    import pandas as pd

    from radiomix.extraction import extract as run_extract

    try:
        result = run_extract(
            image,
            mask,
            settings=settings,
            label=label,
            roi_name=roi_name,
            resample_mask=resample_mask,
            tag=tag,
            case_id=case_id,
            deep=deep,
            organ_mask=None if organ_mask is None else Path(organ_mask),
            modality=modality,
        )
    except InputError as exc:
        # an in-memory input is staged as <what>.mha in a temporary folder: name it as the
        # caller gave it (the folder is radiomix's, never the caller's)
        text = str(exc)
        named = {"array": "(a numpy array)", "SimpleITK image": "(a SimpleITK image)"}
        staged = {"image": image, "mask": mask, "organ mask": organ_mask}
        for what, path in staged.items():
            source = inputs.get(f"{what}_source")
            if source in named and path is not None:
                text = text.replace(str(path), named[source])
                text = text.replace(Path(path).name, named[source])
        if text == str(exc):
            raise
        raise type(exc)(text) from None
    provenance = dict(result.provenance)
    provenance["inputs"] = {**provenance["inputs"], **inputs}
    ids = {"case_id": case_id} if case_id else {}
    frame = pd.DataFrame([result.row(**ids)])
    frame.attrs["provenance"] = provenance
    return frame


def _deep_settings(deep: DeepSettings | str | None) -> DeepSettings | None:
    if deep is None or not isinstance(deep, str):
        return deep
    from radiomix.deep import DeepSettings, parse_deep_spec

    model, mode = parse_deep_spec(deep)
    return DeepSettings(model=model, mode=mode)


@dataclass(frozen=True, slots=True)
class _Geometry:
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    direction: tuple[float, ...]
    size: tuple[int, ...]


def _as_path(
    obj: Any,
    what: Literal["image", "mask", "organ mask"],
    tmp: Path,
    spacing: Any,
    origin: Any,
    direction: Any,
    *,
    reference: _Geometry | _LazyFileGeometry | None,
) -> tuple[Path, dict[str, str], _Geometry | _LazyFileGeometry | None]:
    """A file path for ``obj``: paths as they are, in-memory inputs written to ``tmp``.

    Returns the path, the provenance entries describing the input, and its geometry (for
    in-memory inputs; ``None`` for paths, read only when an array mask needs it).
    """
    import numpy as np
    import SimpleITK as sitk

    if isinstance(obj, str | os.PathLike):
        path = Path(obj)
        if reference is None and what == "image":
            return path, {f"{what}_source": "file"}, _LazyFileGeometry(path)
        return path, {f"{what}_source": "file"}, None
    if isinstance(obj, sitk.Image):
        img = obj
        label_maps = {getattr(sitk, f"sitkLabelUInt{bits}") for bits in (8, 16, 32, 64)
                      if hasattr(sitk, f"sitkLabelUInt{bits}")}
        if img.GetPixelID() in label_maps:  # run-length label objects, which SimpleITK's
            img = sitk.LabelMapToLabel(img)  # writers refuse: the label image they encode
        if img.GetPixelID() in (sitk.sitkComplexFloat32, sitk.sitkComplexFloat64):
            raise InputError(
                f"{what} is a complex-valued SimpleITK image; give a real one, e.g. its "
                "magnitude sitk.ComplexToModulus(image)")
        source = "SimpleITK image"
    elif isinstance(obj, np.ndarray):
        img = _array_image(obj, what, spacing, origin, direction, reference)
        source = "array"
    else:
        raise InputError(
            f"{what} must be a file path, a SimpleITK.Image or a numpy array; got "
            f"{type(obj).__name__}"
        )
    if img.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            f"{what} must be a 3D scalar image; got {img.GetNumberOfComponentsPerPixel()} "
            "components per voxel (a vector or colour image): give one component, e.g. "
            "sitk.VectorIndexSelectionCast(image, 0)"
        )
    if img.GetDimension() != 3:
        raise InputError(
            f"{what} must be a 3D scalar image; got {img.GetDimension()}D (a single 2D slice: "
            "add a slice axis, e.g. array[None] or sitk.JoinSeries(image))"
        )
    from radiomix.io.image import check_geometry

    check_geometry(img.GetSpacing(), img.GetOrigin(), img.GetDirection(),
                   f"the {what} (a {source})")
    path = tmp / f"{what.replace(' ', '_')}.mha"
    bare = sitk.Image(img)  # a copy (copy-on-write): the caller's image keeps its metadata
    for key in bare.GetMetaDataKeys():  # header tags (DICOM/NIfTI) are not needed, never written
        bare.EraseMetaData(key)
    sitk.WriteImage(bare, str(path), useCompression=False)
    geometry = _Geometry(
        tuple(img.GetSpacing()), tuple(img.GetOrigin()), tuple(img.GetDirection()), img.GetSize()
    )
    return path, {f"{what}_source": source, f"{what}_sha256": _image_digest(img)}, geometry


class _LazyFileGeometry:
    """Geometry of an image file or DICOM folder, read only if an array mask needs it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def resolve(self) -> _Geometry:
        from radiomix.io import load_image

        img = load_image(self.path)
        return _Geometry(
            tuple(img.GetSpacing()),
            tuple(img.GetOrigin()),
            tuple(img.GetDirection()),
            img.GetSize(),
        )


def _array_image(
    array: np.ndarray,
    what: str,
    spacing: Any,
    origin: Any,
    direction: Any,
    reference: _Geometry | _LazyFileGeometry | None,
) -> sitk.Image:
    """A SimpleITK image of a (Z, Y, X) array with (z, y, x) geometry (copied, never modified)."""
    import numpy as np
    import SimpleITK as sitk

    if array.ndim != 3:
        raise InputError(
            f"{what} array has shape {array.shape}; a 3D (z, y, x) array is needed (a single "
            "2D slice: add a slice axis with array[None])"
        )
    if array.size == 0:
        raise InputError(f"{what} array has shape {array.shape}: it holds no voxel")
    array = _sitk_dtype(array, what)
    img = sitk.GetImageFromArray(np.ascontiguousarray(array))
    if spacing is None:
        if isinstance(reference, _LazyFileGeometry):
            reference = reference.resolve()
        if reference is None:
            raise InputError(
                f"{what} is a numpy array without geometry: pass spacing=(z, y, x) in mm "
                "(and origin=, direction= when a mask file must line up with it)"
            )
        img.SetSpacing(reference.spacing)
        img.SetOrigin(reference.origin)
        img.SetDirection(reference.direction)
        return img
    img.SetSpacing(_zyx_triple(spacing, "spacing", positive=True)[::-1])
    if origin is not None:
        img.SetOrigin(_zyx_triple(origin, "origin", positive=False)[::-1])
    if direction is not None:
        d = np.asarray(direction, dtype=float)
        if d.shape != (3, 3) or not np.all(np.isfinite(d)):
            raise InputError(
                f"direction must be a 3x3 matrix of direction cosines in (z, y, x) order; got "
                f"shape {d.shape}"
            )
        if not np.allclose(d.T @ d, np.eye(3), atol=1e-6):
            raise InputError(
                "direction must be orthonormal (its columns are unit axis vectors); got "
                f"{d.tolist()}"
            )
        img.SetDirection(tuple(float(v) for v in d[::-1, ::-1].ravel()))
    return img


def _sitk_dtype(array: np.ndarray, what: str) -> np.ndarray:
    """``array`` in a voxel type SimpleITK holds, converted only where exact.

    bool becomes uint8, a non-native byte order (big-endian arrays, e.g. from nibabel)
    the native one, float16 float32 (every float16 is a float32): the values are
    unchanged. An extended-precision float (``np.longdouble``) becomes float64 only when
    every value is a float64.

    Raises
    ------
    InputError
        A dtype that is not integer, float or bool, or long-double values that float64
        would round.
    """
    import numpy as np

    if array.dtype == bool:
        return array.astype(np.uint8)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise InputError(
            f"{what} array has dtype {array.dtype}; integer, float or (mask) bool is needed"
        )
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype == np.float16:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.floating) and array.dtype.itemsize > 8:
        converted = array.astype(np.float64)
        if not np.array_equal(converted, array, equal_nan=True):
            raise InputError(
                f"{what} array has dtype {array.dtype} (extended precision) with values that "
                "float64 would round; radiomix computes in float64: convert it with "
                "array.astype(numpy.float64) if that rounding is acceptable"
            )
        return converted
    return array


def _zyx_triple(value: Any, name: str, *, positive: bool) -> tuple[float, float, float]:
    import math

    try:
        vals = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        vals = ()
    ok = len(vals) == 3 and all(math.isfinite(v) and (v > 0 or not positive) for v in vals)
    if not ok:
        need = "3 numbers > 0" if positive else "3 finite numbers"
        raise InputError(f"{name} must be {need} in mm, (z, y, x) order; got {value!r}")
    return vals  # type: ignore[return-value]


def _image_digest(img: sitk.Image) -> str:
    """SHA-256 of an in-memory image: voxel values, pixel type and geometry."""
    import numpy as np
    import SimpleITK as sitk

    arr = np.ascontiguousarray(sitk.GetArrayViewFromImage(img))
    h = hashlib.sha256()
    h.update(repr((arr.dtype.str, arr.shape, img.GetSpacing(), img.GetOrigin())).encode())
    h.update(repr(img.GetDirection()).encode())
    h.update(arr.tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------------------
# many cases


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """State of an :func:`extract_many` run, passed to its ``progress`` callback.

    Attributes
    ----------
    event : {"start", "case"}
        ``start`` once before the first case, ``case`` after each finished case.
    total : int
        Number of cases.
    done : int
        Cases finished so far (failed ones included).
    failed : int
        Failed cases so far.
    case_id : str or None
        The case just finished (``case`` events).
    status : {"ok", "error"} or None
        Its outcome.
    elapsed_s : float
        Seconds since the run started.
    """

    event: Literal["start", "case"]
    total: int
    done: int
    failed: int
    case_id: str | None
    status: Literal["ok", "error"] | None
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class _Task:
    index: int
    case_id: str
    image: str
    mask: str
    label: int | None
    roi_name: str | None


def read_cases(
    table_or_csv: pd.DataFrame | str | os.PathLike[str], *, base_dir: str | Path | None = None
) -> pd.DataFrame:
    """Read and check a table of cases (columns ``image``, ``mask``, optional ``label``,
    ``roi_name``, ``case_id``).

    Relative paths start from the CSV file's folder (or ``base_dir``, or the working
    directory for a DataFrame). Without a ``case_id`` column the cases are numbered in
    table order (``0``, ``1``, …); with one, every cell must hold an id (an empty cell
    would need a generated id, which could repeat one given on another row). Messages
    name the line of the CSV file (the header is line 1), or the index label of a
    DataFrame row.

    Returns
    -------
    pandas.DataFrame
        The five columns, with absolute paths, ``label`` as nullable integers.

    Raises
    ------
    InputError
        Missing file or column, an empty image/mask/case_id cell, a label that is not an
        integer, a row with more cells than the header, or a repeated
        (case_id, label, roi_name).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"image": ["a/ct.nii.gz", "b/ct.nii.gz"],
    ...                   "mask": ["a/gtv.nii.gz", "b/gtv.nii.gz"], "label": ["", "2"]})
    >>> cases = read_cases(t, base_dir="/data")
    >>> cases[["case_id", "label", "image"]].to_dict(orient="list")
    {'case_id': ['0', '1'], 'label': [None, 2], 'image': ['/data/a/ct.nii.gz', '/data/b/ct.nii.gz']}
    """
    import pandas as pd

    if not isinstance(table_or_csv, pd.DataFrame | str | os.PathLike):
        raise UsageError(
            f"the cases must be a DataFrame or the path of a CSV file (columns image, mask, "
            f"optional label, roi_name, case_id); got {type(table_or_csv).__name__} (a list "
            "of dicts: pass pandas.DataFrame(cases))"
        )
    if isinstance(table_or_csv, pd.DataFrame):
        frame = table_or_csv.copy()
        where = "the table"
        places = [f"index {label!r}" for label in frame.index]
        root = Path(base_dir) if base_dir is not None else Path.cwd()
    else:
        path = Path(table_or_csv)
        if not path.is_file():
            raise InputError(f"cases table not found: {path}")
        from radiomix.io.text_table import check_delimiter

        check_delimiter(path, ",")
        frame, lines = _read_cases_csv(path)
        where = path.name
        places = [f"line {n}" for n in lines]
        root = Path(base_dir) if base_dir is not None else path.parent
    missing = [c for c in ("image", "mask") if c not in frame.columns]
    if missing:
        raise InputError(
            f"{where} needs the columns image and mask (optional: label, roi_name, case_id); "
            f"missing {', '.join(missing)}, found {', '.join(map(str, frame.columns)) or 'none'}"
        )
    if frame.empty:
        raise InputError(f"{where} has no rows: add one row per case (image, mask)")
    ignored = [c for c in frame.columns if c not in CASE_COLUMNS]
    if ignored:
        log.info("%s: columns not used for extraction: %s", where, ", ".join(map(str, ignored)))
    for column in ignored:
        option = PER_RUN_OPTIONS.get(str(column).strip().lower())
        if option:
            log.warning("%s: column %r is not read per case (the columns read are %s); "
                        "give it for every case with %s", where, column,
                        ", ".join(CASE_COLUMNS), option)
    has_ids = "case_id" in frame.columns
    rows = []
    for i, rec in enumerate(frame.to_dict(orient="records")):
        row = _case_row(rec, root, f"{where}, {places[i]}")
        if row["case_id"] is None:
            if has_ids:
                raise InputError(
                    f"{where}, {places[i]}: the case_id cell is empty; give every case its own "
                    "id (or drop the case_id column: the cases are then numbered 0, 1, … in "
                    "table order)"
                )
            row["case_id"] = str(i)
        _check_row_options(row, f"{where}, {places[i]}")
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(CASE_COLUMNS))
    out["label"] = out["label"].astype("Int64")
    keys = out[["case_id", "label", "roi_name"]].astype(str).agg("/".join, axis=1)
    dup = keys[keys.duplicated()]
    if len(dup):
        second = int(dup.index[0])
        first = int(keys.index[keys == keys.iloc[second]][0])
        raise InputError(
            f"{where}: case {out.loc[second, 'case_id']!r} appears twice with the same "
            f"label and roi_name ({places[first]} and {places[second]}); give each row its "
            "own case_id (or label / roi_name)"
        )
    real = out.assign(**{c: out[c].map(lambda p: os.path.realpath(str(p)))  # a/../a, links
                         for c in ("image", "mask")})
    inputs = real[["image", "mask", "label", "roi_name"]].astype(str).agg("\x1f".join, axis=1)
    again = inputs[inputs.duplicated()]
    if len(again):
        second = int(again.index[0])
        first = int(inputs.index[inputs == inputs.iloc[second]][0])
        log.warning(
            "%s: %s and %s name the same image, mask, label and ROI (cases %r and %r): one "
            "case would be in the table twice; check the rows (%d such row(s))", where,
            places[first], places[second], out.loc[first, "case_id"],
            out.loc[second, "case_id"], len(again))
    return out


def _case_error(rec: dict[str, Any]) -> InputError:
    """The error of a failed case as raised by ``extract_many(errors="raise")``: the class
    the case raised when it is one of radiomix's input errors (so that ``except
    InputNotFoundError`` catches a missing file), else :class:`InputError` naming the type;
    the case id once."""
    import radiomix.errors

    cls = getattr(radiomix.errors, str(rec["error_type"]), None)
    message = str(rec["message"])
    prefix = f"[{rec['case_id']}] "
    text = message if message.startswith(prefix) else prefix + message
    if isinstance(cls, type) and issubclass(cls, InputError):
        return cls(text)
    return InputError(f"{prefix}{rec['error_type']}: {message.removeprefix(prefix)}")


def _read_cases_csv(path: Path) -> tuple[pd.DataFrame, list[int]]:
    """The cells of a cases CSV as text, and the file line on which each row starts.

    Read with :mod:`csv` rather than pandas so that every row keeps its line in the file
    (blank lines and quoted cells spanning lines included): messages name that line.

    Raises
    ------
    InputError
        Not UTF-8 text, not parseable, a header naming a column twice, or a row with more
        cells than the header.
    """
    import csv

    import pandas as pd

    records: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            end = 0
            for cells in reader:
                first, end = end + 1, reader.line_num
                if not cells:  # a blank line
                    continue
                if header is None:
                    header = cells
                    twice = sorted({c for c in header if header.count(c) > 1})
                    if twice:
                        raise InputError(
                            f"{path.name}, line {first}: the header names the column "
                            f"{twice[0]!r} twice; keep one"
                        )
                    continue
                if len(cells) > len(header):
                    raise InputError(
                        f"{path.name}, line {first}: {len(cells)} cells but the header has "
                        f"{len(header)} columns; quote a cell that holds a comma"
                    )
                records.append(cells + [""] * (len(header) - len(cells)))
                lines.append(first)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name} is not a readable CSV file: {exc}") from None
    return pd.DataFrame(records, columns=header or [], dtype=object), lines


def _check_row_options(row: Mapping[str, Any], where: str) -> None:
    """Refuse a ``label`` or ``roi_name`` cell that the row's kind of mask cannot use, before
    any case runs (see :func:`radiomix.io.image.check_mask_options`). Only a row with a
    label and a DICOM mask file is opened (its header, to tell an RTSTRUCT from a SEG)."""
    from radiomix.io.image import FILE_SUFFIXES, _modality, check_mask_options

    if row["label"] is None and row["roi_name"] is None:
        return
    mask = Path(row["mask"])
    if mask.name.lower().endswith(FILE_SUFFIXES):
        modality = None
    elif row["label"] is not None and mask.is_file():
        modality = _modality(mask)
    else:
        return  # an RTSTRUCT/SEG chosen by name, or a missing file: found when it is read
    if modality not in (None, "RTSTRUCT", "SEG"):
        return  # not a mask: said when it is read
    try:
        check_mask_options(mask.name, modality, roi_name=row["roi_name"], segment=row["label"])
    except UsageError as exc:
        raise InputError(f"{where}: {exc}") from None


def _blank(v: Any) -> bool:
    import pandas as pd

    return v is None or (isinstance(v, float) and pd.isna(v)) or str(v).strip() == ""


def _case_row(rec: Mapping[str, Any], root: Path, where: str) -> dict[str, Any]:
    """One case of the table; ``case_id`` is ``None`` when its cell is empty or absent.

    ``where`` names the row in messages (``cases.csv, line 3``).
    """
    out: dict[str, Any] = {}
    for col in ("image", "mask"):
        if _blank(rec[col]):
            raise InputError(f"{where}: the {col} cell is empty; give a path")
        p = Path(str(rec[col]).strip()).expanduser()
        out[col] = str(p if p.is_absolute() else root / p)
    label = rec.get("label")
    if _blank(label):
        out["label"] = None
    else:
        try:
            f = float(str(label))
            if not f.is_integer():
                raise ValueError
            out["label"] = int(f)
        except ValueError:
            raise InputError(
                f"{where}: label {label!r} is not an integer; give the mask's label "
                "value (or leave the cell empty for a binary mask)"
            ) from None
    out["roi_name"] = None if _blank(rec.get("roi_name")) else str(rec["roi_name"]).strip()
    from radiomix.case import check_case_id

    raw = rec.get("case_id")
    try:  # a table's cells are read stripped, as the manifest's
        out["case_id"] = None if _blank(raw) else check_case_id(
            raw.strip() if isinstance(raw, str) else raw, name=f"{where}: case_id")
    except UsageError as exc:
        raise InputError(str(exc)) from None
    return out


def extract_many(
    table_or_csv: pd.DataFrame | str | os.PathLike[str],
    settings: SettingsInput = None,
    *,
    n_jobs: int = 1,
    progress: Callable[[BatchProgress], None] | None = None,
    tag: str = "image",
    resample_mask: bool = False,
    errors: Literal["record", "raise"] = "record",
    base_dir: str | Path | None = None,
    modality: str | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Radiomic features of many cases listed in a table, one row per case.

    A plain alternative to a study file (:func:`radiomix.cohort.run_study`) for a list of
    image/mask pairs that share one settings: every case goes through
    :func:`radiomix.extraction.extract`, as ``radiomix extract`` does.

    Parameters
    ----------
    table_or_csv : DataFrame or path
        Columns ``image`` and ``mask`` (paths), optional ``label`` (mask label or SEG
        segment number), ``roi_name`` (RTSTRUCT ROI) and ``case_id``; other columns are
        not used. Relative paths start from the CSV's folder (or ``base_dir``).
    settings : ExtractionSettings, str, path, mapping or None
        As for :func:`extract`; one settings for every case.
    n_jobs : int
        Worker processes (1: in this process).
    progress : callable, optional
        Called with a :class:`BatchProgress` before the first case and after each case.
    tag : str
        Image tag of the column names.
    resample_mask : bool
        Resample masks to their image's grid when the geometry differs.
    errors : {"record", "raise"}
        ``record``: a failed case is left out of the table and listed in
        ``df.attrs["errors"]`` (and logged); ``raise``: the first failure is raised.
    base_dir : path, optional
        Folder that relative paths start from.
    modality : str, optional
        DICOM modality of every image (as for :func:`extract`).
    **overrides
        Settings changes (see :func:`load_settings`).

    Returns
    -------
    pandas.DataFrame
        One row per successful case, in table order: ``case_id`` (and ``label`` /
        ``roi_name`` when the table has them), the feature columns, ``settings_hash``,
        ``radiomix_version``. ``df.attrs["provenance"]`` holds the settings, versions and
        a ``cases`` list (inputs' SHA-256, ROI size, notes per case);
        ``df.attrs["errors"]`` lists the failed cases (``case_id``, ``label``,
        ``roi_name``, ``error_type``, ``message``).

    Raises
    ------
    InputError
        The table is unusable (missing columns, empty cells, duplicated cases, a label or
        ROI name the row's kind of mask cannot use), or a case failed with
        ``errors="raise"``.
    UsageError
        A ``tag`` that is empty or holds a dot or whitespace.
    SettingsError
        Invalid settings (nothing ran), among them ``preprocess.ring_clip: organ`` (a table
        of cases has no organ masks).

    Examples
    --------
    >>> import radiomix
    >>> df = radiomix.extract_many("cases.csv", "ibsi-C", n_jobs=2)  # doctest: +SKIP
    >>> df.attrs["errors"]                                            # doctest: +SKIP
    []
    """
    import pandas as pd

    from radiomix.extraction import check_flag

    check_flag("resample_mask", resample_mask)

    if errors not in ("record", "raise"):
        raise SettingsError(f"errors must be 'record' or 'raise', got {errors!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise SettingsError(f"n_jobs must be an integer >= 1, got {n_jobs!r}")
    from radiomix.settings.study import check_modality, check_tag

    check_tag(tag)
    modality = check_modality(modality)  # misspelt: refused before any case runs
    s = load_settings(settings, **overrides)
    if s.preprocess.ring_clip == "organ":
        raise SettingsError(
            "preprocess.ring_clip organ needs an organ mask per case, which a table of "
            "cases does not carry: run the cases from a study file (the manifest's "
            "<tag>_organ column) or one by one (radiomix extract --organ-mask, organ_mask= "
            "in Python)")
    cases = read_cases(table_or_csv, base_dir=base_dir)
    has_label = bool(cases["label"].notna().any())
    has_roi = bool(cases["roi_name"].notna().any())
    tasks = [
        _Task(
            i,
            str(r.case_id),
            str(r.image),
            str(r.mask),
            None if pd.isna(r.label) else int(r.label),
            r.roi_name if isinstance(r.roi_name, str) else None,
        )
        for i, r in enumerate(cases.itertuples(index=False))
    ]
    t0 = time.monotonic()
    total = len(tasks)

    def report(event: Literal["start", "case"], done: int, failed: int, rec: Any) -> None:
        if progress is not None:
            progress(
                BatchProgress(
                    event,
                    total,
                    done,
                    failed,
                    None if rec is None else rec["case_id"],
                    None if rec is None else rec["status"],
                    time.monotonic() - t0,
                )
            )

    report("start", 0, 0, None)
    results: dict[int, dict[str, Any]] = {}
    failed = 0
    from radiomix.cohort import say_case_warnings, say_repeated

    said: dict[str, int] = {}
    run = _run_serial if n_jobs == 1 else _run_pool
    for rec in run(tasks, s, _CaseOptions(tag, resample_mask, modality), n_jobs):
        say_case_warnings(rec["case_id"], rec.get("warnings"), said)
        if rec["status"] == "error":
            failed += 1
            if errors == "raise":
                raise _case_error(rec)
        results[rec["index"]] = rec
        report("case", len(results), failed, rec)
    say_repeated(said)
    rows, case_prov, errs = [], [], []
    for i in range(total):
        rec = results[i]
        ids: dict[str, Any] = {"case_id": rec["case_id"]}
        if has_label:
            ids["label"] = rec["label"]
        if has_roi:
            ids["roi_name"] = rec["roi_name"]
        if rec["status"] == "ok":
            rows.append({**ids, **rec["row"]})
            case_prov.append({**ids, **rec["provenance"]})
        else:
            errs.append({**ids, "error_type": rec["error_type"], "message": rec["message"]})
    if errs:
        log.warning(
            "%d of %d cases failed (first: %s: %s); see df.attrs['errors']",
            len(errs),
            total,
            errs[0]["case_id"],
            errs[0]["message"],
            extra={"listed": True},  # radiomix extract-many lists them itself
        )
    frame = pd.DataFrame(rows)
    if has_label and "label" in frame:
        frame["label"] = frame["label"].astype("Int64")
    frame.attrs["provenance"] = _batch_provenance(s, case_prov)
    frame.attrs["errors"] = errs
    return frame


def _batch_provenance(s: ExtractionSettings, cases: list[dict[str, Any]]) -> dict[str, Any]:
    from radiomix.settings import settings_hash, settings_to_dict
    from radiomix.table import package_versions

    return {
        "settings": settings_to_dict(s),
        "settings_hash": settings_hash(s),
        "versions": package_versions(),
        "cases": cases,
    }


def _unnamed(message: str, task: _Task) -> str:
    """A case's error message with its input paths named ``<image>`` and ``<mask>`` (the
    record reaches the error table that is kept; :func:`radiomix.privacy.redact_paths`)."""
    from radiomix.privacy import redact_paths

    return redact_paths(message, {"<image>": task.image, "<mask>": task.mask},
                        keep=(task.case_id,))


class _CaseOptions(NamedTuple):
    """What :func:`extract_many` gives every case besides its row."""

    tag: str
    resample_mask: bool
    modality: str | None


def _extract_task(
    task: _Task, settings: ExtractionSettings, options: _CaseOptions
) -> dict[str, Any]:
    """One case of :func:`extract_many`: a result or an error record (never raises), with
    the warnings logged while it ran (said by the caller with the case's id)."""
    from radiomix.cohort import case_warnings

    with case_warnings(lambda m: _unnamed(m, task)) as said:  # file names may name people
        rec = _extract_record(task, settings, options)
    if said:
        rec["warnings"] = said
    return rec


def _extract_record(
    task: _Task, settings: ExtractionSettings, options: _CaseOptions
) -> dict[str, Any]:
    """The record of :func:`_extract_task`."""
    base = {
        "index": task.index,
        "case_id": task.case_id,
        "label": task.label,
        "roi_name": task.roi_name,
    }
    try:
        frame = _extract_paths(
            task.image,
            task.mask,
            settings,
            label=task.label,
            roi_name=task.roi_name,
            resample_mask=options.resample_mask,
            tag=options.tag,
            case_id=task.case_id,
            deep=None,
            organ_mask=None,
            modality=options.modality,
            inputs={},
        )
    except RadiomixError as exc:
        return {**base, "status": "error", "error_type": type(exc).__name__,
                "message": _unnamed(str(exc), task)}
    except Exception as exc:  # a bug or an unreadable file: recorded, the run goes on
        log.debug("case %s failed", task.case_id, exc_info=True)
        return {
            **base,
            "status": "error",
            "error_type": type(exc).__name__,
            "message": _unnamed(f"unexpected error ({type(exc).__name__}): {exc}", task),
        }
    row = frame.iloc[0].to_dict()
    row.pop("case_id", None)
    prov = frame.attrs["provenance"]
    keep = {k: v for k, v in prov.items() if k not in ("settings", "settings_hash", "versions")}
    if keep.get("notes"):  # a note may name an input file (a header's qform/sform)
        keep["notes"] = {k: _unnamed(str(v), task) for k, v in keep["notes"].items()}
    return {**base, "status": "ok", "row": row, "provenance": keep}


def _run_serial(
    tasks: list[_Task], s: ExtractionSettings, options: _CaseOptions, n_jobs: int
) -> Any:
    for task in tasks:
        yield _extract_task(task, s, options)


def _run_pool(
    tasks: list[_Task], s: ExtractionSettings, options: _CaseOptions, n_jobs: int
) -> Any:
    """A local process pool of preloaded workers (:func:`radiomix.cohort.pool_map`); a case
    whose worker dies becomes an error record."""
    from concurrent.futures.process import BrokenProcessPool
    from functools import partial

    from radiomix.cohort import pool_map

    work = partial(_extract_task, settings=s, options=options)
    for i, rec in pool_map(work, tasks, n_jobs):
        if isinstance(rec, BrokenProcessPool):
            task = tasks[i]
            rec = {
                "index": task.index,
                "case_id": task.case_id,
                "label": task.label,
                "roi_name": task.roi_name,
                "status": "error",
                "error_type": "WorkerDied",
                "message": "the worker process died (out of memory? try fewer n_jobs)",
            }
        yield rec
