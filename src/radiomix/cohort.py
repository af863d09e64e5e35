"""Cohort runs: a study file and its manifest to one feature table, crash-safe and parallel.

A *case* is one lesion seen through one image tag (``STS_003 / 1 / pet``). Each case is
extracted by :func:`radiomix.extraction.extract` and its outcome (features, or an error
record) is persisted at once as a small JSON file in ``OUT/cases/``, written atomically
(temporary file, then :func:`os.replace`) and named by the *case key*: a hash of the case's
identifiers, input file contents, ROI options, tag settings and radiomix version. A re-run
finds the files of unchanged cases and skips them, so a run killed at any moment (even
``kill -9``) resumes where it stopped; the tables are always assembled from the per-case
files of the current manifest, so no row can be duplicated or missing.

Outputs in ``OUT``:

``features.parquet``
    One row per lesion: the manifest identifiers, the clinical columns named in the study
    file, every tag's feature columns ``<tag>.<filter>.<family>.<feature>[.<aggregation>]``
    (tags in study order), ``settings_hash`` (of the whole study) and ``radiomix_version``.
    Provenance (resolved settings and settings hash of each tag, package versions, input
    file hashes and the worker of each case) is stored in the Parquet schema metadata
    (:func:`radiomix.table.read_provenance`).
``errors.parquet``
    One row per failed case: ``patient_id``, ``lesion_id``, ``tag``, ``stage`` (manifest,
    load, check, process, features, extract, worker), ``error_type``, ``message``.
``cases/``
    The per-case files.
``input_hashes.json``
    Remembered input file hashes (reused while size and modification time are unchanged).

Execution: in-process for ``jobs=1``, a local process pool for ``jobs > 1``, or Dask
distributed with ``scheduler="local"`` (a :class:`distributed.LocalCluster` of ``jobs``
single-threaded worker processes) or ``scheduler="tcp://host:port"`` (an existing cluster
whose workers can import radiomix and read the input files). Every mode runs the same
function on each case and the table is built from the same files, so the results are
identical to a serial run.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import logging
import math
import os
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from radiomix.errors import (
    DependencyError,
    InputError,
    InputNotFoundError,
    OutputLockedError,
    SettingsError,
    UsageError,
    WorkersLostError,
)
from radiomix.settings import ExtractionSettings
from radiomix.settings.study import RESERVED_COLUMNS, Study, load_study
from radiomix.table import removed_on_failure

if TYPE_CHECKING:
    from radiomix._fork_warmup import Handoff
    from radiomix.deep import DeepSettings
    from radiomix.extraction import OtherLesion, Reference
    from radiomix.io.manifest import ManifestRow
    from radiomix.process.normalise import StandardScale

log = logging.getLogger(__name__)

CASE_FORMAT = 1
"""Version of the per-case file layout (part of the case key)."""

FEATURE_REVISION = 9
"""Revision of what a case computes for given inputs and settings (feature definitions, the
checks that refuse a case), part of the case key: raised with every change that alters a
value or a refusal (2: asymmetric GLCM directions, the coefficient of variation of a
zero-mean ROI, doubled CT refused; 3: a rescaled or relabelled mask given as the image
refused, notes on a one-grey-level or one-voxel-thick ROI and on PET in activity units; 4:
the crop margin raised to what features read, nearest-neighbour ties settled alike; 5: a
float32 spacing taken as its decimal for the interpolation grid; PET and MR slices rescaled
apart from their neighbours, contradictory injection times and non-finite landmarks
refused; 6: a periodic filter near an image border wraps around the whole image, not the
crop; interpolated values computed from whole-grid positions, the same from any crop; a
maximum tied to rounding shared by the local intensity peak; pixel padding and CT fills
refused in the ROI and where processing reads around it; a tie for the largest slice
settled without the storage order; rings without other lesions' voxels; a registration
within 1 % of its start's metric kept; 7: a ring leaves out the
patient's other lesions in masks of their own; no data refused in a ring and where
features read around the ROI's voxels, not its bounding box; a symmetric tie for the
largest slice settled by the slices' place in the patient; a response map zero within
rounding not computed; 8: the case code part of the key; 9: 3D deep embeddings through
MedicalNet's dilated stages, deep inputs that would be all fill refused, NRRD/MetaImage
geometry fields without a number and complex masks refused, PET SUV inputs compared as
values), so that a cache made
before it is recomputed instead of mixing old numbers into a new table. The package
version alone does not move between such changes."""

CASES_DIR = "cases"
FEATURES_FILE = "features.parquet"
ERRORS_FILE = "errors.parquet"
DEEP_SLICES_FILE = "deep_slices.parquet"
HASHES_FILE = "input_hashes.json"
ERROR_COLUMNS = ("patient_id", "lesion_id", "tag", "stage", "error_type", "message")

Stage = Literal["manifest", "load", "check", "process", "features", "extract", "worker"]
_STAGE_MODULES = (
    ("radiomix.io", "load"),
    ("radiomix.check", "check"),
    ("radiomix.process", "process"),
    ("radiomix.roi", "features"),
    ("radiomix.features", "features"),
)


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True, slots=True)
class CaseTask:
    """Everything a worker needs to extract one case (picklable, no open files).

    Attributes
    ----------
    key : str
        Case key (hash of identifiers, input contents, ROI options, settings, version).
    patient_id, lesion_id, tag : str
        Identifiers of the case.
    image, mask : str or None
        Input paths.
    label, roi_name, resample_mask
        ROI options (manifest cell, else the study default).
    settings : ExtractionSettings
        Settings of the tag.
    problem : tuple of (stage, error type, message) or None
        A problem known before extraction (empty manifest cell, missing file); the case
        then becomes this error without running.
    deep : DeepSettings or None
        Deep-feature options when this tag is embedded.
    organ : str or None
        Organ mask clipping the peritumoral ring (``preprocess.ring_clip: organ``).
    reference : Reference or None
        Reference image this tag is registered onto (``register_to``).
    standard_scale : StandardScale or None
        Landmarks of ``preprocess.normalise: nyul``.
    keep_slices : bool
        Keep the slice embeddings in the case record (``deep.keep_slices``).
    modality : str or None
        The tag's declared modality (``CT`` checks that the image holds HU).
    other_lesions : tuple of OtherLesion
        The patient's other lesions on this image, in masks of their own (other manifest
        rows), which a peritumoral ring leaves out.
    client : (version, feature revision, case code) or None
        The radiomix that planned the task (:func:`identity`, in its key): a worker of
        another one refuses it.
    """

    key: str
    patient_id: str
    lesion_id: str
    tag: str
    image: str | None
    mask: str | None
    label: int | None
    roi_name: str | None
    resample_mask: bool
    settings: ExtractionSettings
    problem: tuple[str, str, str] | None = None
    deep: DeepSettings | None = None
    organ: str | None = None
    reference: Reference | None = None
    standard_scale: StandardScale | None = None
    keep_slices: bool = False
    modality: str | None = None
    other_lesions: tuple[OtherLesion, ...] = ()
    client: tuple[str, int, str] | None = None

    @property
    def case_id(self) -> str:
        """``patient/lesion/tag``, used in messages and logs."""
        return f"{self.patient_id}/{self.lesion_id}/{self.tag}"


@dataclass(frozen=True, slots=True)
class Progress:
    """State of a cohort run, passed to the ``progress`` callback of :func:`run_study`.

    Attributes
    ----------
    event : {"start", "case", "end"}
        ``start`` once after the per-case files were scanned, ``case`` after each
        computed case, ``end`` once when the tables are written.
    total : int
        Number of cases (lesions × tags) in the manifest.
    cached : int
        Cases skipped because their per-case file is current.
    todo : int
        Cases to compute in this run (``total - cached``).
    computed : int
        Cases computed so far in this run.
    failed : int
        Failed cases so far (cached failures included).
    case : str or None
        ``patient/lesion/tag`` of the case just finished (``case`` events).
    status : str or None
        ``ok`` or ``error`` for that case.
    elapsed_s : float
        Seconds since the run started.
    case_s : float or None
        Seconds the case just finished took in its worker (``case`` events; None when its
        worker did not say, as for a case whose Dask task was lost).
    """

    event: Literal["start", "case", "end"]
    total: int
    cached: int
    todo: int
    computed: int
    failed: int
    case: str | None = None
    status: str | None = None
    elapsed_s: float = 0.0
    case_s: float | None = None


@dataclass(frozen=True, slots=True)
class StudyResult:
    """Summary of a cohort run.

    Attributes
    ----------
    features_path, errors_path : Path
        The written tables.
    n_lesions : int
        Lesions in the manifest.
    n_rows : int
        Rows of the feature table.
    n_cases, n_cached, n_computed, n_failed : int
        Cases in all, skipped as current, computed in this run, failed (all runs).
    n_failed_cached : int
        Of the failed cases, those whose failure was read back from an earlier run (same
        inputs and settings: not computed again).
    errors : tuple of dict
        The error records (columns of the errors table).
    """

    features_path: Path
    errors_path: Path
    n_lesions: int
    n_rows: int
    n_cases: int
    n_cached: int
    n_computed: int
    n_failed: int
    errors: tuple[dict[str, str], ...] = field(default_factory=tuple)
    n_failed_cached: int = 0

    @property
    def ok(self) -> bool:
        """True when no case failed."""
        return self.n_failed == 0


def _worker_name() -> str:
    """Dask worker address inside a Dask task, else ``process-<pid>``."""
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            return str(get_worker().address)
        except (ImportError, ValueError):
            pass
    return f"process-{os.getpid()}"


def _peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, in MiB (None where unavailable)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _stage_of(exc: BaseException) -> str:
    """Processing stage where ``exc`` was raised: the innermost radiomix module of its
    traceback (load, check, process, features), else ``extract``."""
    stage = "extract"
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        for prefix, name in _STAGE_MODULES:
            if module == prefix or module.startswith(prefix + "."):
                stage = name
        tb = tb.tb_next
    return stage


def _plain(value: Any) -> Any:
    """JSON-compatible scalar (numpy scalars to Python numbers)."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def _plain_tree(value: Any) -> Any:
    """JSON-compatible copy of nested provenance (numpy scalars to Python numbers)."""
    return json.loads(
        json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )


def _unnamed(task: CaseTask, message: str) -> str:
    """``message`` (an error or a warning of the case) with the case's inputs named by tag
    (``<ct image>``, ``<ct mask>``, ``<file>`` for a file of an input folder) and any other
    absolute path as ``<path>`` (:func:`radiomix.privacy.redact_paths`): folder and file
    names often carry who the patient is, and what a case says reaches its kept record, the
    console, the error table, the analysis document and the report."""
    from radiomix.privacy import redact_paths

    inputs = {f"<{task.tag} image>": task.image, f"<{task.tag} mask>": task.mask,
              f"<{task.tag} organ mask>": task.organ}
    if task.reference is not None:
        inputs[f"<{task.reference.tag} image>"] = str(task.reference.image)
    return redact_paths(message, inputs, keep=(task.case_id, task.patient_id))


def _error_record(
    task: CaseTask, stage: str, error_type: str, message: str, *, cacheable: bool
) -> dict[str, Any]:
    """The record of a failed case; its message names the case's inputs by tag, never by
    path (:func:`radiomix.privacy.redact_paths`: folder names often carry who the patient
    is, and the record reaches the error table, the analysis document and the report)."""
    message = _unnamed(task, message)
    return {
        "format": CASE_FORMAT,
        "key": task.key,
        "patient_id": task.patient_id,
        "lesion_id": task.lesion_id,
        "tag": task.tag,
        "status": "error",
        "cacheable": cacheable,
        "error": {"stage": stage, "error_type": error_type, "message": message},
    }


def run_case(task: CaseTask) -> dict[str, Any]:
    """Extract one case; never raises for a problem of the case.

    Parameters
    ----------
    task : CaseTask
        The case.

    Returns
    -------
    dict
        The per-case record: identifiers, ``status`` (``ok`` or ``error``), ``features``
        and ``provenance`` (ok) or ``error`` (stage, error type, message), ``cacheable``
        (false for unexpected errors, which a re-run retries) and ``run`` (worker,
        seconds, peak memory of the worker process).
    """
    from radiomix._threads import one_blas_thread

    t0 = time.perf_counter()
    # one BLAS/OpenMP thread per case: workers run side by side (idle BLAS threads spin and
    # take the other worker's core), and a case's values never depend on the thread count
    with one_blas_thread(), case_warnings(functools.partial(_unnamed, task)) as said:
        record = _case_record(task)
    if said:
        record["warnings"] = said
    record["run"] = {
        "worker": _worker_name(),
        "seconds": round(time.perf_counter() - t0, 3),
        "peak_rss_mb": _peak_rss_mb(),
    }
    return record


