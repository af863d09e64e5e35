"""Exception hierarchy of radiomix.

Every error a user can cause is an :class:`InputError` subclass with a message that says what
was found, what was expected and how to fix it. Messages carry manifest identifiers only,
never DICOM patient attributes.
"""

from __future__ import annotations


class RadiomixError(Exception):
    """Base class of every radiomix error."""


class InputError(RadiomixError, ValueError):
    """Bad input data or arguments supplied by the user."""


class InputNotFoundError(InputError):
    """An input file or folder is missing or unreadable where this process looked for it
    (a cohort worker may not see a path the run sees): never remembered as the case's
    result."""


class SettingsError(InputError):
    """Invalid settings: unknown key, value out of range, incompatible options."""


class GeometryMismatchError(InputError):
    """Image and mask do not share a voxel grid (size, spacing, origin or direction)."""


class EmptyRoiError(InputError):
    """The region of interest holds no voxel (or none after re-segmentation)."""


class RoiTooSmallError(EmptyRoiError):
    """The region of interest holds fewer voxels than the configured minimum."""


class LabelNotFoundError(InputError):
    """The requested label, ROI name or segment does not exist in the mask."""


class AmbiguousLabelError(InputError):
    """The mask holds several labels (or a 0/255 coding) and no label was chosen."""


class InvalidIntensityError(InputError):
    """The image holds NaN or infinite values inside the processing region."""


class DicomError(InputError):
    """A DICOM series or object cannot be read as requested (missing/irregular slices...)."""


class SuvConversionError(DicomError):
    """PET values cannot be converted to SUV; the message names the missing attribute."""


class WeightsError(InputError):
    """Network weights cannot be used: not found, wrong hash, or not the expected layout."""


class WeightsNotFoundError(WeightsError):
    """A known weight file is neither cached nor downloadable; the message says where to put it."""


class CheckpointMismatchError(WeightsError):
    """A checkpoint's keys or shapes differ from the network; the message names them."""


class MissingGroupsError(InputError):
    """An evaluation was asked for without patient identifiers (``groups``)."""


class DependencyError(RadiomixError, ImportError):
    """An optional dependency (an extra of the package) is not installed."""


class InternalError(RadiomixError, RuntimeError):
    """A broken internal invariant: a bug in radiomix, please report it."""


class UsageError(InputError):
    """A command-line option that cannot work (such as an unsupported ``--out`` suffix),
    found before any work is done; the CLI exits with code 2."""


class OutputLockedError(UsageError):
    """Another run holds the lock on the output folder; the message names its process id."""


class WorkersLostError(RadiomixError, RuntimeError):
    """Every worker of a run was lost (killed, out of memory, cluster gone) for longer than
    the configured timeout; re-running resumes from the cases already done."""
