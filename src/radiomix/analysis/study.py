"""A study file analysed end to end: features (extracted when missing) -> analysis -> report.

:func:`analyse_study` is what ``radiomix analyse STUDY.yaml --out DIR`` and ``make demo``
run. It reads the study file's ``analysis:`` section, extracts the cohort's features with
the cohort runner when ``DIR/features/features.parquet`` is missing (resumable, so a second
call reuses every finished case), builds the role-checked analysis table, runs the engine
and writes the report.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from radiomix.analysis.arms import check_stability_settings, stability_path
from radiomix.analysis.data import build_table, read_any, table_settings_hash, tumour_tags
from radiomix.analysis.engine import AnalysisProgress, run_analysis
from radiomix.errors import InputError, RadiomixError, SettingsError

if TYPE_CHECKING:
    from radiomix.settings.study import Study

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StudyProgress:
    """A progress event of :func:`analyse_study`.

    Attributes
    ----------
    stage : {"features", "analysis", "report"}
    message : str
    done, total : int or None
    level : {"info", "warning"}
    """

    stage: str
    message: str
    done: int | None = None
    total: int | None = None
    level: str = "info"


def failed_cases_message(res: Any, out: Path) -> str:
    """The console line of an analysis whose extraction failed for some cases: how many, the
    first (id, stage, error), what becomes of their lesions and where the rest are."""
    first = res.errors[0]
    left_out = (f"{res.n_lesions - res.n_rows} of {res.n_lesions} lesions are left out of the "
                "analysis (a lesion with a failed case is, unless the study file sets "
                "keep_partial: true)" if res.n_rows < res.n_lesions
                else "their lesions are analysed with those values missing (keep_partial)")
    errors = Path(res.errors_path)
    where = errors.relative_to(out) if errors.is_relative_to(out) else errors.name
    return (f"{res.n_failed} of {res.n_cases} cases failed (first: {first['patient_id']}/"
            f"{first['lesion_id']}/{first['tag']} ({first['stage']}, {first['error_type']}): "
            f"{first['message']}); {left_out}; every error is in {where} and the report")


def _cohort_progress(notify: Callable[[StudyProgress], None]) -> Callable[[Any], None]:
    def relay(p: Any) -> None:
        if p.event == "start":
            notify(StudyProgress("features", f"{p.total} cases: {p.cached} reused, {p.todo} to "
                                             "compute", p.cached, p.total))
        elif p.event == "case":
            notify(StudyProgress("features", f"{p.case}: {p.status}", p.cached + p.computed,
                                 p.total))
    return relay


UNTRAINED_BANNER: dict[str, str] = {
    "level": "error", "title": "Untrained deep network",
    "text": "The deep features of this analysis come from a network with random weights (no "
            "pretrained weight file was available). Arms that use them show what random "
            "features give, not what a pretrained network would; they are flagged in every "
            "table and kept out of the headline."}
"""The report banner of an analysis whose deep features come from random weights."""


def deep_flag(prov: dict[str, Any]) -> bool:
    """Whether the deep features came from random weights (study-level or per case), read
    from the provenance of a feature table (:func:`radiomix.table.read_provenance`)."""
    requested = (prov.get("deep") or {}).get("requested") or {}
    if requested.get("weights") == "random":
        return True
    for case in prov.get("cases", []) or []:
        deep = case.get("deep") or {}
        if deep.get("random_weights"):
            return True
    return False


def _slice_table(name: str, study_dir: Path, features_dir: Path) -> Path:
    """The leakage audit's slice table: relative to the study file, else beside the
    feature table (where ``deep.keep_slices`` writes ``deep_slices.parquet``)."""
    for path in (study_dir / name, features_dir / name):  # an absolute name stays itself
        if path.is_file():
            return path
    raise InputError(
        f"leakage_audit.table {name!r} is neither beside the study file nor beside the "
        f"features ({features_dir.resolve()}); write it with deep: {{mode: slices, keep_slices: "
        "true} or give its path")


def _study_table(feat: pd.DataFrame, study: Study,
                 name: str) -> tuple[pd.DataFrame, int, list[str]]:
    """A feature table given with ``--features``, checked against the study's manifest and
    completed from it (the manifest read once).

    The table must be the study's: its lesions the manifest's
    (:func:`radiomix.analysis.data.check_manifest_lesions`), its copies of the manifest
    columns as the manifest now holds them (:func:`radiomix.analysis.data.
    check_manifest_columns`). The manifest columns the study declares (``columns:``:
    outcomes, times, covariates) that the table lacks are joined from the manifest on the
    patient and lesion ids (compared as text), as ``radiomix run`` writes them into its own
    table; a table without a lesion column is joined on the patient when every such column
    holds one value per patient in the manifest (otherwise they are left out and the
    analysis names them as missing).

    Returns
    -------
    table, n_lesions, absent
        The completed table, the number of manifest lesions and those the table lacks
        (warned about).
    """
    from radiomix.analysis.data import _text, check_manifest_columns, check_manifest_lesions
    from radiomix.cohort import manifest_rows

    cols = study.settings.columns
    rows = manifest_rows(study, carry=tuple(cols.carried))
    manifest = pd.DataFrame({cols.patient_id: [r.patient_id for r in rows],
                             cols.lesion_id: [r.lesion_id for r in rows],
                             **{c: [r.values[c] for r in rows] for c in cols.carried}})
    absent = check_manifest_lesions(feat, manifest, patient=cols.patient_id,
                                    lesion=cols.lesion_id, source=name)
    check_manifest_columns(feat, manifest, patient=cols.patient_id, lesion=cols.lesion_id,
                           source=name)
    n_lesions = len(manifest.drop_duplicates([cols.patient_id, cols.lesion_id]))
    wanted = [c for c in cols.carried if c not in feat.columns]
    if not wanted or cols.patient_id not in feat.columns:
        return feat, n_lesions, absent
    ids = {cols.patient_id: "__p", cols.lesion_id: "__l"}
    keyed = manifest.rename(columns=ids).astype({"__p": str, "__l": str})
    keys = {"__p": _text(feat[cols.patient_id]).to_numpy()}
    if cols.lesion_id in feat.columns:
        keys["__l"] = _text(feat[cols.lesion_id]).to_numpy()
        on = ["__p", "__l"]
    else:
        if (keyed.groupby("__p")[wanted].nunique(dropna=False) > 1).any().any():
            return feat, n_lesions, absent
        on = ["__p"]
    joined = pd.DataFrame(keys).merge(keyed[[*on, *wanted]].drop_duplicates(on), on=on,
                                      how="left")
    out = feat.copy()
    for c in wanted:
        out[c] = joined[c].to_numpy()
    return out, n_lesions, absent


def cohort_folder(out: Path) -> Path:
    """Where :func:`analyse_study` keeps the cohort tables of the analysis folder ``out``.

    ``out`` itself when it holds the output of ``radiomix run`` (``features.parquet`` and
    the ``cases/`` cache: ``run`` then ``analyse`` with one ``--out``, as the README shows),
    else ``out/features``.
    """
    if (out / "features.parquet").is_file() and (out / "cases").is_dir():
        return out
    return out / "features"


def analyse_study(
    study_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    jobs: int = 1,
    features: str | os.PathLike[str] | None = None,
    report: bool = True,
    progress: Callable[[StudyProgress], None] | None = None,
    derived_from: str | os.PathLike[str] | None = None,
) -> Path:
    """Analyse a study as its study file declares it.

    Parameters
    ----------
    study_path : path
        ``study.yaml`` with an ``analysis:`` section.
    out_dir : path
        Analysis folder: ``features/`` (cohort tables, reused), ``analysis.json``,
        ``predictions.csv``, ``model.joblib``, ``report.html``. A folder that already
        holds a ``radiomix run`` of a study (``features.parquet`` and ``cases/``) is its
        own cohort folder: its cases are reused (and brought up to date, as a re-run of
        ``radiomix run`` would) instead of being extracted again into ``features/``.
    jobs : int
        Worker processes of the feature extraction and of the analysis (its arms).
    features : path, optional
        An existing feature table (e.g. ``radiomix run``'s ``features.parquet``) instead of
        extracting into ``out_dir/features``.
    report : bool
        Write ``report.html`` (and ``metrics.json``).
    progress : callable, optional
        Receives :class:`StudyProgress` events.
    derived_from : path, optional
        The study file that ``study_path`` was written from (the demo's copy of
        ``examples/sts/study.yaml``): its name and SHA-256 are recorded beside the run
        copy's (``study.derived_from``).

    Returns
    -------
    Path
        ``out_dir/analysis.json``.

    Raises
    ------
    SettingsError
        No ``analysis:`` section, or an invalid one.
    InputError
        Unusable tables (unparsable cells, outcome-derived inputs, no usable case …).
    """
    from radiomix.settings.study import load_study

    notify = progress or (lambda event: None)
    study = load_study(study_path)
    spec = study.settings.analysis
    if spec is None:
        raise SettingsError(
            f"{Path(study_path).name} has no analysis: section; declare the outcomes, column "
            "roles and arms there (see radiomix.analysis.spec or examples/sts/study.yaml)"
        )
    for arm in spec.arms:  # before the (long) extraction, not after it
        if arm.stability:
            stability_path(arm, study.path.parent)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from radiomix.cohort import OutputLock

    # the folder is the analysis's while it runs, as a run's is: a run still writing it is
    # refused (it holds the lock), not extracted a second time beside it; a run's finished
    # folder is locked by the run the analysis starts in it (cohort_folder)
    lock = (OutputLock(out) if features is not None or cohort_folder(out) != out
            else contextlib.nullcontext())
    with lock, InputWarnings() as collected:
        return _analyse(study, spec, out, features, jobs, notify, report, derived_from,
                        collected)


def landmark_overlap_warnings(study: Study, spec: Any, table: Any) -> list[str]:
    """Tags whose Nyúl landmarks (``nyul_landmarks``) were fitted on images of patients of
    the external test centre(s): the standard scale then holds what the test images look
    like, so the external validation is no longer blind to them. Read from the file's
    ``fitted_on.patients`` (:class:`radiomix.process.normalise.StandardScale`)."""
    from radiomix.process.normalise import load_standard_scale

    v = spec.validation
    if table.centre is None or not v.test_centres or not (
            {"external", "training_internal_external"} & set(v.schemes)):
        return []
    centres = {str(c) for c in v.test_centres}
    test = {str(g) for g, c in zip(table.groups, table.centre, strict=True)
            if str(c) in centres}
    out = []
    for tag, path in study.landmarks.items():
        try:
            scale = load_standard_scale(path)
        except (RadiomixError, OSError):
            continue  # the run refuses such a file with its reason
        shared = sorted(test & {str(p) for p in scale.fitted_on.get("patients", [])})
        if shared:
            out.append(
                f"tag {tag}: its Nyúl landmarks ({Path(path).name}) were fitted on "
                f"{len(shared)} patient(s) of the external test centre(s) "
                f"{', '.join(sorted(centres))} (e.g. {', '.join(shared[:3])}), so the "
                "external validation is not blind to the test images; fit them on the "
                f"training centres only (radiomix standardise fit --tag {tag} --centre ...) "
                "and run the study again")
    return out


class InputWarnings(logging.Handler):
    """The warnings raised while a study's inputs are read (the manifest, the tables),
    kept for the analysis document: the console is not the only place they are said."""

    SOURCES = ("radiomix.io.manifest", "radiomix.analysis.data", "radiomix.io.text_table")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def __enter__(self) -> InputWarnings:
        """Collect from the ``radiomix`` loggers until the ``with`` block ends."""
        logging.getLogger("radiomix").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("radiomix").removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(self.SOURCES):
            text = record.getMessage()
            if text not in self.messages:
                self.messages.append(text)


def _analyse(study: Study, spec: Any, out: Path, features: Any, jobs: int,
             notify: Callable[[StudyProgress], None], report: bool, derived_from: Any,
             collected: InputWarnings) -> Path:
    """The body of :func:`analyse_study` once the study is loaded and the output folder
    exists; ``collected`` gathers the input warnings meanwhile."""
    from radiomix.table import (
        ANALYSIS_PACKAGES,
        file_hash,
        package_versions,
        read_provenance,
        table_hash,
    )

    errors_path = None
    prov: dict[str, Any] = {}
    if features is None:
        from radiomix.cohort import run_study

        res = run_study(study, cohort_folder(out), jobs=jobs, progress=_cohort_progress(notify))
        features_path, errors_path = Path(res.features_path), Path(res.errors_path)
        if res.errors:
            notify(StudyProgress("features", failed_cases_message(res, out), level="warning"))
    else:
        features_path = Path(features)
    feat = read_any(features_path)
    n_manifest = 0
    absent: list[str] = []
    if features is not None:
        feat, n_manifest, absent = _study_table(feat, study, features_path.name)
    try:  # a Parquet's metadata, a CSV's or JSON's own record; none for another tool's file
        prov = read_provenance(features_path)
    except (InputError, OSError, ValueError):
        prov = {}
    extracted = table_settings_hash(feat, prov)
    tags = {str(c).split(".", 1)[0] for c in feat.columns if str(c).count(".") >= 3}
    if extracted is not None and len(tags) == 1 and extracted == study.tag_hashes().get(
            next(iter(tags))):
        # a table of one tag written by `radiomix extract`/`extract-many` with that tag's
        # settings carries the tag's hash, not the study's (over every tag): the same settings
        extracted = study.settings_hash()
    if features is not None and extracted is not None and extracted != study.settings_hash():
        text = (f"{features_path.name} was extracted with other settings than {study.path.name} "
                f"declares (settings hash {extracted}, the study file's "
                f"{study.settings_hash()}): the features are analysed as they are; run radiomix "
                "run with the study file to bring them up to date")
        log.warning(text)
        collected.messages.append(text)
    same = extracted is not None and extracted == study.settings_hash()
    for arm in spec.arms:
        if arm.stability:
            collected.messages.extend(check_stability_settings(
                arm, stability_path(arm, study.path.parent), prov,
                study.tag_hashes() if extracted is None or same else None, confirmed=same))
    errors = pd.read_parquet(errors_path) if errors_path and errors_path.is_file() else None
    clinical = None
    clinical_path = None
    if spec.clinical:
        clinical_path = Path(spec.clinical)
        clinical_path = clinical_path if clinical_path.is_absolute() else \
            study.path.parent / clinical_path
        clinical = read_any(clinical_path)
    study_time = study.settings.columns.time
    table = build_table(feat, spec, clinical=clinical,
                        time_columns=[study_time] if study_time else [],
                        volume_tags=tumour_tags(study.to_dict()))
    for text in landmark_overlap_warnings(study, spec, table):
        log.warning(text)
        collected.messages.append(text)
    untrained = deep_flag(prov)
    deep_columns = any(".deep." in str(c) for c in feat.columns)
    declared = getattr(study.settings.deep, "weights", None)
    if not prov and deep_columns and study.settings.deep is not None and (
            study.weights_fallback or declared == "random"):
        # a table without provenance (saved by another tool): the study says that its deep
        # features come from an untrained network here (random weights, or a fallback)
        untrained = True
    elif not prov and deep_columns:
        text = (f"{features_path.name} holds deep features but no record of the weights "
                "that computed them (radiomix's metadata is missing: the table was saved by "
                "another program): whether the network was trained cannot be told; analyse "
                "the table radiomix wrote, or re-extract")
        log.warning(text)
        collected.messages.append(text)
    banners = [UNTRAINED_BANNER] if untrained else []
    if untrained:
        notify(StudyProgress("analysis", UNTRAINED_BANNER["text"], level="warning"))
    counts = prov.get("counts", {}) if prov else {}
    flow = []
    if counts:
        # given a table (--features), these are the counts of the run that wrote it, whose
        # manifest may have been another than the study's now
        of = f" by the run that wrote {features_path.name}" if features is not None else ""
        flow += [{"step": ("cases (lesion × image) in the manifest" if not of else
                           f"cases (lesion × image) planned{of}"), "n": counts.get("cases")},
                 {"step": f"cases extracted{of}", "n": int(counts.get("cases", 0))
                  - int(counts.get("failed", 0))},
                 {"step": f"cases failed{of} (excluded, see errors)", "n": counts.get("failed")}]
    if features is not None:
        flow += [{"step": "lesions in the manifest", "n": n_manifest},
                 {"step": f"lesions without a row in {features_path.name} (not analysed)",
                  "n": len(absent)}]
    flow += [{"step": f"{table.unit}s analysed", "n": len(table.X)},
             {"step": "patients analysed", "n": table.n_patients}]
    err_docs = []
    if errors is not None:
        for r in errors.to_dict("records"):
            err_docs.append({k: (None if pd.isna(v) else str(v)) for k, v in r.items()
                             if k in ("patient_id", "lesion_id", "tag", "stage", "error",
                                      "message")})
    study_doc: dict[str, Any] = {
        "name": study.settings.name, "study_file": study.path.name,
        "study_sha256": file_hash(study.path),
        "features_file": features_path.name, "features_sha256": file_hash(features_path),
        "features_data_sha256": table_hash(feat),
        "clinical_file": clinical_path.name if clinical_path else None,
        "clinical_sha256": file_hash(clinical_path) if clinical_path else None,
        "settings_hash": extracted,
        "versions": package_versions(ANALYSIS_PACKAGES),
    }
    deep_prov = (prov or {}).get("deep") or {}
    if deep_prov:
        weights = str((deep_prov.get("requested") or {}).get("weights"))
        study_doc["deep_weights"] = {
            # a file's name only (its folder may name a person); the keywords as they are
            "weights": weights if weights in ("imagenet", "medicalnet", "random")
            else Path(weights).name,
            "sha256": deep_prov.get("weights_sha256"),
        }
    if derived_from is not None:
        study_doc["derived_from"] = {"file": Path(derived_from).name,
                                     "sha256": file_hash(Path(derived_from))}

    from radiomix.analysis.qc import qc_section

    notify(StudyProgress("analysis", "drawing QC thumbnails"))
    qc = qc_section(study, [str(p) for p in table.groups], out)
    slices = None
    if spec.leakage_audit is not None:
        slices = read_any(_slice_table(spec.leakage_audit.table, study.path.parent,
                                       features_path.parent))

    def relay(p: AnalysisProgress) -> None:
        notify(StudyProgress("analysis", p.message, p.done, p.total))

    run_analysis(spec, table, out, progress=relay, banners=banners, study=study_doc,
                 flow=flow, errors=err_docs, untrained_deep=untrained,
                 artefacts={"features": os.path.relpath(features_path, out)},
                 base_dir=study.path.parent, slices=slices, qc=qc, jobs=jobs,
                 input_warnings=collected.messages)
    if report:
        notify(StudyProgress("report", "writing the report"))
        from radiomix.report import write_report

        write_report(out)
    return out / "analysis.json"