class _Collect(logging.Handler):
    """Keeps the distinct messages of the warnings logged by this thread while one case
    runs (a Dask worker with several threads runs cases side by side)."""

    def __init__(self, redact: Callable[[str], str] | None = None) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.thread = threading.get_ident()
        self.redact = redact

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        message = record.getMessage()
        if self.redact is not None:
            message = self.redact(message)
        message = " ".join(message.split())
        if message not in self.messages:
            self.messages.append(message)


@contextlib.contextmanager
def case_warnings(redact: Callable[[str], str] | None = None) -> Iterator[list[str]]:
    """The warnings radiomix logs while a case runs, kept for its record instead of printed
    where the case runs: a worker process has no console of the run (its records went to
    Python's last-resort handler, bare and once per worker), and the run prints them with
    the case they belong to (:func:`say_case_warnings`). One case at a time per process.

    Parameters
    ----------
    redact : callable, optional
        Applied to each message before it is kept: the case's input paths and file names
        named by tag, as its error message is (:func:`_unnamed`); a warning naming an
        RTSTRUCT file ``RS_DOE_JOHN.dcm`` reached the kept record and the console.
    """
    logger = logging.getLogger("radiomix")
    handler = _Collect(redact)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def say_case_warnings(case: str, warnings: Sequence[str] | None,
                      said: dict[str, int] | None = None) -> None:
    """Log the warnings a computed case kept (:func:`case_warnings`), each naming the case
    (unless it already begins with it).

    ``said`` holds the messages said so far in the run (message -> how many later cases
    repeated it): a message already said for another case is counted there, not printed
    again (an untrained network that each worker process reports at its first case, a
    setting's note that every case repeats), and :func:`say_repeated` counts them at the
    end of the run. Each case's record keeps its own warnings either way."""
    prefix = f"{case}:"
    for message in warnings or ():
        text = message[len(prefix):].lstrip() if message.startswith(prefix) else message
        if said is not None:
            if text in said:
                said[text] += 1
                continue
            said[text] = 0
        log.warning("%s: %s", case, text)


def say_repeated(said: dict[str, int]) -> None:
    """Say how many more cases repeated each warning :func:`say_case_warnings` said once."""
    for text, more in said.items():
        if more:
            short = text if len(text) <= 80 else text[:77] + "..."
            log.warning("the warning %r was repeated by %d more case(s) of this run, not "
                        "printed again (each case's record keeps the warnings it raised)",
                        short, more)


def _case_record(task: CaseTask) -> dict[str, Any]:
    """The record of :func:`run_case` without its ``run`` entry."""
    from radiomix.extraction import extract

    other = _other_radiomix(task)
    if other is not None:  # a worker of another radiomix: its numbers are not the key's
        record = _error_record(task, "worker", "WorkerVersionError", other, cacheable=False)
    elif task.problem is not None:
        record = _error_record(task, *task.problem, cacheable=True)
    else:
        try:
            result = extract(
                task.image,  # type: ignore[arg-type]
                task.mask,  # type: ignore[arg-type]
                settings=task.settings,
                label=task.label,
                roi_name=task.roi_name,
                resample_mask=task.resample_mask,
                tag=task.tag,
                case_id=task.case_id,
                deep=task.deep,
                organ_mask=task.organ,
                reference=task.reference,
                standard_scale=task.standard_scale,
                modality=task.modality,
                other_lesions=task.other_lesions,
            )
            prov = result.provenance
            record = {
                "format": CASE_FORMAT,
                "key": task.key,
                "patient_id": task.patient_id,
                "lesion_id": task.lesion_id,
                "tag": task.tag,
                "status": "ok",
                "cacheable": True,
                "features": {k: _plain(v) for k, v in result.features.items()},
                "provenance": {
                    "settings_hash": prov.get("settings_hash"),
                    "inputs": prov.get("inputs"),
                    "roi_voxels": _plain(prov.get("roi_voxels")),
                    "processed_spacing_mm_zyx": prov.get("processed_spacing_mm_zyx"),
                    # notes may name an input file (a header's qform/sform): by tag here
                    "notes": {k: _unnamed(task, str(v)) for k, v in
                              (prov.get("notes") or {}).items()},
                    **{
                        k: _plain_tree(prov[k])
                        for k in ("deep", "registration", "standardisation")
                        if k in prov
                    },
                },
            }
            if task.keep_slices and result.deep_slices is not None:
                sl = result.deep_slices
                cols = [c for c in sl.columns if c != "slice_index"]
                record["deep_slices"] = {
                    "slice_index": [int(i) for i in sl["slice_index"]],
                    "columns": cols,
                    "values": sl[cols].to_numpy(dtype=float).tolist(),
                }
        except InputError as exc:
            # a file this process cannot see (a worker without the data) is not the case's
            # result: a re-run, once the worker sees it, computes the case
            unseen = isinstance(exc, InputNotFoundError)
            where = _dask_worker() if unseen else None
            message = str(exc) if where is None else (
                f"{exc} on the Dask worker {where}, which cannot see this file: give every "
                "worker the data at the same paths (a shared mount), or run without "
                "--scheduler")
            record = _error_record(task, _stage_of(exc), type(exc).__name__, message,
                                   cacheable=not unseen)
        except Exception as exc:  # a case must never end the run
            frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
            record = _error_record(
                task,
                _stage_of(exc),
                type(exc).__name__,
                f"unexpected error{where}: {exc} (this is likely a bug in radiomix; please "
                "report it with the error type and location)",
                cacheable=False,
            )
            log.debug("case %s failed", task.case_id, exc_info=True)
    return record


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start processes that ignore SIGINT (inherited by the worker processes started
    meanwhile): a terminal's Ctrl-C reaches every process of the foreground group, and the
    local cluster's workers printed a traceback each; this process stops them itself."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _other_radiomix(task: CaseTask) -> str | None:
    """Why this process cannot compute ``task`` for its client: another radiomix version,
    feature revision or case code (:func:`case_code`) than the one whose case key the task
    carries (a Dask worker with another install), in one line; ``None`` when they match or
    the task does not say."""
    if task.client is None:
        return None
    mine = identity()
    if tuple(task.client) == mine:
        return None
    where = _dask_worker()
    theirs = tuple(task.client) + ("",) * (3 - len(task.client))
    return (f"{'the Dask worker ' + where if where else 'this worker'} runs radiomix "
            f"{mine[0]} (feature revision {mine[1]}, case code {mine[2]}) and the run "
            f"radiomix {theirs[0]} (revision {theirs[1]}, case code {theirs[2] or '?'}): its "
            "numbers would be filed as the run's; install the run's radiomix on every worker")


_NOT_CASE_CODE = frozenset({"analysis", "model", "evaluate", "report", "demo", "stability"})
"""Parts of the package that never compute a case (top-level folders and modules, ``cli*``
too): their source is not in :func:`case_code`."""


