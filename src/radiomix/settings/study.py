"""The study file (``study.yaml``): image tags, their settings, ROI options and manifest.

A study file names the manifest (one row per lesion) and, per image tag (``ct``, ``pet``,
``mr_t1``, ``arterial`` …), the extraction settings: a packaged preset, a settings YAML
file, an explicit settings mapping, or a preset/file with a mapping of overrides on top.
It is read by the same strict loader as every other settings file
(:func:`radiomix.settings.settings_from_dict`): an unknown key is refused with the nearest
valid key as suggestion.

Example
-------
.. code-block:: yaml

    name: sts
    manifest: manifest.csv                 # relative to this file
    data_root: ${RADIOMIX_DATA:-../data}/sts   # image paths of the manifest are relative to it
    columns: {labels: [lung_mets], time: time_days, event: lung_mets, centre: centre}
    tags:
      ct:
        settings:
          interpolation: {spacing: [2, 2, 2], round_intensities: true}
          resegmentation: {range: [-200, 400]}
          discretisation: {method: fbs, bin_width: 25}
      pet:
        preset: ibsi-C                       # base settings ...
        settings: {discretisation: {method: fbs, bin_width: 0.25}}   # ... with overrides
        roi: {label: 1}
      mr_t1:
        settings:
          preprocess: {bias_field: true, normalise: nyul, nyul_landmarks: mr_t1_landmarks.json}
      mr_t2:
        settings: {preprocess: {normalise: zscore}}
        register_to: mr_t1                    # analysed on the T1 grid, in the T1 mask
        registration: {transform: rigid}
    deep: {model: resnet18, mode: 2.5d, weights: imagenet}

Registration (``register_to``): the tag's image of each lesion is registered onto the
reference tag's image of the same lesion (:func:`radiomix.process.registration.register_images`,
Mattes mutual information) and analysed on the reference grid. Its mask is its own
``<tag>_mask`` (moved with the transform) when the manifest gives one, else the reference
tag's mask (one segmentation drawn on the reference phase). The reference tag may not be
registered itself. The QC of every registration is in the provenance of its case.

Histogram standardisation (``preprocess: {normalise: nyul, nyul_landmarks: FILE}``): the
landmarks are fitted beforehand, once, by ``radiomix standardise fit`` on the images you
choose (e.g. the training centre only), and the file is then only read: fitting never
happens inside a run, so no test or external-validation image can shape the scale
unless you put it in the fitting set, and every run with the same file gives the same
features. The file lists the training lesions; its SHA-256 is part of the case keys and the
settings hash.

``${VAR}`` and ``${VAR:-default}`` in ``manifest``, ``data_root``, a tag's settings file,
``nyul_landmarks``, a ``deep.weights`` file and the files of the ``analysis:`` section
(``clinical``, an arm's ``stability``, ``leakage_audit.table``) are replaced by the
environment variable (or the default when it is unset or empty), and a leading ``~`` by the
home folder; relative results are taken from the study file's folder.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from radiomix.errors import SettingsError, UsageError
from radiomix.settings.loader import (
    PRESETS,
    load_preset,
    safe_load_unique,
    settings_from_dict,
    settings_hash,
    settings_to_dict,
    stale_method_parameters,
)
from radiomix.settings.steps import ExtractionSettings, RegistrationSettings


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """The problem of a YAML error in one line, with its line and column."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}{problem}"


TAG_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
"""Image tags are lower-case identifiers: they start the feature column names."""


def check_tag(tag: object) -> str:
    """An image tag given to one extraction (``--tag``, ``tag=``), checked.

    The tag is the first part of every column name ``<tag>.<filter>.<family>.<feature>``,
    so it must be non-empty text without a dot (the separator of those parts) or
    whitespace. Study files ask more (:data:`TAG_PATTERN`: a lower-case identifier).

    Returns
    -------
    str
        The tag, unchanged.

    Raises
    ------
    UsageError
        An empty tag, or one with a dot or whitespace (with a tag to use instead).

    Examples
    --------
    >>> check_tag("ct")
    'ct'
    >>> check_tag("ct.v2")
    Traceback (most recent call last):
    ...
    radiomix.errors.UsageError: tag 'ct.v2' contains a dot; ...'ct_v2'
    """
    if not isinstance(tag, str):
        raise UsageError(f"tag must be text, got {type(tag).__name__} {tag!r}")
    if tag == "":
        raise UsageError(
            "tag is empty; the tag starts every column name <tag>.<filter>.<family>.<feature>: "
            "give one, e.g. --tag ct (tag='ct'), or leave it out for the default 'image'"
        )
    bad = [w for w, hit in (("a dot", "." in tag), ("whitespace", any(c.isspace() for c in tag)))
           if hit]
    if bad:
        fixed = re.sub(r"[.\s]+", "_", tag.strip()).strip("_") or "image"
        raise UsageError(
            f"tag {tag!r} contains {' and '.join(bad)}; the tag starts every column name "
            "<tag>.<filter>.<family>.<feature>, whose parts are separated by dots: use e.g. "
            f"{fixed!r}"
        )
    return tag