@functools.cache
def case_code() -> str:
    """Fingerprint (16 hex digits, BLAKE2b) of the source of the radiomix modules that
    compute a case: reading, checks, processing, filters, features, deep embeddings and
    this runner.

    Part of the case key and of a task's :func:`identity`, so that a cache written by other
    case code of the same version (a development tree, a patched install) is recomputed,
    and a Dask worker running other code is refused, even where :data:`FEATURE_REVISION`
    was not raised. The analysis, model, report and CLI code is left out: changing it
    keeps the cases.
    """
    root = Path(__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        top = rel.split("/")[0].removesuffix(".py")
        if top in _NOT_CASE_CODE or top.startswith("cli"):
            continue
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def identity() -> tuple[str, int, str]:
    """What a case computed here depends on besides its inputs and settings: the radiomix
    version, :data:`FEATURE_REVISION` and :func:`case_code`."""
    return (_own_version(), FEATURE_REVISION, case_code())


@functools.cache
def _own_version() -> str:
    from radiomix.table import package_versions

    return str(package_versions(("radiomix",))["radiomix"])


def _dask_worker() -> str | None:
    """The address of the Dask worker running this code, ``None`` outside one."""
    if "distributed" not in sys.modules:
        return None
    from distributed import get_worker

    try:
        address = str(get_worker().address)
    except ValueError:
        return None
    return address.split("://", 1)[-1]  # host:port (a URL reads as a path to redact)


# --------------------------------------------------------------------------- persistence


class CaseStore:
    """Per-case files ``<key>.json`` in a folder, written atomically.

    Parameters
    ----------
    folder : Path
        The ``cases`` folder (created when missing).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        for tmp in self.folder.glob(".*.tmp"):  # left by a killed run
            tmp.unlink(missing_ok=True)
        self.unchecked = 0  # records of an earlier radiomix, without a checksum (redone)

    @staticmethod
    def checksum(record: Mapping[str, Any]) -> str:
        """SHA-256 of a record's canonical JSON (sorted keys, its ``checksum`` entry left
        out): written with the record and compared when it is read back, so that a record
        edited or cut by hand (a feature removed, a value changed) is redone rather than
        put in the table."""
        body = {k: v for k, v in record.items() if k != "checksum"}
        text = json.dumps(body, sort_keys=True, allow_nan=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def path(self, key: str) -> Path:
        """File of one case key."""
        return self.folder / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        """The record of ``key``, or None when absent or unreadable."""
        path = self.path(key)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable case file %s (%s); the case is redone", path.name, exc)
            return None
        if (
            not isinstance(record, dict)
            or record.get("key") != key
            or record.get("format") != CASE_FORMAT
        ):
            log.warning("ignoring case file %s of another format; the case is redone", path.name)
            return None
        if "checksum" not in record:  # written before records had one: cannot be checked
            self.unchecked += 1
            log.debug("case file %s has no checksum; the case is redone", path.name)
            return None
        if record["checksum"] != self.checksum(record):
            log.warning("case record %s damaged (its content does not match its checksum: "
                        "edited or cut short by hand?), the case is redone", path.name)
            return None
        return record

    def save(self, record: dict[str, Any]) -> Path:
        """Write a record atomically (temporary file, fsync, :func:`os.replace`), with its
        :meth:`checksum` (the record given is left as it is)."""
        path = self.path(record["key"])
        tmp = self.folder / f".{record['key']}.{os.getpid()}.tmp"
        body = {k: v for k, v in record.items() if k != "checksum"}
        # key order kept: it is the column order
        data = json.dumps({**body, "checksum": self.checksum(body)}, allow_nan=True)
        with removed_on_failure(tmp):
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        return path


# --------------------------------------------------------------------------- planning


def _file_stats(folder: Path) -> list[tuple[str, os.stat_result]]:
    """Every file under ``folder`` (recursively, sorted) with its ``stat``: what an input
    folder (a DICOM series) holds, for its signature and its size."""
    return [(str(f.relative_to(folder)), f.stat()) for f in sorted(folder.rglob("*"))
            if f.is_file()]


class InputHashes:
    """SHA-256 of input files and folders, remembered between runs.

    A hash is reused while the file's (or every file of a folder's) size, times and inode
    are unchanged (:meth:`signature`); so a re-run of a large cohort does not
    read every image again to find the unchanged cases. The worker hashes the files it
    reads again for the per-case provenance.

    Parameters
    ----------
    path : Path or None
        JSON file of remembered hashes (``OUT/input_hashes.json``); None: no memory.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.known: dict[str, list[str]] = {}
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict):
                    self.known = {k: v for k, v in data.items() if isinstance(v, list)}
            except (OSError, ValueError):
                log.info("ignoring unreadable %s; inputs are hashed again", path.name)

    @staticmethod
    def signature(path: Path) -> str:
        """Hash of the size, modification time, status-change time and inode of a file (of
        each of a folder's files). The status-change time moves on every write and cannot
        be set back (``touch -r`` restores the modification time only), so a file edited in
        place is hashed again even when its size and modification time were restored."""
        from radiomix.io.image import detached_data_files

        if path.is_dir():
            items: list[Any] = [[name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
                                for name, st in _file_stats(path)]
        else:  # a header with its voxel data files (.mhd, .nhdr)
            items = [[st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
                     for st in (p.stat() for p in (path, *detached_data_files(path)))]
        return hashlib.sha256(json.dumps(items).encode()).hexdigest()

    @staticmethod
    def entry(path: Path) -> str:
        """The key of a path in the file: a hash of the path, so that the file names no
        folder (folder names may identify patients)."""
        return hashlib.sha256(str(path).encode()).hexdigest()[:32]

    def __call__(self, path: Path | None, what: str) -> tuple[str | None, str | None]:
        """(sha256, problem) of an input path (problem: missing or unreadable)."""
        from radiomix.table import file_hash

        if path is None:
            return None, None
        if not path.exists():
            return None, f"{what} not found: {path}"
        try:
            sig = self.signature(path)
            known = self.known.get(self.entry(path))
            if known is not None and known[0] == sig:
                return known[1], None
            digest = file_hash(path)
        except OSError as exc:
            return None, f"{what} cannot be read: {path} ({exc})"
        self.known[self.entry(path)] = [sig, digest]
        return digest, None

    def save(self) -> None:
        """Write the remembered hashes atomically."""
        if self.path is None:
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with removed_on_failure(tmp):
            tmp.write_text(json.dumps(self.known, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)


def _weights_key(deep: Any) -> str | None:
    """SHA-256 of the weight file the study's deep features read, for the case keys: a file
    replaced at the same path (fine-tuned, or the published file put where another was)
    makes every deep case current no more. ``None`` without deep features or for random
    weights; ``"unresolved"`` when the file cannot be found or checked (the case then fails
    with the reason when computed, and is computed again once the file is there)."""
    if deep is None or deep.weights == "random":
        return None
    from radiomix.deep.weights import resolve_weights
    from radiomix.errors import WeightsError

    try:
        source = resolve_weights(deep.weights, model=deep.model,
                                 spatial_dims=3 if deep.mode == "3d" else 2, download=False)
    except WeightsError:
        return "unresolved"
    return source.sha256


def case_key(
    *,
    patient_id: str,
    lesion_id: str,
    tag: str,
    inputs: dict[str, Any],
    roi: dict[str, Any],
    settings_hash: str,
    version: str,
) -> str:
    """Case key: SHA-256 (32 hex digits) of the identifiers, the input file hashes (or the
    problem found with the inputs), the ROI options, the tag's settings hash, the radiomix
    version, the feature revision (:data:`FEATURE_REVISION`), the case code
    (:func:`case_code`) and the per-case file format.

    Examples
    --------
    >>> k = case_key(patient_id="P1", lesion_id="1", tag="ct", inputs={"image_sha256": "ab"},
    ...              roi={"label": 1}, settings_hash="0123", version="0.1.0")
    >>> len(k), k == case_key(patient_id="P1", lesion_id="1", tag="ct",
    ...     inputs={"image_sha256": "ab"}, roi={"label": 1}, settings_hash="0123", version="0.1.0")
    (32, True)
    """
    blob = json.dumps(
        {
            "format": CASE_FORMAT,
            "features": FEATURE_REVISION,
            "code": case_code(),
            "ids": [patient_id, lesion_id, tag],
            "inputs": inputs,
            "roi": roi,
            "settings_hash": settings_hash,
            "radiomix": version,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def manifest_rows(study: Study, *, carry: tuple[str, ...] = ()) -> list[ManifestRow]:
    """The study's manifest rows, with the columns ``carry`` kept on each row."""
    from radiomix.io.manifest import read_manifest

    cols = study.settings.columns
    rows = read_manifest(
        study.manifest,
        tags=study.tags,
        data_root=study.data_root,
        patient_column=cols.patient_id,
        lesion_column=cols.lesion_id,
        carry=carry,
        mask_optional=study.registered_tags,
    )
    _check_id_spellings(study, rows)
    return rows


def _check_id_spellings(study: Study, rows: Sequence[ManifestRow]) -> None:
    """Refuse two ids written apart that name one patient, or one lesion of a patient: the
    same number written differently (``1``, ``01``, ``1.0``: a spreadsheet that dropped
    leading zeros in part of a column) or only letter case or Unicode form apart
    (:func:`radiomix.text_keys.value_key`). Read as two, a patient-grouped split could put
    one patient on both sides, or one lesion's features would be in the table twice.

    Raises
    ------
    SettingsError
        Naming the manifest lines of the two spellings.
    """
    from radiomix.text_keys import value_key

    cols = study.settings.columns
    patients: dict[str, tuple[str, int]] = {}  # patient key -> id, line
    lesions: dict[tuple[str, str], tuple[str, int]] = {}  # (patient, lesion key) -> id, line
    for row in rows:
        first, line = patients.setdefault(value_key(row.patient_id),
                                          (row.patient_id, row.line))
        if first != row.patient_id:
            what = (f"{cols.patient_id} {row.patient_id!r} names the patient {first!r}",
                    "two patients, a patient-grouped split could put one patient on both "
                    "sides; write each patient's id alike, or give distinct patients distinct "
                    "ids")
        else:
            first, line = lesions.setdefault((row.patient_id, value_key(row.lesion_id)),
                                             (row.lesion_id, row.line))
            if first == row.lesion_id:
                continue
            what = (f"{cols.lesion_id} {row.lesion_id!r} of {cols.patient_id} "
                    f"{row.patient_id!r} names the lesion {first!r}",
                    "two lesions, one lesion would be in the table twice; write each "
                    "lesion's id alike, or give distinct lesions distinct ids")
        raise SettingsError(
            f"manifest {study.manifest.name} line {row.line}: {what[0]} of line {line} "
            "written differently (the same number, or only letter case or Unicode form "
            f"apart): read as {what[1]}")


def _check_organ_columns(study: Study, rows: Sequence[ManifestRow]) -> None:
    """Refuse a filled ``<tag>_organ`` manifest column of a tag whose settings do not clip
    the peritumoral ring by an organ (``preprocess.ring_clip: organ``): the organ masks
    would be read by nobody, and the user would believe the ring clipped."""
    for tag in study.tags:
        clip = study.extraction[tag].preprocess.ring_clip
        if clip == "organ":
            continue
        lines = [row.line for row in rows
                 if (spec := row.inputs.get(tag)) is not None and spec.organ is not None]
        if lines:
            raise SettingsError(
                f"manifest column {tag}_organ gives organ masks ({len(lines)} row(s), first "
                f"on line {lines[0]}) but tag {tag} has preprocess.ring_clip {clip}, so they "
                "would be ignored: an organ mask only clips the peritumoral ring; empty the "
                f"column, or set preprocess: {{roi: ring, ring_outer_mm: MM, ring_clip: organ}}"
                f" in the settings of {tag}"
            )


def tags_absent(study: Study, rows: Sequence[Any], *, shown: int = 10) -> str | None:
    """One line naming the lesions that have no image for some of the study's tags (both
    manifest cells empty: "not acquired"), ``None`` when every lesion has every tag.

    Such a lesion is written with those tags' columns empty, which an analysis imputes
    inside its training folds: said once per run, so that no lesion enters a table with
    missing modalities without a word.
    """
    lacking = [(row, [t for t in study.tags if row.inputs.get(t) is None]) for row in rows]
    lacking = [(row, tags) for row, tags in lacking if tags]
    if not lacking:
        return None
    named = ", ".join(f"{row.patient_id}/{row.lesion_id} ({', '.join(tags)})"
                      for row, tags in lacking[:shown])
    more = f" and {len(lacking) - shown} more" if len(lacking) > shown else ""
    return (f"{len(lacking)} of {len(rows)} lesion(s) have no image for some tag(s) (both "
            f"manifest cells empty): {named}{more}; their columns of those tags stay empty in "
            "the feature table, and an analysis imputes them inside its training folds: fill "
            "the cells where the images exist")


def plan_cases(
    study: Study, *, hashes: InputHashes | None = None
) -> tuple[list[Any], list[CaseTask]]:
    """Read the manifest and make one task per lesion and available tag.

    Parameters
    ----------
    study : Study
        The loaded study.
    hashes : InputHashes, optional
        Input hashing with memory between runs (default: hash every input).

    Returns
    -------
    rows : list of ManifestRow
        Lesions in manifest order.
    tasks : list of CaseTask
        Cases in manifest order, tags in study order.
    """
    from radiomix.process.normalise import check_scale_fits, load_standard_scale
    from radiomix.settings import settings_to_dict

    cols = study.settings.columns
    rows = manifest_rows(study, carry=cols.carried)

    version = _own_version()
    tag_hashes = study.tag_hashes()
    scales = {tag: load_standard_scale(path) for tag, path in study.landmarks.items()}
    for tag, fitted in scales.items():
        pre = study.extraction[tag].preprocess
        check_scale_fits(fitted, tag=tag, name=study.landmarks[tag].name,
                         bias_field=pre.bias_field, smoothing_sigma_mm=pre.smoothing_sigma_mm,
                         modality=study.settings.tags[tag].modality)
    input_hash = hashes if hashes is not None else InputHashes()
    weights_key = _weights_key(study.settings.deep)
    _check_organ_columns(study, rows)
    on_image = _lesions_on_image(study, rows)
    tasks: list[CaseTask] = []
    for row in rows:
        for tag in study.tags:
            spec = row.inputs[tag]
            if spec is None:
                continue
            ts = study.settings.tags[tag]
            defaults = ts.roi
            label = spec.label if spec.label is not None else defaults.label
            roi_name = spec.roi_name if spec.roi_name is not None else defaults.roi_name
            mask_path, organ_path = spec.mask, spec.organ
            problem: tuple[str, str, str] | None = None
            if spec.problem is not None:
                problem = ("manifest", "InputError", spec.problem)
            reference = None
            ref_tag = ts.register_to
            if ref_tag is not None and problem is None:
                ref_spec = row.inputs[ref_tag]
                reg = ts.registration_settings
                assert reg is not None
                if ref_spec is None or ref_spec.problem is not None:
                    why = "no image" if ref_spec is None else f"a problem: {ref_spec.problem}"
                    problem = (
                        "manifest",
                        "InputError",
                        f"manifest line {row.line}: {tag} is registered to {ref_tag}, but "
                        f"the lesion's {ref_tag} has {why}",
                    )
                else:
                    if spec.organ is not None:
                        problem = (
                            "manifest",
                            "InputError",
                            f"manifest line {row.line}: {tag} is registered to {ref_tag}; its "
                            f"organ mask is the reference's: fill {ref_tag}_organ and leave "
                            f"{tag}_organ empty",
                        )
                    organ_path = ref_spec.organ
                    if mask_path is None:  # one segmentation, drawn on the reference
                        ref_roi = study.settings.tags[ref_tag].roi
                        mask_path = ref_spec.mask
                        label = ref_spec.label if ref_spec.label is not None else ref_roi.label
                        roi_name = (
                            ref_spec.roi_name if ref_spec.roi_name is not None else ref_roi.roi_name
                        )
                    assert ref_spec.image is not None
                    from radiomix.extraction import Reference  # the extraction stack: only here

                    reference = Reference(
                        image=str(ref_spec.image),
                        settings=reg,
                        tag=ref_tag,
                        mask_on="image" if spec.mask is not None else "reference",
                    )
            roi: dict[str, Any] = {
                "label": label,
                "roi_name": roi_name,
                "resample_mask": defaults.resample_mask,
            }
            if ts.modality is not None:  # declared CT or PT: its checks refuse other cases
                roi["modality"] = ts.modality
            if reference is not None:  # part of the case key only when used
                roi["register_to"] = reference.tag
                roi["registration"] = settings_to_dict(reference.settings)
                roi["mask_on"] = reference.mask_on
            deep = study.settings.deep
            embed_tag = deep is not None and (deep.tags is None or tag in deep.tags)
            if embed_tag:
                roi["deep"] = study.to_dict()["deep"]  # part of the case key
            clip = study.extraction[tag].preprocess.ring_clip == "organ"
            organ_column = f"{ref_tag}_organ" if ref_tag is not None else f"{tag}_organ"
            if clip and organ_path is None and problem is None:
                problem = (
                    "manifest",
                    "InputError",
                    f"manifest line {row.line}: preprocess.ring_clip is organ but "
                    f"{organ_column} is empty; give the organ mask, or set ring_clip: none",
                )
            if clip and organ_path is not None and problem is None:
                from radiomix.case import check_organ_mask

                try:  # an organ option the kind of organ mask cannot use
                    check_organ_mask(organ_path, study.extraction[tag].preprocess)
                except UsageError as exc:
                    problem = ("manifest", "InputError",
                               f"manifest line {row.line}, column {organ_column}: {exc}")
            inputs: dict[str, Any]
            if problem is not None:
                inputs = {"problem": problem[2]}
            else:
                mask_column = f"{tag}_mask" if mask_path == spec.mask else f"{ref_tag}_mask"
                files = [("image", spec.image, f"{tag}_image"), ("mask", mask_path, mask_column)]
                if reference is not None:
                    files.append(("reference_image", Path(reference.image), f"{ref_tag}_image"))
                if clip:
                    files.append(("organ", organ_path, organ_column))
                inputs, found = {}, []
                for what, path, _ in files:
                    digest, trouble = input_hash(path, f"{tag} {what.replace('_', ' ')}")
                    inputs[f"{what}_sha256"] = digest or f"missing:{path}"
                    if trouble:
                        found.append(trouble)
                if found:
                    columns = " / ".join(c for _, _, c in files)
                    message = "; ".join(found) + f" (manifest line {row.line}, columns {columns})"
                    problem = ("load", "InputError", message)
            others: tuple[OtherLesion, ...] = ()
            if (study.extraction[tag].preprocess.roi == "ring" and reference is None
                    and problem is None and spec.image is not None):
                others = tuple(o for o in on_image.get(
                    (row.patient_id, tag, Path(spec.image).resolve()), ())
                    if o.lesion_id != row.lesion_id)
                for other in others:  # the ring changes with where they are
                    digest, trouble = input_hash(Path(other.mask), f"{tag} mask")
                    if trouble:
                        problem = ("load", "InputError", (
                            f"{trouble} (lesion {other.lesion_id} of this patient, whose "
                            f"voxels the ring of lesion {row.lesion_id} leaves out)"))
                    roi.setdefault("other_lesions", []).append(
                        [other.lesion_id, digest, other.label, other.roi_name])
            scale = scales.get(tag)
            if scale is not None:
                inputs["landmarks_sha256"] = scale.sha256
            if embed_tag and weights_key is not None:
                inputs["weights_sha256"] = weights_key
            key = case_key(
                patient_id=row.patient_id,
                lesion_id=row.lesion_id,
                tag=tag,
                inputs=inputs,
                roi=roi,
                settings_hash=tag_hashes[tag],
                version=version,
            )
            tasks.append(
                CaseTask(
                    key=key,
                    patient_id=row.patient_id,
                    lesion_id=row.lesion_id,
                    tag=tag,
                    image=str(spec.image) if spec.image else None,
                    mask=str(mask_path) if mask_path else None,
                    label=label,
                    roi_name=roi_name,
                    resample_mask=defaults.resample_mask,
                    settings=study.extraction[tag],
                    problem=problem,
                    deep=deep.deep_settings() if embed_tag and deep is not None else None,
                    organ=str(organ_path) if clip and organ_path else None,
                    reference=reference,
                    standard_scale=scale,
                    keep_slices=bool(embed_tag and deep is not None and deep.keep_slices),
                    modality=ts.modality,
                    other_lesions=others,
                    client=identity(),
                )
            )
    return rows, tasks


def _lesions_on_image(study: Study, rows: Sequence[Any]) -> dict[tuple[str, str, Path],
                                                                   list[OtherLesion]]:
    """The lesions of each patient, tag and image file whose masks are files of their own
    rows, for the rings of ring tags (not registered ones): (patient, tag, image) ->
    lesions, in manifest order."""
    ring_tags = [t for t in study.tags if study.extraction[t].preprocess.roi == "ring"
                 and study.settings.tags[t].register_to is None]
    if not ring_tags:
        return {}
    from radiomix.extraction import OtherLesion  # the extraction stack: only for rings

    found: dict[tuple[str, str, Path], list[OtherLesion]] = {}
    for row in rows:
        for tag in ring_tags:
            spec = row.inputs[tag]
            if spec is None or spec.problem is not None or spec.image is None or spec.mask is None:
                continue
            roi = study.settings.tags[tag].roi
            image = Path(spec.image).resolve()  # one file however a row spells its path
            found.setdefault((row.patient_id, tag, image), []).append(OtherLesion(
                lesion_id=row.lesion_id, mask=str(spec.mask),
                label=spec.label if spec.label is not None else roi.label,
                roi_name=spec.roi_name if spec.roi_name is not None else roi.roi_name))
    return found


# --------------------------------------------------------------------------- output lock

LOCK_FILE = ".radiomix.lock"


class OutputLock:
    """Exclusive lock on an output folder, held for a whole run.

    An advisory ``flock`` on ``OUT/.radiomix.lock``, which holds the owner's process id and
    host. The kernel drops the lock when its process ends, however it ends (``kill -9``
    included), so a lock left by a dead run is never in the way: a *stale* lock file is
    simply locked again. The file is removed on release; after locking, the file is checked
    to still be the one at the path (a release may remove it in between).

    Parameters
    ----------
    folder : Path
        The output folder (created when missing).

    Raises
    ------
    OutputLockedError
        Another live process holds the lock; the message names its process id.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_FILE
        self.fd: int | None = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock or raise :class:`OutputLockedError` at once (never waits)."""
        import fcntl
        import socket

        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(20):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read_holder(fd)
                os.close(fd)
                raise OutputLockedError(
                    f"output folder {self.path.parent} is in use by another radiomix run "
                    f"({holder}); wait for it to finish, or give another --out"
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # released and removed between open and flock: try again
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
            self.fd = fd
            return
        raise OutputLockedError(f"cannot lock output folder {self.path.parent}; try again")

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)  # closing drops the flock
            self.fd = None


def _read_holder(fd: int) -> str:
    """The lock holder as written by :meth:`OutputLock.acquire` (``process id N on HOST``)."""
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return "process id " + text[4:] if text.startswith("pid ") else "process id unknown"


# --------------------------------------------------------------------------- executors


def _alive(pid: int) -> bool:
    """Whether process ``pid`` is running. A zombie (it ended; its parent has not collected
    its exit status yet) is not: a run killed by ``kill -9`` under a parent that reads its
    output until the end before collecting it stays a zombie for as long as the run's
    workers, which hold that output open, wait for it to end."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process of that id
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no procfs (macOS), or the process just ended
        return True
    return stat[stat.rfind(")") + 2: stat.rfind(")") + 3] not in ("Z", "X")


def _die_with_parent(parent_pid: int, run_pid: int | None = None) -> None:
    """Make this worker process end when the run that started it ends, even by ``kill -9``.

    On Linux the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``);
    everywhere, a daemon thread also checks every second that the parent is still the
    parent (which also covers a parent that died before the ``prctl`` call) and that the
    run ``run_pid`` is alive: a worker forked by a fork server has the server as its parent,
    and the server only ends once its workers have (they hold its liveness pipe).
    """
    import signal
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # pragma: no cover - no prctl
            pass

    def orphaned() -> bool:
        return os.getppid() != parent_pid or (run_pid is not None and not _alive(run_pid))

    def watch() -> None:
        while True:
            if orphaned():
                os._exit(1)
            time.sleep(1.0)

    if orphaned():
        os._exit(1)
    threading.Thread(target=watch, name="radiomix-parent-watch", daemon=True).start()


def _ignore_interrupt() -> None:
    """A worker process ignores Ctrl-C: the terminal sends SIGINT to the whole process
    group, and the run that started the worker says it was interrupted and ends it (each
    worker printed its own ``KeyboardInterrupt`` traceback)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _init_pool_worker(run_pid: int | None = None,
                      setup: Callable[[], None] | None = None) -> None:
    """Pool workers: one SimpleITK thread each (the pool provides the parallelism), then
    ``setup``; a worker ends with the run that started it (see :func:`_die_with_parent`):
    its parent is the run itself (``spawn``) or the fork server the run started; it ignores
    Ctrl-C (:func:`_ignore_interrupt`).

    SimpleITK is not imported for this (a NIfTI case never needs it): ITK reads its
    default thread count from ``ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS`` when first
    imported; an already imported SimpleITK is set directly."""
    if run_pid is not None:
        _die_with_parent(os.getppid(), run_pid)
        _ignore_interrupt()
    sitk = sys.modules.get("SimpleITK")
    if sitk is None:
        os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = "1"
    else:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    if setup is not None:
        setup()


def check_main_guard() -> None:
    """Refuse to start worker processes from unguarded top-level code of a script.

    Fork-server and spawned workers import the script that started them (as
    ``__mp_main__``), so a pool started by a top-level statement of that script, outside
    ``if __name__ == "__main__":``, would be started again inside every worker, where
    Python stops it: each worker dies before its first task. The statement of the main
    script that is running now is found on the call stack and located in the script's
    syntax tree; anything else (an interactive session, ``python -c``, a guarded call,
    a script that cannot be read) passes.

    Raises
    ------
    UsageError
        The pool is being started by an unguarded top-level statement; the message names
        the script and the line.
    """
    import ast

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not os.path.isfile(path):
        return
    frame: Any = sys._getframe(1)
    line = None
    while frame is not None:  # the outermost frame of the script's top-level code
        if (frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == "__main__"
                and os.path.abspath(frame.f_code.co_filename) == os.path.abspath(path)):
            line = frame.f_lineno
        frame = frame.f_back
    if line is None:
        return
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return
    for node in tree.body:
        if node.lineno <= line <= (node.end_lineno or node.lineno):
            if not _is_main_guard(node):
                raise UsageError(
                    f"{Path(path).name} line {line} starts worker processes from the "
                    "script's top level: workers import the script again and would run this "
                    'line too; put the call under `if __name__ == "__main__":` (or use one '
                    "job)"
                )
            return


def _is_main_guard(node: Any) -> bool:
    """Whether a top-level statement is ``if __name__ == "__main__":`` (either order)."""
    import ast

    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, *test.comparators]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    values = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and values == ["__main__"]


def worker_context(preload: Sequence[str] = ("radiomix.extraction",)) -> Any:
    """The multiprocessing context of local process pools, with preloaded workers.

    Where available (Linux, macOS) workers are forked from a fork server that imported
    ``preload`` once (the extraction stack: numpy, SimpleITK, numba, the feature kernels;
    torch and MONAI when deep features are computed), so a worker starts in milliseconds
    instead of importing everything again; the server is single-threaded, so forking it is
    safe. The server's last import is :mod:`radiomix._fork_freeze`: what it holds is out of
    the workers' garbage collections.
    Elsewhere (Windows) workers are spawned.
    """
    import multiprocessing

    check_main_guard()
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")  # pragma: no cover - Windows
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([*preload, "radiomix._fork_freeze"])
    return ctx


def pool_map(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    jobs: int,
    *,
    preload: Sequence[str] = ("radiomix.extraction",),
    setup: Callable[[], None] | None = None,
    order: Sequence[int] | None = None,
) -> Generator[tuple[int, Any], None, None]:
    """``fn(task)`` for every task on up to ``jobs`` local worker processes, yielding
    ``(i, result)`` as each task ends.

    Workers are forked from the fork server of :func:`worker_context` (``preload`` imported
    once), run ``setup`` (picklable) before their first task and end with this process; the
    tasks start in ``order`` (default: as listed). Closing the generator before the last
    result (an interrupted command, a caller that stops early) kills the workers at once
    (:func:`end_pool`). A worker that dies (killed, out of
    memory, a crash in native code) breaks the pool: the task it ran and every task not yet
    finished then yield ``(i, exc)`` with ``exc`` a
    :class:`concurrent.futures.process.BrokenProcessPool` instead of a result. An exception
    raised by ``fn`` itself propagates. (:func:`radiomix.cohort.run_study`'s own loop keeps
    fewer tasks in flight and retries the ones of a broken pool.)
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = worker_context(preload)
    if ctx.get_start_method() == "forkserver":  # its server in the workers' environment
        start_fork_server(preload, warm_up=False)  # (nothing done when one runs already)
    pool = ProcessPoolExecutor(max_workers=max(1, min(jobs, len(tasks))), mp_context=ctx,
                               initializer=_init_pool_worker, initargs=(os.getpid(), setup))
    left = len(tasks)
    try:
        futures = {pool.submit(fn, tasks[i]): i
                   for i in (range(len(tasks)) if order is None else order)}
        for fut in as_completed(futures):
            left -= 1
            try:
                yield futures[fut], fut.result()
            except BrokenProcessPool as exc:
                yield futures[fut], exc
    finally:
        end_pool(pool, finished=left == 0)


def end_pool(pool: Any, *, finished: bool) -> None:
    """Shut a local process pool down; a pool left with work (the run interrupted or
    stopped, the caller gone) ends at once.

    A finished pool's workers exit on their own once idle, and are waited for. An
    unfinished one's workers are killed first: ``shutdown(cancel_futures=True)`` cancels
    only the tasks no worker has taken, so the cases in flight and the ones already handed
    to the workers' queue would otherwise run to their end (tens of seconds for a large
    case with filters) before a stopped command could exit, and a batch system's time
    limit follows SIGTERM with SIGKILL. Nothing finished is lost: a case's or an arm's
    result is written by this process, never by the worker; the one worker that writes
    files, the stability command's (:func:`radiomix.stability._make_case`), writes each
    image under a temporary name, renames it once whole and writes its marker last, so a
    killed one leaves at most a temporary file, which the next run overwrites, and the
    next run redoes a pair without its marker. The workers are those of
    :class:`~concurrent.futures.ProcessPoolExecutor` (its ``_processes``, the standard
    library's own record of them, as its ``terminate_workers`` of Python 3.14 uses).
    """
    if not finished:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def _run_serial(
    todo: Sequence[CaseTask], after_first: Callable[[], None]
) -> Iterator[dict[str, Any]]:
    """The cases one after the other in this process; ``after_first()`` once the first
    has run (the run freezes what it made: the compiled kernels, the embedding network,
    :func:`_frozen_heap`)."""
    for i, task in enumerate(todo):
        yield run_case(task)
        if i == 0:
            after_first()


@contextlib.contextmanager
def _frozen_heap() -> Iterator[Callable[[], None]]:
    """The objects this process holds, out of the garbage collector's reach inside the
    block (:func:`gc.freeze`; :func:`gc.unfreeze` on exit), and a function that freezes
    those made since.

    A run holds its imports (with deep features computed in this process, torch and MONAI:
    hundreds of thousands of objects) for its whole length; every full collection, set off
    by the records that pile up and by the tables built from them, walked them all.
    Freezing takes them out of the collections (as the fork server does for its workers,
    :mod:`radiomix._fork_freeze`); whatever the run makes is collected as before, and on
    exit everything is a candidate again (the console script freezes it all for good as
    the process ends, :func:`radiomix.__main__.main`). Measured on the sarcoma study
    (``radiomix run examples/sts/study.yaml --jobs 1``, four alternating pairs, both with
    the console script's freeze): 13.43 against 13.26 s wall. A process that has frozen
    objects of its own (a caller's :func:`gc.freeze`) is left as it is.
    """
    import gc

    if gc.get_freeze_count():
        yield lambda: None
        return
    gc.freeze()
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()


def _case_preload(deep: bool) -> tuple[str, ...]:
    """Modules the fork server of a cohort pool imports: :mod:`radiomix._fork_signals`
    first (Ctrl-C ignored from then on), the extraction stack, and with deep features
    torch and MONAI's networks (about 2 s, MONAI imported lean: :mod:`radiomix._monai`;
    paid once by the server instead of once per worker), then the warm-up of
    :mod:`radiomix._fork_warmup` (nothing unless :func:`start_fork_server` was given cases;
    :func:`worker_context` adds :mod:`radiomix._fork_freeze` after it)."""
    return ("radiomix._fork_signals", "radiomix.extraction",
            *(("torch", "radiomix.deep", "radiomix.deep.networks") if deep else ()),
            "radiomix._fork_warmup")  # fmt: skip


def warmup_cases(todo: Sequence[CaseTask],
                 size: Callable[[CaseTask], int] | None = None,
                 jobs: int = 1) -> list[CaseTask]:
    """The cases a fork server runs before its first fork (see :mod:`radiomix._fork_warmup`):
    for each tag with more than ``jobs`` cases, the case with the smallest input files
    (``size``, default :func:`_input_bytes`; a case with a known problem never). A tag with
    no more cases than workers gains nothing from a warm-up: its cases start side by side
    anyway, and the server would run one of them before forking."""
    smallest: dict[str, CaseTask] = {}
    count: Counter[str] = Counter(t.tag for t in todo)
    for task in sorted(todo, key=size or _input_bytes):
        if task.problem is None and count[task.tag] > jobs:
            smallest.setdefault(task.tag, task)
    return list(smallest.values())


def start_fork_server(preload: Sequence[str], *, warm_up: bool = True) -> Handoff | None:
    """Start the fork server of :func:`worker_context` now, without waiting for it.

    The server imports ``preload`` (seconds with torch and MONAI) in its own process while
    the caller goes on (planning and hashing the cases), instead of at the first task, when
    the caller would wait for it with the other core idle. With ``radiomix._fork_warmup``
    in ``preload`` (:func:`_case_preload`), the server then waits for the cases the caller
    sends through the returned handoff (:func:`warmup_cases`; send them before the first
    task, since the server forks only after its warm-up), runs them once and discards
    them, so that every worker it forks starts with the compiled kernels loaded and the
    embedding network built. Returns ``None`` where workers are spawned (Windows, nothing
    done), without ``warm_up`` or where no temporary folder can be made (the server starts
    without a warm-up), a handoff otherwise (a server that already runs does nothing again
    and never reads it). The server starts in :func:`worker_environment`.
    """
    from multiprocessing import forkserver

    from radiomix._fork_warmup import Handoff

    if worker_context(preload).get_start_method() != "forkserver":
        return None  # pragma: no cover - Windows
    handoff = None
    if warm_up:
        with contextlib.suppress(OSError):  # no private temporary folder: no warm-up
            handoff = Handoff()
    with (contextlib.nullcontext() if handoff is None else handoff.environment(),
          worker_environment()):
        forkserver.ensure_running()
    return handoff


@contextlib.contextmanager
def worker_environment() -> Iterator[None]:
    """Context in which the worker processes a run starts (its fork server, spawned bridge
    workers) get their environment: MONAI imported lean (:func:`radiomix._monai.
    lean_environment`) and one BLAS/OpenMP thread from the start
    (:func:`radiomix._threads.worker_thread_environment`), each where the caller has not
    set the variable itself."""
    from radiomix._monai import lean_environment
    from radiomix._threads import worker_thread_environment

    with lean_environment(), worker_thread_environment():
        yield


def _import_extraction() -> None:
    """Setup of a bridge worker (see :func:`_run_pool`): import the extraction stack before
    the first case, as the fork server's workers have it."""
    import radiomix.extraction  # noqa: F401


def _wait_for_fork_server(ctx: Any, ready: Future[None]) -> None:
    """Resolve ``ready`` once the fork server of ``ctx`` forks: starting a process blocks
    until the server has imported its preload and returned the new process's id (the
    process does nothing; it is reaped afterwards)."""
    try:
        probe = ctx.Process(target=os.getpid, name="radiomix-fork-server-probe")
        probe.start()
    except BaseException as exc:  # the pool's own start then reports the problem
        ready.set_exception(exc)
        return
    ready.set_result(None)
    probe.join()


def _input_bytes(task: CaseTask) -> int:
    """Bytes of a case's image and mask (the files of a DICOM folder added up): the proxy
    of its cost that orders a pool's queue (decompression and the ROI both grow with the
    files); 0 for a missing input."""
    size = 0
    for path in (Path(p) for p in (task.image, task.mask) if p):
        try:
            if path.is_dir():
                size += sum(st.st_size for _, st in _file_stats(path))
            else:
                size += path.stat().st_size
        except OSError:
            continue
    return size


QUEUED_AHEAD = 1
"""Cases submitted to a local pool beyond one per worker (see :func:`_run_pool`)."""


def _run_pool(
    todo: Sequence[CaseTask],
    jobs: int,
    fn: Callable[[CaseTask], dict[str, Any]] | None = None,
    *,
    handoff: Handoff | None = None,
) -> Iterator[dict[str, Any]]:
    """Local process pool: ``jobs`` workers, and :data:`QUEUED_AHEAD` case(s) waiting.

    A case waits in the pool's queue so that a worker that finishes starts the next one
    at once, while the caller is still saving the record it just received (a case record
    is written and synced to disk, milliseconds on which the worker would otherwise wait).

    Workers are forked from the fork server of :func:`worker_context`. When some cases
    have deep features, the server imports torch and MONAI first (about 2.5 s); until it
    forks, ``jobs - 1`` *bridge* workers (spawned, with the extraction stack only) run
    the cases without deep features, so that the cores are not idle while the server
    imports (none when the server of an earlier run in this process is still up). At no
    moment are more than ``jobs`` processes busy (the importing server counts as one), and
    a case's values do not depend on the worker that ran it.

    The largest cases (by :func:`_input_bytes`) start first, so that the run does not end
    with one worker busy on a large case while the other is idle.

    With a ``handoff`` (:func:`start_fork_server`), the server runs the smallest case of
    each tag before its first fork (:func:`warmup_cases`), so that the workers start warm.
    With the default ``fn`` those cases are not computed again: the first forked worker
    hands back the server's records (:func:`radiomix._fork_warmup.kept_records`), and a case
    without one (the server could not run it, or is a server of an earlier run) is queued.

    A worker that dies (killed, out of memory, crash in native code) breaks the pool: the
    bridge is then closed and the cases in flight (the waiting one included) are retried one
    at a time in a new pool, and a case that breaks the pool on its own becomes an error
    record (not persisted, so a re-run retries it).
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from radiomix._fork_warmup import kept_records

    keep = fn is None  # the server's warm-up computes run_case's records
    fn = fn or run_case
    deep = any(t.deep is not None for t in todo)
    ctx = worker_context(_case_preload(deep))
    if ctx.get_start_method() == "forkserver" and handoff is None:
        # a server the run has not started (none yet, or one already up: then nothing is
        # done) starts here, in the workers' environment, rather than at the first submit
        start_fork_server(_case_preload(deep), warm_up=False)

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=ctx,
            initializer=_init_pool_worker,
            initargs=(os.getpid(),),
        )

    size = {id(t): _input_bytes(t) for t in todo}  # the files are listed once
    queue: deque[CaseTask] = deque(sorted(todo, key=lambda t: size[id(t)], reverse=True))
    held: list[CaseTask] = []  # warm-up cases whose records the server keeps
    collect: Future[dict[str, dict[str, Any]]] | None = None
    if handoff is not None:  # before the first task: the server forks after its warm-up
        warm = warmup_cases(todo, size=lambda t: size[id(t)], jobs=jobs)
        handoff.send(warm)
        if keep and warm:
            held = warm
            queue = deque(t for t in queue if all(t is not w for w in warm))
    solo: deque[CaseTask] = deque()
    inflight: dict[Any, CaseTask] = {}
    solo_mode = False
    pool = new_pool()
    bridge: ProcessPoolExecutor | None = None
    bridged: set[Any] = set()  # futures of the bridge's cases in flight
    ready: Future[None] = Future()
    if deep and ctx.get_start_method() == "forkserver" and any(t.deep is None for t in todo):
        threading.Thread(target=_wait_for_fork_server, args=(ctx, ready),
                         name="radiomix-fork-server-wait", daemon=True).start()
        wait([ready], timeout=0.1)  # a server already running (an earlier run) forks at once
        if not ready.done():
            bridge = ProcessPoolExecutor(
                max_workers=jobs - 1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_pool_worker,
                initargs=(os.getpid(), _import_extraction),
            )
    else:
        ready.set_result(None)
    try:
        while queue or solo or inflight or held:
            if not inflight:
                solo_mode = bool(solo)
                if solo_mode:
                    task = solo.popleft()
                    inflight[pool.submit(fn, task)] = task
            if bridge is not None and ready.done() and not bridged:
                bridge.shutdown(wait=False)  # its workers end while the forked ones compute
                bridge = None
            if not solo_mode and not ready.done() and bridge is not None:
                while len(inflight) < jobs - 1:
                    light = next((t for t in queue if t.deep is None), None)
                    if light is None:
                        break
                    queue.remove(light)
                    with worker_environment():  # a bridge worker is spawned at a submit
                        fut = bridge.submit(fn, light)
                    inflight[fut] = light
                    bridged.add(fut)
            elif not solo_mode:
                if held and collect is None:  # first in the pool: its first worker answers
                    collect = pool.submit(kept_records, handoff.token)  # type: ignore[union-attr]
                while queue and len(inflight) < jobs + QUEUED_AHEAD:
                    task = queue.popleft()
                    inflight[pool.submit(fn, task)] = task
            done, _ = wait([*inflight, *(() if ready.done() else (ready,)),
                            *(() if collect is None else (collect,))],
                           return_when=FIRST_COMPLETED)
            broken: list[CaseTask] = []
            if collect is not None and collect in done:
                try:
                    kept = collect.result()
                except Exception:  # a broken pool: the cases run like the others
                    kept = {}
                for task in held:
                    if task.key in kept:
                        yield kept[task.key]
                    else:
                        queue.append(task)
                held, collect = [], None
            for fut in done:
                if fut is ready or fut not in inflight:
                    continue
                bridged.discard(fut)
                task = inflight.pop(fut)
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    broken.append(task)
                except Exception as exc:  # pickling and other pool errors
                    yield _error_record(
                        task,
                        "worker",
                        type(exc).__name__,
                        f"the case could not run in a worker process: {exc}",
                        cacheable=False,
                    )
            if broken:
                broken += list(inflight.values())
                inflight.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
                if bridge is not None:
                    bridge.shutdown(wait=False, cancel_futures=True)
                    bridge = None
                    bridged.clear()
                if solo_mode:
                    for task in broken:
                        log.info("case %s killed its worker process", task.case_id)
                        yield _error_record(
                            task,
                            "worker",
                            "WorkerDied",
                            "the worker process died while extracting this case (out of "
                            "memory? try fewer --jobs or a coarser interpolation spacing)",
                            cacheable=False,
                        )
                else:
                    log.info(
                        "a worker process died; retrying %d case(s) one at a time", len(broken)
                    )
                    solo.extend(broken)
    finally:
        # after the last case the workers exit on their own while the caller writes the
        # table; a run stopped early ends them at once (end_pool)
        finished = not (queue or solo or inflight)
        for executor in (bridge, pool):
            if executor is not None:
                if finished:
                    executor.shutdown(wait=False, cancel_futures=True)
                else:
                    end_pool(executor, finished=False)


WORKER_TIMEOUT_S = 120.0
"""Default time a Dask run waits without any worker before it stops with an error."""


CONNECT_TIMEOUT_S = 30.0
"""Longest wait for a Dask scheduler to answer a connection (less when ``worker_timeout_s``
is less)."""


def _connect(scheduler: str, timeout_s: float) -> Any:
    """A :class:`distributed.Client` of the scheduler at ``scheduler``, or a
    :class:`SettingsError` within about ``timeout_s`` seconds.

    The client is made in a helper thread that the caller stops waiting for: a port where
    something else listens (the dashboard on 8787, a web server) accepts the connection and
    never completes Dask's handshake, and the client's own timeout does not end that wait
    (or misreads the answer as a message of exabytes).
    """
    from distributed import Client

    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            box["client"] = Client(scheduler, timeout=timeout_s)
        except BaseException as exc:  # reported below, in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=connect, name="radiomix-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout_s + 2.0)
    if thread.is_alive() or "client" not in box:
        error = box.get("error")
        why = (f"{type(error).__name__}: {error}" if error is not None else
               f"no answer to Dask's handshake within {timeout_s:g} s")
        raise SettingsError(
            f"cannot connect to the Dask scheduler {scheduler} ({why}); check that a Dask "
            "scheduler listens there (its default port is 8786; 8787 is its dashboard)"
        )
    return box["client"]


def check_scheduler_address(scheduler: str) -> None:
    """Refuse a ``scheduler`` that is neither ``local`` nor ``tcp://HOST:PORT`` (or
    ``tls://``), with the form to use."""
    from urllib.parse import urlsplit

    if scheduler == "local":
        return
    try:
        parts = urlsplit(scheduler)
        port = parts.port
    except ValueError:
        port = None
        parts = None
    if parts is None or parts.scheme not in ("tcp", "tls") or not parts.hostname or port is None:
        raise SettingsError(
            f"scheduler must be 'local' or a Dask scheduler address tcp://HOST:PORT (for "
            f"instance tcp://10.0.0.5:8786); got {scheduler!r}"
        )


def _scheduler_lost(pending: int, total: int) -> WorkersLostError:
    """The one-line stop of a run whose Dask scheduler stopped answering."""
    return WorkersLostError(
        f"the Dask scheduler stopped answering with {pending} of {total} case(s) pending "
        "(scheduler stopped or killed?); start it again and run again: the cases already "
        "done are kept"
    )


def _run_dask(
    todo: Sequence[CaseTask],
    jobs: int,
    scheduler: str,
    *,
    worker_timeout_s: float = WORKER_TIMEOUT_S,
) -> Iterator[dict[str, Any]]:
    """Dask distributed: a LocalCluster of ``jobs`` workers (``local``) or an existing
    scheduler address.

    Lost workers are logged as they go; when the cluster has had no worker for
    ``worker_timeout_s`` seconds while cases are pending, :class:`WorkersLostError` is
    raised (the cases done so far are already saved, so a re-run resumes), as it is when
    the scheduler stops answering. Dask's own logs are hidden unless radiomix logs at INFO
    (``-v``).
    """
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise DependencyError(
            "running on a Dask cluster needs dask.distributed: pip install 'radiomix[cohort]'"
        ) from exc

    verbose = logging.getLogger("radiomix").getEffectiveLevel() <= logging.INFO
    # Dask logs a lost scheduler or worker with tracebacks at ERROR: shown with -v only,
    # radiomix reports the event itself in one line
    quiet_level = logging.WARNING if verbose else logging.CRITICAL
    families = ("distributed", "dask", "bokeh", "tornado")
    # the families' own loggers and every child logger dask's config gave a level of its own
    for name in [*families, *logging.root.manager.loggerDict]:
        if name.split(".")[0] in families:
            logging.getLogger(name).setLevel(quiet_level)
    cluster = None
    if scheduler == "local":
        with _workers_ignore_ctrl_c():
            cluster = LocalCluster(
                n_workers=jobs,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",  # a free port on 127.0.0.1, never a fixed one
                silence_logs=quiet_level,
            )
        client = Client(cluster)
        client.run(_init_pool_worker)
        log.info("Dask LocalCluster of %d workers, dashboard %s", jobs, client.dashboard_link)
    else:
        client = _connect(scheduler, min(CONNECT_TIMEOUT_S, worker_timeout_s))
    try:
        _check_workers(client)
        futures = {client.submit(run_case, task, pure=False): task for task in todo}
        pending = set(futures)
        ready = as_completed(futures)
        n_workers = _count_workers(client) or 0
        no_worker_since = None if n_workers else time.monotonic()
        silent_since: float | None = None  # since when the scheduler has not answered
        last_check = time.monotonic()
        while pending:
            done = ready.next_batch(block=False)
            if not done:
                time.sleep(0.05)
            for fut in done:
                pending.discard(fut)
                task = futures[fut]
                try:
                    # bounded: a result held by a worker that died since would be recomputed,
                    # which waits for a worker forever when none is left
                    record = fut.result(timeout=worker_timeout_s)
                except Exception as exc:  # KilledWorker, lost connection, timeout ...
                    if client.status != "running":  # the scheduler itself went away
                        raise _scheduler_lost(len(pending) + 1, len(todo)) from None
                    record = _error_record(
                        task,
                        "worker",
                        type(exc).__name__,
                        f"the Dask task of this case failed: {exc}",
                        cacheable=False,
                    )
                fut.release()
                yield record
            if done or time.monotonic() - last_check < 1.0:
                continue
            last_check = time.monotonic()
            if client.status != "running":  # the scheduler went away: its workers with it
                raise _scheduler_lost(len(pending), len(todo))
            answer = _count_workers(client)
            if answer is None:  # no answer: the scheduler is gone, or busy for a while
                silent_since = silent_since or time.monotonic()
                if time.monotonic() - silent_since > worker_timeout_s:
                    raise _scheduler_lost(len(pending), len(todo))
                continue
            silent_since = None
            now_workers = answer
            if now_workers < n_workers:
                log.warning(
                    "lost %d Dask worker(s); %d left, %d case(s) pending",
                    n_workers - now_workers,
                    now_workers,
                    len(pending),
                )
            n_workers = now_workers
            if n_workers:
                no_worker_since = None
                continue
            if no_worker_since is None:
                no_worker_since = time.monotonic()
            elif time.monotonic() - no_worker_since > worker_timeout_s:
                raise WorkersLostError(
                    f"the Dask cluster has had no worker for {worker_timeout_s:g} s with "
                    f"{len(pending)} of {len(todo)} case(s) pending (workers killed or out of "
                    "memory?); start workers and run again: the cases already done are kept"
                )
    finally:
        client.close(timeout=30)
        if cluster is not None:
            cluster.close(timeout=30)


def _check_workers(client: Any) -> None:
    """Refuse, before any case, a Dask run whose scheduler or workers run another radiomix
    than the run (:func:`identity`): a worker of an older install cannot even read the task
    (it failed every case with "'CaseTask' object has no attribute 'client'"), and a
    scheduler of one, which unpickles the tasks, drops their new fields. A worker that
    joins later is checked by each task (:func:`_other_radiomix`)."""
    mine = identity()
    try:  # the scheduler unpickles the tasks too: an older one drops their new fields
        scheduler: Any = client.run_on_scheduler(identity)
    except Exception as exc:  # any failure there says the same: not the run's radiomix
        scheduler = exc
    answers = {"scheduler": scheduler, **client.run(identity, on_error="return")}
    for worker, answer in answers.items():
        if isinstance(answer, BaseException):
            detail = (f"it cannot run radiomix.cohort.identity ({type(answer).__name__}): an "
                      "older or other radiomix")
        elif tuple(answer) != mine:
            detail = (f"radiomix {answer[0]}, feature revision {answer[1]}, case code "
                      f"{answer[2]}")
        else:
            continue
        who = "the Dask scheduler" if worker == "scheduler" else f"the Dask worker {worker}"
        raise UsageError(
            f"{who} runs another radiomix than this run ({detail}; the run: radiomix "
            f"{mine[0]}, revision {mine[1]}, case code {mine[2]}): install the run's "
            "radiomix on the scheduler and every worker and start them again")


def _count_workers(client: Any) -> int | None:
    """Workers the scheduler knows now (a fresh query, never a cached identity); None when
    the scheduler does not answer within 10 s."""
    try:
        return len(client.nthreads(callback_timeout=10))
    except (OSError, TimeoutError) as exc:
        log.warning("the Dask scheduler did not answer (%s)", type(exc).__name__)
        return None


# --------------------------------------------------------------------------- tables


def _column_values(texts: list[str]) -> list[Any]:
    """Clinical column cells: integers, else floats when every non-empty cell is a number
    (empty cells missing); otherwise text (empty cells missing)."""
    filled = [t for t in texts if t != ""]
    try:
        ints = [int(t) for t in filled]
        if len(filled) == len(texts):
            return ints
    except ValueError:
        pass
    try:
        floats = {t: float(t) for t in filled}
        return [floats[t] if t != "" else float("nan") for t in texts]
    except ValueError:
        return [t if t != "" else None for t in texts]


def _write_frame(frame: Any, path: Path, provenance: dict[str, Any]) -> Path:
    """Write a DataFrame as Parquet with provenance metadata, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from radiomix.table import PROVENANCE_KEY

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[PROVENANCE_KEY] = json.dumps(provenance, sort_keys=True, default=str).encode()
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.parquet")
    with removed_on_failure(tmp):
        pq.write_table(table.replace_schema_metadata(meta), tmp)
        os.replace(tmp, path)
    return path


def _slice_frame(frame: Any, tasks: Sequence[CaseTask],
                 records: dict[str, dict[str, Any]]) -> Any:
    """Slice embeddings of the lesions in the feature table (``deep.keep_slices``): one row
    per (patient, lesion, tag, ROI slice), the tag's embedding columns filled."""
    import pandas as pd

    kept = set(zip(frame["patient_id"].astype(str), frame["lesion_id"].astype(str),
                   strict=True)) if len(frame) else set()
    parts = []
    for task in tasks:
        sl = records[task.key].get("deep_slices")
        if not sl or (task.patient_id, task.lesion_id) not in kept:
            continue
        part = pd.DataFrame(sl["values"], columns=sl["columns"], dtype=float)
        part.insert(0, "slice_index", sl["slice_index"])
        part.insert(0, "tag", task.tag)
        part.insert(0, "lesion_id", task.lesion_id)
        part.insert(0, "patient_id", task.patient_id)
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["patient_id", "lesion_id", "tag", "slice_index"])
    return pd.concat(parts, ignore_index=True)


def _assemble(
    study: Study,
    rows: Sequence[Any],
    tasks: Sequence[CaseTask],
    records: dict[str, dict[str, Any]],
) -> tuple[Any, Any, list[dict[str, Any]]]:
    """Feature table, errors table and per-case provenance from the case records."""
    import pandas as pd

    from radiomix.table import package_versions

    cols = study.settings.columns
    by_lesion: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for task in tasks:
        by_lesion.setdefault((task.patient_id, task.lesion_id), {})[task.tag] = records[task.key]
    version = package_versions(("radiomix",))["radiomix"]
    study_hash = study.settings_hash()

    # feature columns: each tag's columns in the order of its first successful case
    tag_columns: dict[str, dict[str, None]] = {t: {} for t in study.tags}
    for task in tasks:
        rec = records[task.key]
        if rec["status"] == "ok" and not tag_columns[task.tag]:
            tag_columns[task.tag] = dict.fromkeys(rec["features"])
    for task in tasks:  # columns absent from the first case (should not happen), appended
        rec = records[task.key]
        if rec["status"] == "ok":
            for name in rec["features"]:
                tag_columns[task.tag].setdefault(name, None)
    feature_columns = [c for t in study.tags for c in tag_columns[t]]

    kept: list[int] = []
    data: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        recs = by_lesion.get((row.patient_id, row.lesion_id), {})
        failed = False
        values: dict[str, Any] = {}
        for tag in study.tags:
            if tag not in recs:
                continue
            rec = recs[tag]
            entry = {
                "patient_id": row.patient_id,
                "lesion_id": row.lesion_id,
                "tag": tag,
                "key": rec["key"],
                "status": rec["status"],
                **rec.get("run", {}),
            }
            if rec["status"] == "ok":
                values.update(rec["features"])
                prov = rec.get("provenance", {})
                entry.update(
                    settings_hash=prov.get("settings_hash"),
                    **{
                        k: v for k, v in (prov.get("inputs") or {}).items() if k.endswith("_sha256")
                    },
                    roi_voxels=prov.get("roi_voxels"),
                    processed_spacing_mm_zyx=prov.get("processed_spacing_mm_zyx"),
                    notes=prov.get("notes", {}),
                )
                if "registration" in prov:
                    entry["registration"] = prov["registration"]
                if "standardisation" in prov:
                    entry["landmarks_sha256"] = prov["standardisation"].get("landmarks_sha256")
            else:
                failed = True
                err = rec["error"]
                errors.append(
                    {
                        "patient_id": row.patient_id,
                        "lesion_id": row.lesion_id,
                        "tag": tag,
                        "stage": err["stage"],
                        "error_type": err["error_type"],
                        "message": err["message"],
                    }
                )
                entry["error_type"] = err["error_type"]
            cases.append(entry)
        if failed and not study.settings.keep_partial:
            continue
        kept.append(i)
        data.append(values)

    ids = {
        cols.patient_id: [rows[i].patient_id for i in kept],
        cols.lesion_id: [rows[i].lesion_id for i in kept],
    }
    for col in cols.carried:
        ids[col] = _column_values([rows[i].values[col] for i in kept])
    frame = pd.DataFrame(ids)
    feats = pd.DataFrame(
        [[d.get(c, float("nan")) for c in feature_columns] for d in data],
        columns=feature_columns,
        dtype="float64",
    )
    frame = pd.concat([frame, feats], axis=1)
    frame["settings_hash"] = study_hash
    frame["radiomix_version"] = version
    frame[cols.patient_id] = frame[cols.patient_id].astype(str)
    frame[cols.lesion_id] = frame[cols.lesion_id].astype(str)
    err_frame = pd.DataFrame(errors, columns=list(ERROR_COLUMNS), dtype=object)
    return frame, err_frame, cases


def _check_ids(study: Study) -> None:
    cols = study.settings.columns
    for name in (cols.patient_id, cols.lesion_id):
        if name in RESERVED_COLUMNS or "." in name:
            raise SettingsError(f"identifier column name {name!r} is reserved or contains a dot")


# --------------------------------------------------------------------------- standardisation


def fit_study_standard_scale(
    study: str | os.PathLike[str] | Study,
    tag: str,
    *,
    where: Mapping[str, Sequence[str]] | None = None,
    region: str = "foreground",
    landmarks: Sequence[float] | None = None,
    lower_percentile: float = 1.0,
    upper_percentile: float = 99.0,
    standard_range: tuple[float, float] = (0.0, 100.0),
) -> StandardScale:
    """Fit the Nyúl–Udupa standard scale of one image tag on chosen lesions of a study.

    This is the only place where landmarks are learnt: a study run only *reads* the
    resulting file (``preprocess: {normalise: nyul, nyul_landmarks: FILE}``), so the scale
    is fixed before any extraction and every run with that file gives the same features.
    Choose the training images with ``where`` (e.g. the training centre, or a ``split``
    column's ``train`` rows): images of test or external-validation patients then never
    shape the scale. The fit is unsupervised (no outcome is read), and the file lists the
    training lesions so that the separation can be audited.

    Parameters
    ----------
    study : path or Study
        The study file (its manifest, data root and the tag's settings).
    tag : str
        Image tag to fit (e.g. ``mr_t1``).
    where : dict of str to sequence of str, optional
        Manifest column → accepted values; a lesion is used when every named column holds
        one of its values (e.g. ``{"centre": ["A"]}``). Default: every lesion.
    region : {"foreground", "image", "roi"}
        Voxels whose histogram gives each image's landmarks
        (:func:`radiomix.process.normalise.standardisation_region`); ``roi`` needs the
        tag's own masks.
    landmarks : sequence of float, optional
        Inner landmark percentiles (default: the deciles).
    lower_percentile, upper_percentile, standard_range
        As in :func:`radiomix.process.normalise.fit_histogram_standardisation`.

    Returns
    -------
    StandardScale
        Save it with :func:`radiomix.process.normalise.save_standard_scale`.

    Raises
    ------
    SettingsError
        Unknown tag or column, no lesion selected, bad percentiles or region.
    InputError
        An image (or mask) of a selected lesion cannot be read or used; the message names
        the lesion.

    Notes
    -----
    Each image is first corrected and smoothed as the tag's ``preprocess`` settings say
    (N4, Gaussian; :func:`radiomix.process.preprocess.correct_and_smooth`), as during
    extraction. An image shared by several lesions of a patient is used once (except for
    ``region="roi"``, where each lesion's ROI is a training region).
    """
    import numpy as np

    from radiomix.case import load_case
    from radiomix.io.image import read_volume
    from radiomix.process.normalise import (
        DEFAULT_LANDMARKS,
        HistogramLandmarks,
        StandardScale,
        fit_histogram_standardisation,
        standardisation_region,
    )
    from radiomix.process.preprocess import correct_and_smooth
    from radiomix.table import file_hash, package_versions

    if not isinstance(study, Study):
        study = load_study(study, require_landmarks=False)
    if tag not in study.tags:
        raise SettingsError(f"unknown image tag {tag!r}; the study has {', '.join(study.tags)}")
    if region not in ("foreground", "image", "roi"):
        raise SettingsError(f"region must be foreground, image or roi; got {region!r}")
    where = {k: [str(v) for v in vals] for k, vals in (where or {}).items()}
    cols = study.settings.columns
    rows = manifest_rows(study, carry=tuple(dict.fromkeys([*cols.carried, *where])))
    settings = study.extraction[tag]
    roi_defaults = study.settings.tags[tag].roi
    values: list[Any] = []
    used: list[list[str]] = []
    seen: set[str] = set()
    for row in rows:
        spec = row.inputs[tag]
        if spec is None or any(row.values[c] not in vals for c, vals in where.items()):
            continue
        case = f"{row.patient_id}/{row.lesion_id}/{tag}"
        if spec.problem is not None:
            raise InputError(f"{case}: {spec.problem}")
        assert spec.image is not None
        if region != "roi" and str(spec.image) in seen:
            continue
        seen.add(str(spec.image))
        mask = None
        if region == "roi":
            if spec.mask is None:
                raise SettingsError(
                    f"{case}: region roi needs the tag's own masks; {tag}_mask is empty "
                    "(use region foreground or image)"
                )
            checked = load_case(
                spec.image,
                spec.mask,
                label=spec.label if spec.label is not None else roi_defaults.label,
                roi_name=spec.roi_name or roi_defaults.roi_name,
                resample_mask=roi_defaults.resample_mask,
                case_id=case,
            )
            img = checked.image
            mask = checked.mask.array > 0
        else:
            img = read_volume(spec.image)
        data = correct_and_smooth(
            np.array(img.array, dtype=np.float64),
            img.spacing_zyx,
            settings.preprocess,
            dimensionality=settings.dimensionality,
        )
        reg = standardisation_region(data, mask, region)
        vals = data.ravel() if reg is None else data[reg]
        if not np.all(np.isfinite(vals)):
            raise InputError(f"{case}: the image holds NaN or infinite values")
        values.append(vals.reshape(1, 1, -1))
        used.append([row.patient_id, row.lesion_id])
    if not values:
        raise SettingsError(
            f"no lesion with a {tag} image matches the selection {where or '(all)'}"
        )
    fitted: HistogramLandmarks = fit_histogram_standardisation(
        values,
        landmarks=DEFAULT_LANDMARKS if landmarks is None else tuple(landmarks),
        lower_percentile=lower_percentile,
        upper_percentile=upper_percentile,
        standard_range=standard_range,
    )
    log.info("standard scale of %s fitted on %d images: %s", tag, len(values), fitted.standard)
    return StandardScale(
        landmarks=fitted,
        region=region,
        fitted_on={
            "study": study.settings.name,
            "tag": tag,
            "manifest_file": study.manifest.name,
            "manifest_sha256": file_hash(study.manifest),
            "selection": where,
            "preprocess_before": {
                "bias_field": settings.preprocess.bias_field,
                "smoothing_sigma_mm": settings.preprocess.smoothing_sigma_mm,
            },
            "lesions": used,
            "patients": sorted({pid for pid, _ in used}),
            "radiomix_version": package_versions(("radiomix",))["radiomix"],
        },
    )


# --------------------------------------------------------------------------- entry point


def run_study(
    study: str | os.PathLike[str] | Study,
    out_dir: str | os.PathLike[str],
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    worker_timeout_s: float | None = None,
    note_absent_tags: bool = True,
) -> StudyResult:
    """Extract every lesion and image tag of a study into one feature table.

    Parameters
    ----------
    study : path or Study
        The study file (``study.yaml``) or a loaded :class:`~radiomix.settings.study.Study`.
    out_dir : path
        Output folder: ``features.parquet``, ``errors.parquet`` and ``cases/`` (see the
        module docstring). Cases already in ``cases/`` with an unchanged key are skipped.
    jobs : int
        Worker processes: 1 runs in this process, more use a local process pool (or the
        number of LocalCluster workers with ``scheduler="local"``). Not read with a
        scheduler address (its workers run the cases): more than 1 is refused there.
    scheduler : {None, "local"} or str
        ``None``: no Dask; ``"local"``: start a Dask LocalCluster; an address such as
        ``tcp://10.0.0.5:8786``: use that running Dask scheduler.
    progress : callable, optional
        Called with a :class:`Progress` at the start, after each computed case and at the
        end.
    worker_timeout_s : float, optional
        With Dask: how long the cluster may have no worker while cases are pending before
        the run stops with :class:`~radiomix.errors.WorkersLostError` (default 120 s);
        refused without ``scheduler``, where nothing reads it.
    note_absent_tags : bool
        Warn about lesions with no image for some tags (:func:`tags_absent`); ``False``
        for a derived study whose empty cells the caller explains in its own terms (the
        stability run: a refused perturbation, not a missing image).

    Returns
    -------
    StudyResult
        Paths and counts; ``result.ok`` is false when some case failed.

    Raises
    ------
    SettingsError
        Invalid study file or manifest, bad ``jobs`` or ``scheduler``, unreachable Dask
        scheduler. Problems of single cases never raise: they become error records.
    DependencyError
        ``scheduler`` given but dask.distributed is not installed.
    OutputLockedError
        Another run is writing to ``out_dir`` (the message names its process id).
    WorkersLostError
        Every Dask worker was lost for ``worker_timeout_s``; a re-run resumes.

    Notes
    -----
    Deep-feature options of the study file are validated and recorded in provenance but
    not computed here yet.

    Examples
    --------
    >>> result = run_study("examples/sts/study.yaml", "out/sts", jobs=2)  # doctest: +SKIP
    >>> result.n_rows, result.n_failed  # doctest: +SKIP
    (51, 0)
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise SettingsError(f"jobs must be an integer >= 1, got {jobs!r}")
    if worker_timeout_s is None:
        worker_timeout_s = WORKER_TIMEOUT_S
    elif scheduler is None:
        raise SettingsError(
            "worker_timeout_s (--worker-timeout) is read only with a Dask scheduler: give "
            "scheduler (--scheduler local or tcp://HOST:PORT), or leave the timeout out")
    if isinstance(worker_timeout_s, bool) or not (
        isinstance(worker_timeout_s, int | float) and 0 < worker_timeout_s < math.inf
    ):
        raise SettingsError(f"worker_timeout_s (--worker-timeout) must be a finite number of "
                            f"seconds > 0, got {worker_timeout_s!r}")
    if scheduler is not None:
        check_scheduler_address(scheduler)
        if scheduler != "local" and jobs > 1:
            raise SettingsError(
                f"jobs {jobs} (--jobs) is not read with the Dask scheduler address: the "
                "scheduler's own workers run the cases; leave --jobs out (start more workers "
                "for more at once), or use --scheduler local --jobs N")
    t0 = time.perf_counter()
    if not isinstance(study, Study):
        study = load_study(study)
    _check_ids(study)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SettingsError(f"output folder {out} exists and is not a folder")
    created = not out.exists()
    try:
        with OutputLock(out):
            return _run_locked(
                study,
                out,
                jobs=jobs,
                scheduler=scheduler,
                progress=progress,
                worker_timeout_s=worker_timeout_s,
                t0=t0,
                note_absent_tags=note_absent_tags,
            )
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a run refused before any output leaves no folder behind
        raise


def _check_inputs_exist(study: Study, tasks: Sequence[CaseTask]) -> None:
    """Refuse a run whose manifest points nowhere (a copied study without its data) before
    any worker starts; single missing files stay per-case errors.

    Raises
    ------
    SettingsError
        Not one image of the manifest exists; the message names the data folder.
    """
    images = [Path(t.image) for t in tasks if t.image]
    if not images or any(p.exists() for p in images):
        return
    root = study.data_root
    where = (
        f"the data folder {root} does not exist"
        if not root.exists()
        else f"the data folder is {root}"
    )
    raise SettingsError(
        f"none of the {len(images)} image paths of manifest {study.manifest.name} exists (first: "
        f"{images[0]}); {where}: fix data_root in {study.path.name} (or $RADIOMIX_DATA) or "
        "the manifest's paths"
    )


def _check_weights_once(study: Study, tasks: Sequence[CaseTask], cases_dir: Path) -> None:
    """Refuse a run whose deep features' weights are unusable (a file missing, damaged, of
    another network, holding NaN) once, before any worker starts, instead of failing every
    deep case with the same message (:meth:`Study.check_deep_weights`).

    Checked when a deep case is to be computed, or when the first deep case of an earlier
    run failed or holds a non-finite deep value (computed before weights were checked); a
    re-run whose deep cases are all current does not import torch for it.

    Raises
    ------
    SettingsError
        The weights cannot be used.
    """
    deep_tasks = [t for t in tasks if t.deep is not None]
    if not deep_tasks or study.settings.deep is None:
        return
    files = [cases_dir / f"{t.key}.json" for t in deep_tasks]
    current = all(f.is_file() for f in files)
    if current:
        try:
            record = json.loads(files[0].read_text(encoding="utf-8"))
            values = [v for k, v in (record.get("features") or {}).items() if ".deep." in k]
            current = record.get("status") == "ok" and all(
                isinstance(v, int | float) and math.isfinite(v) for v in values)
        except (OSError, ValueError, AttributeError):
            current = False
    if not current:
        study.check_deep_weights()


def _run_locked(
    study: Study,
    out: Path,
    *,
    jobs: int,
    scheduler: str | None,
    progress: Callable[[Progress], None] | None,
    worker_timeout_s: float,
    t0: float,
    note_absent_tags: bool = True,
) -> StudyResult:
    """The body of :func:`run_study`, run under the output folder's lock."""
    handoff = None
    if scheduler is None and jobs > 1 and not (out / CASES_DIR).is_dir():
        # a first run computes every case: the workers' imports overlap the planning below
        # (input hashes, case files); a re-run, often with nothing to compute, starts its
        # workers only for the cases that need them
        handoff = start_fork_server(_case_preload(study.settings.deep is not None))
    try:
        with _frozen_heap() as refreeze:
            return _plan_and_run(study, out, jobs=jobs, scheduler=scheduler,
                                 progress=progress, worker_timeout_s=worker_timeout_s, t0=t0,
                                 handoff=handoff, note_absent_tags=note_absent_tags,
                                 refreeze=refreeze)
    finally:
        if handoff is not None:
            handoff.send([])  # releases a server still waiting (an error while planning)


def _plan_and_run(
    study: Study,
    out: Path,
    *,
    jobs: int,
    scheduler: str | None,
    progress: Callable[[Progress], None] | None,
    worker_timeout_s: float,
    t0: float,
    handoff: Handoff | None,
    refreeze: Callable[[], None],
    note_absent_tags: bool = True,
) -> StudyResult:
    """Plan the cases of :func:`_run_locked`, compute those not current, write the tables;
    ``refreeze()`` after the first case of a serial run (:func:`_frozen_heap`)."""
    hashes = InputHashes(out / HASHES_FILE)
    rows, tasks = plan_cases(study, hashes=hashes)
    _check_inputs_exist(study, tasks)
    _check_weights_once(study, tasks, out / CASES_DIR)
    store = CaseStore(out / CASES_DIR)
    hashes.save()

    records: dict[str, dict[str, Any]] = {}
    todo: list[CaseTask] = []
    for task in tasks:
        rec = store.load(task.key)
        if rec is not None and rec.get("cacheable", False):
            records[task.key] = rec
        else:
            todo.append(task)
    if store.unchecked:
        log.warning("%d case record(s) in %s were written by an earlier radiomix without a "
                    "checksum and cannot be checked: those cases are redone once",
                    store.unchecked, CASES_DIR)
    cached = len(records)
    failed = failed_cached = sum(r["status"] != "ok" for r in records.values())
    if study.weights_fallback and any(t.deep is not None for t in todo):
        log.warning("%s", study.weights_fallback)
    absent = tags_absent(study, rows) if note_absent_tags else None
    if absent:
        log.warning("%s", absent)
    log.info(
        "study %s: %d lesions, %d cases, %d current, %d to compute",
        study.settings.name,
        len(rows),
        len(tasks),
        cached,
        len(todo),
    )

    def report(event: Literal["start", "case", "end"], **kw: Any) -> None:
        if progress is not None:
            progress(
                Progress(
                    event=event,
                    total=len(tasks),
                    cached=cached,
                    todo=len(todo),
                    computed=computed,
                    failed=failed,
                    elapsed_s=time.perf_counter() - t0,
                    **kw,
                )
            )

    computed = 0
    workers_used: set[str] = set()
    report("start")
    if todo:
        if scheduler is not None:
            stream = _run_dask(todo, jobs, scheduler, worker_timeout_s=worker_timeout_s)
        elif jobs > 1 and len(todo) > 1:
            # the table's modules load while the workers compute, not after the last case
            threading.Thread(target=importlib.import_module, args=("pandas",),
                             name="radiomix-import-pandas", daemon=True).start()
            if handoff is None:  # a re-run: the server starts for the cases to compute
                handoff = start_fork_server(_case_preload(any(t.deep is not None for t in todo)))
            stream = _run_pool(todo, min(jobs, len(todo)), handoff=handoff)
        else:
            stream = _run_serial(todo, refreeze)
        said: dict[str, int] = {}  # warnings said once in this run (say_case_warnings)
        for rec in stream:
            worker = (rec.get("run") or {}).get("worker")
            if worker:
                workers_used.add(str(worker))
            # the table is built from exactly what a re-run reads back from the case files
            rec = json.loads(json.dumps(rec, allow_nan=True))
            if rec.get("cacheable"):
                store.save(rec)
            records[rec["key"]] = rec
            computed += 1
            say_case_warnings(f"{rec['patient_id']}/{rec['lesion_id']}/{rec['tag']}",
                              rec.get("warnings"), said)
            if rec["status"] != "ok":
                failed += 1
                err = rec["error"]
                log.info(
                    "%s/%s/%s failed (%s, %s): %s",
                    rec["patient_id"],
                    rec["lesion_id"],
                    rec["tag"],
                    err["stage"],
                    err["error_type"],
                    err["message"],
                )
            seconds = (rec.get("run") or {}).get("seconds")
            report(
                "case",
                case=f"{rec['patient_id']}/{rec['lesion_id']}/{rec['tag']}",
                status=rec["status"],
                case_s=seconds if isinstance(seconds, int | float) else None,
            )
        say_repeated(said)

    from radiomix.table import (
        DEEP_PACKAGES,
        VERSIONED_PACKAGES,
        file_hash,
        package_versions,
    )

    frame, err_frame, cases = _assemble(study, rows, tasks, records)
    provenance: dict[str, Any] = {
        "study": study.to_dict(),
        "study_file": study.path.name,
        "study_sha256": file_hash(study.path) if study.path.is_file() else None,
        "manifest_file": study.manifest.name,
        "manifest_sha256": file_hash(study.manifest),
        "settings_hash": study.settings_hash(),
        "versions": package_versions(
            (*VERSIONED_PACKAGES, *DEEP_PACKAGES) if study.settings.deep is not None
            else VERSIONED_PACKAGES),
        "execution": {  # of this run; each case's own worker is in "cases"
            "mode": "dask" if scheduler else ("process-pool" if jobs > 1 else "serial"),
            # a remote scheduler's workers run the cases: no jobs value was read there
            "jobs": None if scheduler not in (None, "local") else jobs,
            "scheduler": "local" if scheduler == "local" else (scheduler and "remote"),
            "workers": len(workers_used),  # distinct workers that computed cases now
            "cases_run": computed,
            "note": ("this run computed no case: every case was reused from earlier runs, "
                     "whose workers are recorded per case" if computed == 0 else None),
        },
        "counts": {
            "lesions": len(rows),
            "rows": len(frame),
            "cases": len(tasks),
            "cached": cached,
            "computed": computed,
            "failed": failed,
        },
        "cases": cases,
    }
    if study.settings.deep is not None:
        provenance["deep"] = {"requested": study.to_dict()["deep"], "computed": True,
                              "weights_sha256": _weights_key(study.settings.deep)}
    if study.landmarks:
        from radiomix.process.normalise import load_standard_scale

        provenance["standardisation"] = {}
        for tag, path in study.landmarks.items():
            scale = load_standard_scale(path)
            provenance["standardisation"][tag] = {
                "landmarks_file": path.name,
                "landmarks_sha256": scale.sha256,
                "region": scale.region,
                "fitted_on": scale.fitted_on,
            }
    out.mkdir(parents=True, exist_ok=True)
    if study.settings.deep is not None and study.settings.deep.keep_slices:
        _write_frame(_slice_frame(frame, tasks, records), out / DEEP_SLICES_FILE, provenance)
    else:  # an earlier run's slices are not this table's (the leakage audit reads them)
        (out / DEEP_SLICES_FILE).unlink(missing_ok=True)
    features_path = _write_frame(frame, out / FEATURES_FILE, provenance)
    errors_path = _write_frame(err_frame, out / ERRORS_FILE, provenance)
    result = StudyResult(
        features_path=features_path,
        errors_path=errors_path,
        n_lesions=len(rows),
        n_rows=len(frame),
        n_cases=len(tasks),
        n_cached=cached,
        n_computed=computed,
        n_failed=failed,
        errors=tuple(err_frame.to_dict(orient="records")),
        n_failed_cached=failed_cached,
    )
    report("end")
    log.info(
        "study %s: %d rows written to %s, %d failed case(s) in %s",
        study.settings.name,
        len(frame),
        features_path,
        failed,
        errors_path,
    )
    return result


__all__ = [
    "CaseStore",
    "CaseTask",
    "InputHashes",
    "Progress",
    "StudyResult",
    "case_key",
    "fit_study_standard_scale",
    "plan_cases",
    "run_case",
    "run_study",
]