RESERVED_COLUMNS = ("settings_hash", "radiomix_version")
"""Columns the cohort runner adds to every row; manifest columns may not use these names."""

if TYPE_CHECKING:
    from radiomix.analysis.spec import AnalysisSettings
    from radiomix.deep import DeepSettings

WEIGHTS_KEYWORDS: tuple[str, ...] = ("imagenet", "medicalnet", "random")
"""``deep.weights`` values that are not files."""

DeepModel = Literal["resnet10", "resnet18", "resnet34", "resnet50"]
DeepMode = Literal["slices", "max_slice", "2.5d", "3d"]
DeepPrecision = Literal["float32", "float64"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _fail(msg: str) -> None:
    raise SettingsError(msg)


def _check_choice(where: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        near = difflib.get_close_matches(str(value), choices, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        _fail(f"{where} must be one of {', '.join(choices)}; got {value!r}{hint}")


@dataclass(frozen=True, kw_only=True, slots=True)
class RoiOptions:
    """How the ROI of one image tag is taken from its mask (defaults for every lesion).

    The manifest can override ``label`` and ``roi_name`` per lesion with the columns
    ``<tag>_label`` and ``<tag>_roi_name``.

    Parameters
    ----------
    label : int or None
        Label value of a label-image mask, or segment number of a DICOM SEG. ``None``: a
        binary mask (one non-zero label) is expected.
    roi_name : str or None
        ROI name of an RTSTRUCT, or segment label of a DICOM SEG.
    resample_mask : bool
        Resample the mask onto the image grid when their geometry differs (nearest
        neighbour). When false (default), a geometry mismatch is an error of the case.
    """

    label: int | None = None
    roi_name: str | None = None
    resample_mask: bool = False

    def __post_init__(self) -> None:
        if self.label is not None and (
            isinstance(self.label, bool) or not isinstance(self.label, int)
        ):
            _fail(f"roi.label must be an integer, got {self.label!r}")
        if self.roi_name is not None and not isinstance(self.roi_name, str):
            _fail(f"roi.roi_name must be a string, got {self.roi_name!r}")
        if not isinstance(self.resample_mask, bool):
            _fail(f"roi.resample_mask must be true or false, got {self.resample_mask!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class TagSettings:
    """Settings of one image tag.

    Parameters
    ----------
    preset : str or None
        Base settings: a packaged preset name (``ibsi-C`` …) or a settings YAML file
        (relative to the study file). ``settings`` (a mapping) is applied on top.
    settings : str, mapping or None
        A preset name or settings YAML file, or an explicit settings mapping (the keys of
        :class:`~radiomix.settings.ExtractionSettings`). With ``preset``, only a mapping of
        overrides is allowed. Neither given: the default :class:`ExtractionSettings`.
    roi : RoiOptions
        ROI options of this tag.
    register_to : str or None
        Another image tag of the study: each lesion's image of this tag is registered onto
        that tag's image and analysed on its grid; without a ``<tag>_mask`` of its own the
        lesion uses the reference tag's mask (and its label / ROI name). The reference tag
        may not be registered itself.
    registration : RegistrationSettings or None
        Transform model and optimiser parameters (default rigid); only with ``register_to``.
    modality : str or None
        DICOM modality of the tag's images (``CT``, ``PT``, ``MR`` …): QC thumbnails of CT
        and PET use a fixed window (HU, SUV), and a CT image whose values cannot be
        Hounsfield units is refused (:func:`radiomix.check.check_ct_values`); not part of
        any case key.
    """

    preset: str | None = None
    settings: str | dict[str, Any] | None = None
    roi: RoiOptions = field(default_factory=RoiOptions)
    register_to: str | None = None
    registration: RegistrationSettings | None = None
    modality: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "modality", check_modality(self.modality))
        if self.preset is not None and not isinstance(self.preset, str):
            _fail(f"preset must be a preset name or a settings file, got {self.preset!r}")
        if self.settings is not None and not isinstance(self.settings, str | dict):
            _fail(
                "settings must be a preset name, a settings file or a mapping, got "
                f"{type(self.settings).__name__}"
            )
        if self.preset is not None and isinstance(self.settings, str):
            _fail(
                f"give either preset ({self.preset!r}) or settings ({self.settings!r}) as a "
                "name; with a preset, settings must be a mapping of overrides"
            )
        if self.register_to is not None and not isinstance(self.register_to, str):
            _fail(f"register_to must name another image tag, got {self.register_to!r}")
        if self.registration is not None and self.register_to is None:
            _fail("registration options need register_to (the reference image tag)")

    @property
    def registration_settings(self) -> RegistrationSettings | None:
        """Registration parameters (defaults filled in), or None when not registered."""
        if self.register_to is None:
            return None
        return self.registration or RegistrationSettings()


@dataclass(frozen=True, kw_only=True, slots=True)
class DeepOptions:
    """Deep-feature options of a study (CNN embeddings beside the radiomic features).

    The cohort runner embeds the tumour of each selected tag with
    :class:`radiomix.deep.DeepEmbedder` and adds the columns
    ``<tag>.deep.<model>_<mode>.fNNN`` to the lesion row (slice embeddings are summarised
    per lesion by mean, max and slice count).

    Parameters
    ----------
    model : {"resnet18", "resnet34", "resnet50", "resnet10"}
        Backbone, classification layer removed (``resnet10``: MedicalNet's, ``3d`` only).
    mode : {"slices", "max_slice", "2.5d", "3d"}
        Input: every ROI slice, the largest ROI slice, three orthogonal slices through the
        ROI centre, or the ROI volume (3D ResNet).
    weights : str
        ``imagenet`` (2D; ``medicalnet`` for 3D) from the weight cache, a path to a weights
        file (relative to the study file's folder; ``${VAR}`` expanded), or ``random``
        (untrained, flagged in the provenance). A run checks the weights once before any
        case (:meth:`Study.check_deep_weights`).
    tags : tuple of str or None
        Image tags to embed (default: every tag).
    fallback : {"none", "random"}
        When the published weight file (``imagenet``, ``medicalnet``) is not in the cache:
        ``none`` (default) makes every case an error naming the file to install; ``random``
        uses an untrained network instead, decided once when the study is loaded (the
        weights actually used are part of the case keys and of the provenance, where
        ``random_weights`` flags them, and the analysis report labels every deep arm).
    keep_slices : bool
        With ``mode: slices``, also write the slice embeddings, one row per ROI slice with
        the patient and lesion ids, as ``deep_slices.parquet`` beside the feature table
        (the input of a slice-level leakage audit). Default false.
    precision : {"float32", "float64"}
        Arithmetic of the network (:class:`radiomix.deep.DeepSettings`): ``float32``
        (default, fast; within 1e-5 relative L2 of float64 per embedding) or ``float64``
        (bit-exact reproduction of float64 embeddings). Part of the case keys and of the
        provenance.
    """

    model: DeepModel = "resnet18"
    mode: DeepMode = "2.5d"
    weights: str = "imagenet"
    tags: tuple[str, ...] | None = None
    fallback: str = "none"
    keep_slices: bool = False
    precision: DeepPrecision = "float32"

    def __post_init__(self) -> None:
        from radiomix.deep.settings import MODELS_2D, MODELS_3D  # read with a deep: entry only

        _check_choice("deep.mode", self.mode, ("slices", "max_slice", "2.5d", "3d"))
        # the networks of each input (resnet10 is MedicalNet's, 3D only), as on the command
        # line (--deep resnet10:3d)
        _check_choice(f"deep.model (mode {self.mode})", self.model,
                      MODELS_3D if self.mode == "3d" else MODELS_2D)
        _check_choice("deep.fallback", self.fallback, ("none", "random"))
        if self.tags is not None and not isinstance(self.tags, tuple):  # text: not letters
            _fail(f"deep.tags must be a list, e.g. [{self.tags}]; got the text {self.tags!r}")
        _check_choice("deep.precision", self.precision, ("float32", "float64"))
        if not isinstance(self.keep_slices, bool):
            _fail(f"deep.keep_slices must be true or false, got {self.keep_slices!r}")
        if self.keep_slices and self.mode != "slices":
            _fail(f"deep.keep_slices needs mode: slices (one embedding per ROI slice); the mode "
                  f"is {self.mode!r}")
        if not isinstance(self.weights, str) or not self.weights:
            _fail(
                "deep.weights must be 'imagenet', 'medicalnet', 'random' or a file path, "
                f"got {self.weights!r}"
            )

    def deep_settings(self) -> DeepSettings:
        """The :class:`radiomix.deep.DeepSettings` of these options."""
        from radiomix.deep import DeepSettings

        return DeepSettings(
            model=self.model, mode=self.mode, weights=self.weights, precision=self.precision
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ManifestColumns:
    """Manifest columns: identifiers, and the clinical columns copied into the table.

    Parameters
    ----------
    patient_id, lesion_id : str
        Names of the identifier columns.
    labels : tuple of str
        Outcome label columns (e.g. ``lung_mets``).
    time, event : str or None
        Time-to-event and event-indicator columns.
    centre : str or None
        Centre (site) column, for external validation splits.
    covariates : tuple of str
        Clinical covariates copied into the table.
    """

    patient_id: str = "patient_id"
    lesion_id: str = "lesion_id"
    labels: tuple[str, ...] = ()
    time: str | None = None
    event: str | None = None
    centre: str | None = None
    covariates: tuple[str, ...] = ()

    @property
    def carried(self) -> tuple[str, ...]:
        """The clinical columns copied into the feature table, in order, without repeats."""
        names = [*self.labels, self.time, self.event, self.centre, *self.covariates]
        return tuple(dict.fromkeys(n for n in names if n))

    def __post_init__(self) -> None:
        for name in ("labels", "covariates"):
            if not isinstance(getattr(self, name), tuple):
                _fail(f"columns.{name} must be a list of column names, got {getattr(self, name)!r}")
        for name in ("patient_id", "lesion_id"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                _fail(f"columns.{name} must be a column name, got {getattr(self, name)!r}")
        if self.patient_id == self.lesion_id:
            _fail("columns.patient_id and columns.lesion_id must be different columns")
        for col in self.carried:
            if not isinstance(col, str):
                _fail(f"manifest column names must be strings, got {col!r}")
            if col in (self.patient_id, self.lesion_id):
                _fail(f"column {col!r} is an identifier; it cannot also be a label or covariate")
            if col in RESERVED_COLUMNS:
                _fail(f"column name {col!r} is reserved for the output table; rename it")
            if "." in col:
                _fail(f"column {col!r} contains a dot, which is reserved for feature columns")


@dataclass(frozen=True, kw_only=True, slots=True)
class StudySettings:
    """Contents of a study file (see the module docstring for an example).

    Parameters
    ----------
    name : str
        Study name (written to provenance).
    manifest : str
        Manifest CSV, relative to the study file (``${VAR:-default}`` expanded).
    data_root : str or None
        Folder that relative image and mask paths of the manifest start from; default:
        the manifest's folder.
    tags : mapping of str to TagSettings
        Image tags in column order.
    columns : ManifestColumns
        Identifier and clinical columns of the manifest.
    deep : DeepOptions or None
        Deep-feature options: the CNN embedding columns the runner adds to each lesion row.
    keep_partial : bool
        Keep a lesion in the feature table when some of its tags failed, with missing
        values in the failed tags' columns. Default false: such a lesion is left out of the
        feature table (every failure is in the errors table either way), so no model is
        fitted on silently imputed values.
    analysis : AnalysisSettings or None
        The ``analysis:`` section (:mod:`radiomix.analysis.spec`): outcomes, column roles,
        arms and validation read by ``radiomix analyse``. It does not change extraction.
    """

    manifest: str
    tags: dict[str, TagSettings]
    name: str = "study"
    data_root: str | None = None
    columns: ManifestColumns = field(default_factory=ManifestColumns)
    deep: DeepOptions | None = None
    keep_partial: bool = False
    analysis: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.manifest, str) or not self.manifest:
            _fail("manifest must name the manifest CSV file")
        if self.data_root is not None and not isinstance(self.data_root, str):
            _fail(f"data_root must be a folder path, got {self.data_root!r}")
        if not isinstance(self.tags, dict) or not self.tags:
            _fail("tags must map at least one image tag (e.g. ct, pet) to its settings")
        for tag, value in self.tags.items():
            if not isinstance(tag, str) or not TAG_PATTERN.match(tag):
                _fail(
                    f"image tag {tag!r} is not a lower-case identifier (letters, digits, _; "
                    "starting with a letter), e.g. ct, pet, mr_t1"
                )
            if not isinstance(value, TagSettings):
                _fail(f"tags.{tag} must be a mapping of tag settings")
        for tag, value in self.tags.items():
            ref = value.register_to
            if ref is None:
                continue
            if ref == tag:
                _fail(f"tags.{tag}.register_to names the tag itself; name another image tag")
            if ref not in self.tags:
                _check_choice(
                    f"tags.{tag}.register_to", ref, tuple(t for t in self.tags if t != tag)
                )
            if self.tags[ref].register_to is not None:
                _fail(
                    f"tags.{tag}.register_to is {ref!r}, which is itself registered to "
                    f"{self.tags[ref].register_to!r}; register every tag to one reference tag"
                )
        if self.deep is not None and self.deep.tags is not None:
            for tag in self.deep.tags:
                if tag not in self.tags:
                    _check_choice("deep.tags entries", tag, tuple(self.tags))
        if not isinstance(self.keep_partial, bool):
            _fail(f"keep_partial must be true or false, got {self.keep_partial!r}")


@dataclass(frozen=True, slots=True)
class Study:
    """A loaded study: its settings with every path and per-tag setting resolved.

    Attributes
    ----------
    path : Path
        The study file.
    settings : StudySettings
        The study file's contents.
    manifest : Path
        The manifest CSV.
    data_root : Path
        Folder that relative manifest paths start from.
    extraction : dict of str to ExtractionSettings
        Resolved settings of each tag, in tag order.
    landmarks : dict of str to Path
        Resolved landmarks file of each tag with ``preprocess.normalise: nyul``.
    weights_fallback : str or None
        Why the deep features use random weights (``deep.fallback: random`` and the
        published weight file not cached), for the commands that compute them to warn;
        None when the requested weights are used.
    deep_weights_given : str or None
        ``deep.weights`` as the study file writes it when it names a file; the settings
        then hold that file's path resolved from the study file's folder. The written form
        goes into :meth:`to_dict` (case keys, provenance): the weights' SHA-256 identifies
        the file, and its folder may differ between machines or name a person.
    """

    path: Path
    settings: StudySettings
    manifest: Path
    data_root: Path
    extraction: dict[str, ExtractionSettings]
    landmarks: dict[str, Path] = field(default_factory=dict)
    weights_fallback: str | None = None
    deep_weights_given: str | None = None

    @property
    def tags(self) -> tuple[str, ...]:
        """Image tags in column order."""
        return tuple(self.extraction)

    def tag_hashes(self) -> dict[str, str]:
        """Settings hash of each tag."""
        return {tag: settings_hash(s) for tag, s in self.extraction.items()}

    def landmarks_sha256(self) -> dict[str, str]:
        """SHA-256 of each tag's landmarks file (histogram standardisation)."""
        import hashlib

        out = {}
        for tag, path in self.landmarks.items():
            try:
                out[tag] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:
                raise SettingsError(
                    f"tags.{tag}: landmarks file {path} cannot be read ({exc}); write it with "
                    f"'radiomix standardise fit STUDY --tag {tag} --out FILE'"
                ) from exc
        return out

    def _tag_options(self, tag: str) -> dict[str, Any]:
        ts = self.settings.tags[tag]
        reg = ts.registration_settings
        return {
            "roi": dataclasses.asdict(ts.roi),
            "register_to": ts.register_to,
            "registration": settings_to_dict(reg) if reg is not None else None,
        }

    def settings_hash(self) -> str:
        """One hash over every tag's settings, their order, the ROI and registration
        options and the landmarks files' contents."""
        import hashlib
        import json

        lm = self.landmarks_sha256()
        blob = json.dumps(
            {
                "tags": [
                    [t, h, dataclasses.asdict(self.settings.tags[t].roi)]
                    for t, h in self.tag_hashes().items()
                ],
                # absent when no tag is registered (settings hashes still change whenever the
                # settings dataclasses gain a field: cached cases are then recomputed once)
                **(
                    {"registration": {t: self._tag_options(t) for t in self.registered_tags}}
                    if self.registered_tags
                    else {}
                ),
                **({"landmarks_sha256": lm} if lm else {}),
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def registered_tags(self) -> tuple[str, ...]:
        """Tags with ``register_to``."""
        return tuple(t for t in self.tags if self.settings.tags[t].register_to is not None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible description for provenance (resolved settings per tag)."""
        s = self.settings
        lm = self.landmarks_sha256()
        return {
            "name": s.name,
            "tags": {
                t: {
                    "settings": settings_to_dict(self.extraction[t]),
                    "settings_hash": settings_hash(self.extraction[t]),
                    **self._tag_options(t),
                    **({"landmarks_sha256": lm[t]} if t in lm else {}),
                }
                for t in self.tags
            },
            "columns": settings_to_dict(s.columns),
            "deep": self._deep_dict(),
            "keep_partial": s.keep_partial,
        }

    def _deep_dict(self) -> dict[str, Any] | None:
        """The deep options with ``weights`` as the study file writes it."""
        if self.settings.deep is None:
            return None
        out = settings_to_dict(self.settings.deep)
        if self.deep_weights_given is not None:
            out["weights"] = self.deep_weights_given
        return out

    def check_deep_weights(self) -> None:
        """Check the deep features' weights once, before any case runs: a weight file
        that is missing, damaged, of another network or holds NaN would otherwise fail
        every case with the same message (:func:`radiomix.deep.check_weights`). Imports
        torch (seconds): called only when deep features are to be computed.

        Raises
        ------
        SettingsError
            The weights cannot be used; one line naming the file (as the study file
            writes it, or its name) and the problem.
        """
        deep = self.settings.deep
        if deep is None or deep.weights == "random":
            return
        given = self.deep_weights_given
        if given is not None and not Path(deep.weights).is_file():
            what = "is not a file" if Path(deep.weights).exists() else "not found"
            where = ("" if Path(expand_env(given)).expanduser().is_absolute() else
                     f" (looked for {self.path.parent.name}/{given}: relative paths start "
                     f"from the folder of {self.path.name}, not from the current folder)")
            raise SettingsError(
                f"deep.weights: weights file {given!r} {what}{where}; give the path of a "
                "checkpoint file (.pth), or imagenet, medicalnet or random"
            )
        from radiomix.deep import check_weights
        from radiomix.errors import WeightsError

        try:
            check_weights(deep.deep_settings())
        except WeightsError as exc:
            raise SettingsError(f"deep.weights: {exc}") from None


def expand_env(text: str) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}`` by environment values.

    Raises
    ------
    SettingsError
        ``${VAR}`` without a default names an unset variable.

    Examples
    --------
    >>> expand_env("${RADIOMIX_SURELY_UNSET_VAR:-../data}/sts")
    '../data/sts'
    """

    def sub(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value:
            return value
        if m.group(2) is not None:
            return m.group(2)
        raise SettingsError(
            f"environment variable {m.group(1)} is not set (used in {text!r}); set it or "
            f"write ${{{m.group(1)}:-default}}"
        )

    return _ENV.sub(sub, text)


IMAGE_MODALITIES: dict[str, str] = {
    "CT": "computed tomography", "MR": "magnetic resonance", "PT": "positron emission "
    "tomography", "NM": "nuclear medicine (SPECT)", "US": "ultrasound", "CR": "computed "
    "radiography", "DX": "digital radiography", "MG": "mammography", "XA": "X-ray "
    "angiography", "RF": "radiofluoroscopy", "OT": "other",
}
"""Image modalities a tag or an extraction may declare: DICOM's codes (PS3.3 C.7.3.1.1.1)
of the images radiomics is computed on; ``OT`` for any other."""

_MODALITY_ALIASES = {"PET": "PT", "MRI": "MR", "SPECT": "NM", "CAT": "CT", "XR": "DX"}


def check_modality(value: Any, where: str = "modality") -> str | None:
    """The declared modality in DICOM's upper-case code, or ``None`` when not declared.

    A declared ``CT`` or ``PT`` turns on checks of the values (:func:`radiomix.check.
    check_ct_values`, :func:`radiomix.check.check_pt_values`), so a misspelt one would
    turn them off without a word: a value outside :data:`IMAGE_MODALITIES` is refused,
    with the code meant (``PET`` -> ``PT``).

    Raises
    ------
    SettingsError
        Not one of :data:`IMAGE_MODALITIES`.
    """
    if value is None:
        return None
    code = value.strip().upper() if isinstance(value, str) else None
    if code in IMAGE_MODALITIES:
        return code
    meant = _MODALITY_ALIASES.get(code or "") or next(
        iter(difflib.get_close_matches(code or "", list(IMAGE_MODALITIES), n=1, cutoff=0.5)),
        None)
    hint = f"did you mean {meant!r} ({IMAGE_MODALITIES[meant]})? " if meant else ""
    _fail(f"{where} {value!r} is not a DICOM image modality: {hint}use one of "
          f"{', '.join(IMAGE_MODALITIES)} (OT for any other)")
    return None  # pragma: no cover - _fail raises


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` written on top, mapping by mapping. An override that changes
    a step's ``method`` drops the base's parameters of the old method that it does not
    give itself (a preset's ``bin_width`` under an override to ``method: fbn``)."""
    out = copy.deepcopy(base)
    for key in stale_method_parameters(out, over):
        del out[key]
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _study_file(text: str, folder: Path) -> Path:
    """A file a study names (``nyul_landmarks``, ``deep.weights``): ``${VAR}`` and ``~``
    expanded, a relative path taken from the study file's ``folder``, normalised."""
    path = Path(expand_env(text)).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else folder / path))


def _named_settings(name: str, folder: Path, where: str) -> dict[str, Any]:
    """Settings mapping of a preset name or a settings YAML file (relative to ``folder``)."""
    if name in PRESETS:
        return settings_to_dict(load_preset(name))
    path = _study_file(name, folder)
    if not path.is_file():
        lowered = {p.lower(): p for p in PRESETS}
        near = difflib.get_close_matches(name.lower(), list(lowered), n=1)
        hint = f"; did you mean preset {lowered[near[0]]!r}?" if near else ""
        raise SettingsError(
            f"{where}: {name!r} is neither a preset ({', '.join(PRESETS)}) nor a settings "
            f"file (looked for {path}){hint}"
        )
    try:
        data: dict[str, Any] = safe_load_unique(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(
            f"{where}: settings file {path} is not valid YAML: {_yaml_problem(exc)}"
        ) from exc
    if data == {}:
        raise SettingsError(
            f"{where}: settings file {path} holds no settings (it is empty or only comments); "
            "write at least one key, or name a preset"
        )
    # validate the file on its own first so that its errors name it
    settings_from_dict(data, cls=ExtractionSettings, _where=str(path.name))
    return data


def resolve_tag_settings(tag: str, ts: TagSettings, folder: Path) -> ExtractionSettings:
    """The :class:`ExtractionSettings` of one tag (preset/file, then overrides)."""
    where = f"tags.{tag}"
    if isinstance(ts.settings, str):
        base, over = _named_settings(ts.settings, folder, f"{where}.settings"), {}
    else:
        base = _named_settings(ts.preset, folder, f"{where}.preset") if ts.preset else {}
        over = ts.settings or {}
    return settings_from_dict(
        _deep_merge(base, over), cls=ExtractionSettings, _where=f"{where}.settings"
    )


def study_from_dict(
    data: dict[str, Any],
    *,
    folder: Path,
    path: Path | None = None,
    require_landmarks: bool = True,
) -> Study:
    """Build a :class:`Study` from a mapping as read from a study file.

    Parameters
    ----------
    data : dict
        The study file's contents.
    folder : Path
        Folder that relative paths (manifest, data_root, settings files) start from.
    path : Path, optional
        The study file (for provenance).
    require_landmarks : bool
        Refuse a ``nyul_landmarks`` file that does not exist (default). False when the
        study is read to fit that file (``radiomix standardise fit``).

    Raises
    ------
    SettingsError
        Unknown key (with a suggestion), invalid value or unresolvable settings.
    """
    if not isinstance(data, dict):
        raise SettingsError("a study file must hold a mapping (manifest, tags, ...)")
    data = dict(data)
    tags = data.get("tags")
    if isinstance(tags, dict):
        converted: dict[str, Any] = {}
        for tag, value in tags.items():
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise SettingsError(
                    f"tags.{tag} must be a mapping (preset, settings, roi), got {value!r}"
                )
            converted[tag] = settings_from_dict(value, cls=TagSettings, _where=f"tags.{tag}")
        data["tags"] = converted
    for required in ("manifest", "tags"):
        if required not in data:
            raise SettingsError(f"the study file needs a {required!r} entry")
    analysis = data.pop("analysis", None)
    settings = settings_from_dict(data, cls=StudySettings)
    folder = Path(folder)
    fallback = None
    if settings.deep is not None and settings.deep.fallback == "random":
        deep, fallback = _resolve_fallback(settings.deep)
        settings = dataclasses.replace(settings, deep=deep)
    weights_given = None
    if settings.deep is not None and settings.deep.weights not in WEIGHTS_KEYWORDS:
        # a weight file: relative to the study file's folder, as the manifest and data_root
        # (not to the folder the command runs in, where another file of that name may be)
        weights_given = settings.deep.weights
        settings = dataclasses.replace(settings, deep=dataclasses.replace(
            settings.deep, weights=str(_study_file(weights_given, folder))))
    if analysis is not None:
        from radiomix.analysis.spec import analysis_from_dict

        settings = dataclasses.replace(
            settings, analysis=_expand_analysis_paths(analysis_from_dict(analysis)))
    manifest = _study_file(settings.manifest, folder)
    if settings.data_root is not None:
        root = _study_file(settings.data_root, folder)
    else:
        root = manifest.parent
    extraction = {t: resolve_tag_settings(t, ts, folder) for t, ts in settings.tags.items()}
    landmarks: dict[str, Path] = {}
    for tag, ext in extraction.items():
        name = ext.preprocess.nyul_landmarks
        if name is None:
            continue
        if settings.tags[tag].register_to is not None:
            raise SettingsError(
                f"tags.{tag}: normalise nyul and register_to together are not supported: the "
                "landmarks are fitted on native images, while a registered tag is analysed "
                "resampled onto the reference grid (other voxels, padded border); use zscore "
                "or minmax on the ROI, or do not register this tag"
            )
        lm = _study_file(name, folder)
        if require_landmarks and not lm.is_file():
            raise SettingsError(
                f"tags.{tag}.settings.preprocess.nyul_landmarks: landmarks file not found: {lm}"
                f" (write it with 'radiomix standardise fit STUDY --tag {tag} --out FILE'; "
                "relative paths start from the study file's folder)"
            )
        landmarks[tag] = lm
    return Study(
        path=Path(path) if path is not None else folder / "study.yaml",
        settings=settings,
        manifest=Path(os.path.normpath(manifest)),
        data_root=Path(os.path.normpath(root)),
        extraction=extraction,
        landmarks=landmarks,
        weights_fallback=fallback,
        deep_weights_given=weights_given,
    )


def _expand_path(text: str) -> str:
    """``text`` with ``${VAR}`` and a leading ``~`` expanded; a relative path stays
    relative (the reader takes it from the study file's folder)."""
    return str(Path(expand_env(text)).expanduser())


def _expand_analysis_paths(spec: AnalysisSettings) -> AnalysisSettings:
    """The ``analysis:`` section with ``${VAR}`` and ``~`` expanded in the files it names
    (``clinical``, each arm's ``stability``, ``leakage_audit.table``), as in the rest of
    the study file."""
    arms = tuple(dataclasses.replace(a, stability=_expand_path(a.stability))
                 if a.stability else a for a in spec.arms)
    audit = spec.leakage_audit
    if audit is not None:
        audit = dataclasses.replace(audit, table=_expand_path(audit.table))
    clinical = _expand_path(spec.clinical) if spec.clinical else spec.clinical
    return dataclasses.replace(spec, arms=arms, leakage_audit=audit, clinical=clinical)


def _resolve_fallback(deep: DeepOptions) -> tuple[DeepOptions, str | None]:
    """Random weights when the published file of ``deep.weights`` is not cached, and why
    (logged at debug level here: a command warns when it computes the deep features)."""
    import logging

    from radiomix.deep.weights import resolve_weights
    from radiomix.errors import WeightsError, WeightsNotFoundError

    if deep.weights not in ("imagenet", "medicalnet"):
        return deep, None
    try:
        resolve_weights(deep.weights, model=deep.model,
                        spatial_dims=3 if deep.mode == "3d" else 2, download=False)
    except WeightsNotFoundError:
        from radiomix.deep.weights import cache_dir, known_weights

        name = known_weights(deep.weights, deep.model, 3 if deep.mode == "3d" else 2).filename
        why = (f"deep.fallback: {name} is not in {cache_dir()}, so an untrained {deep.model} "
               f"(random weights) is used and flagged; put the file there to use "
               f"{deep.weights} weights")
        logging.getLogger(__name__).debug(why)
        return dataclasses.replace(deep, weights="random"), why
    except WeightsError as exc:  # a damaged or foreign file under the published name
        raise SettingsError(f"deep.weights: {exc}") from None
    return deep, None


def load_study(path: str | os.PathLike[str], *, require_landmarks: bool = True) -> Study:
    """Read and validate a study file (strictly: unknown keys are refused).

    Parameters
    ----------
    path : path
        The ``study.yaml`` file.
    require_landmarks : bool
        See :func:`study_from_dict`.

    Returns
    -------
    Study
        Settings with the manifest path, data root and per-tag settings resolved.

    Raises
    ------
    SettingsError
        Missing file, invalid YAML, unknown key (with the nearest valid key) or invalid
        value.

    Examples
    --------
    >>> study = load_study("examples/sts/study.yaml")  # doctest: +SKIP
    >>> study.tags  # doctest: +SKIP
    ('ct', 'pet', 'mr_t1')
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"study file not found: {path}") from None
    except IsADirectoryError:
        raise SettingsError(f"study file {path} is a folder; pass the study.yaml file") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"study file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
            f"position {exc.start}); save it as UTF-8 YAML"
        ) from None
    try:
        data = safe_load_unique(text)
    except yaml.YAMLError as exc:
        raise SettingsError(f"study file {path} is not valid YAML: {_yaml_problem(exc)}") from exc
    return study_from_dict(
        data, folder=path.resolve().parent, path=path.resolve(), require_landmarks=require_landmarks
    )
