"""Feature robustness by image perturbation: perturbed cohorts and per-feature ICC.

Following Zwanenburg et al. (Sci Rep 2019), every lesion of a study is perturbed several
ways (:mod:`radiomix.process.perturb`: mask growth/shrinkage, supervoxel contour
randomisation, rotation, translation, added noise), the perturbed images and masks are
written as NIfTI files with a derived manifest and study file, and the derived study is
extracted by the cohort runner (:func:`radiomix.cohort.run_study`: same per-tag settings,
resumable, parallel). Each feature's robustness is its intraclass correlation over the
perturbations: lesions are the targets, perturbations the "raters".

ICC form: ICC(1,1) (Shrout & Fleiss 1979; McGraw & Wong 1996 "one-way random, single
measures"), as prescribed by Zwanenburg et al. (2019): perturbations are random draws
that are not the same fixed raters for every lesion, so rater effects cannot be separated
from error. Its 95 % confidence interval is the F-distribution interval of the same
references (:func:`icc11`; the values of :func:`pingouin.intraclass_corr`, type ICC1, computed
vectorised and unrounded).

Outputs in ``OUT``:

``perturbed/<patient>/<lesion>/<perturbation>/<tag>_{image,mask}.nii.gz``
    The perturbed pairs (masks binary 0/1), with a small JSON sidecar per pair so that an
    interrupted run regenerates nothing it already wrote.
``manifest.csv``, ``study.yaml``
    The derived study: one manifest row per lesion and perturbation (``lesion_id`` is
    ``<lesion>__<perturbation slug>``; columns ``source_lesion`` and ``perturbation``).
``extract/``
    The cohort run of the derived study (``features.parquet``, ``errors.parquet``,
    ``cases/``).
``stability.parquet``
    One row per feature column: ``feature``, ``tag``, ``filter``, ``family``, ``icc``,
    ``ci_low``, ``ci_high``, ``n_lesions``, ``n_perturbations``, ``icc_form``. Its provenance
    (perturbations, seed, ICC form, errors) is read by
    :func:`radiomix.table.read_provenance`.

References
----------
Zwanenburg A, Leger S, Agolli L, et al. Assessing robustness of radiomic features by image
perturbation. Sci Rep 2019;9:614. doi:10.1038/s41598-018-36938-4
Shrout PE, Fleiss JL. Intraclass correlations: uses in assessing rater reliability.
Psychol Bull 1979;86(2):420-428.
Koo TK, Li MY. A guideline of selecting and reporting intraclass correlation coefficients
for reliability research. J Chiropr Med 2016;15(2):155-163 (ICC >= 0.75: good).
"""

from __future__ import annotations

import csv
import errno
import json
import logging
import os
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from radiomix.errors import InputError, SettingsError
from radiomix.process.perturb import (
    DEFAULT_PERTURBATIONS,
    Perturbation,
    parse_perturbation,
    same_rotation,
)
from radiomix.table import removed_on_failure

if TYPE_CHECKING:
    from radiomix.cohort import Progress, StudyResult
    from radiomix.settings.study import Study

log = logging.getLogger(__name__)

STABILITY_FILE = "stability.parquet"
ICC_FORM = "ICC(1,1)"
LESION_SEP = "__"
STABILITY_COLUMNS = (
    "feature",
    "tag",
    "filter",
    "family",
    "icc",
    "ci_low",
    "ci_high",
    "n_lesions",
    "n_perturbations",
    "icc_form",
)


PERTURB_FORMAT = 3
"""Version of the perturbation code's output (in each sidecar: a change regenerates).
3: contour supervoxels computed with the spacing relative to the smallest voxel spacing."""


@dataclass(frozen=True, slots=True)
class _CaseJob:
    """All perturbations of one lesion and tag (the image is loaded once, the supervoxels
    of the contour draws computed once)."""

    image: str
    mask: str
    label: int | None
    roi_name: str | None
    resample_mask: bool
    out_dirs: tuple[str, ...]
    tag: str
    specs: tuple[str, ...]
    seed: int
    case: str


@dataclass(frozen=True, slots=True)
class PerturbProgress:
    """State of the perturbation step, passed to the ``progress`` callback of
    :func:`prepare_perturbed_study` (``perturb_progress`` of :func:`run_stability`).

    Attributes
    ----------
    done : int
        Lesion and tag pairs whose perturbations are written (or found current) so far.
    total : int
        Pairs to perturb.
    case : str
        ``patient/lesion/tag`` of the pair just finished (``""`` on the first event).
    """

    done: int
    total: int
    case: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """A perturbation refused by design for some lesions of one tag
    (:class:`~radiomix.process.perturb.PerturbationRefused`: e.g. ``volume:-1`` on PET
    voxels coarser than 1 mm, which would leave the mask unchanged).

    Attributes
    ----------
    spec : str
        The perturbation.
    tag : str
        The image tag.
    lesions : tuple of str
        ``patient/lesion`` of each lesion refused.
    n_lesions : int
        Lesions of this tag that were perturbed.
    reason : str
        Why (the same for every lesion listed).
    messages : tuple of str
        The per-lesion messages (also in :attr:`StabilityResult.perturbation_errors`).
    """

    spec: str
    tag: str
    lesions: tuple[str, ...]
    n_lesions: int
    reason: str
    messages: tuple[str, ...]

    @property
    def whole_tag(self) -> bool:
        """Refused for every lesion of the tag: the perturbation is simply left out of the
        tag's ICCs, and every lesion is still assessed with the other perturbations."""
        return len(self.lesions) >= self.n_lesions

    def describe(self, shown: int = 5) -> str:
        """One line: what was refused, where, why, and what it does to the ICCs."""
        named = ", ".join(self.lesions[:shown])
        if len(self.lesions) > shown:
            named += f" and {len(self.lesions) - shown} more"
        effect = (
            f"it is left out of the ICCs of {self.tag}'s features, which use the other "
            "perturbations of every lesion"
            if self.whole_tag
            else f"these lesions are left out of the ICCs of {self.tag}'s features"
        )
        return (
            f"perturbation {self.spec} refused for tag {self.tag} on {len(self.lesions)} of "
            f"{self.n_lesions} lesion(s) ({named}): {self.reason}; {effect}"
        )


@dataclass(frozen=True, slots=True)
class StabilityResult:
    """Outcome of :func:`run_stability`.

    Attributes
    ----------
    stability_path : Path
        ``stability.parquet``.
    study_path : Path
        The derived study file.
    extraction : StudyResult
        The cohort run of the derived study.
    table : pandas.DataFrame
        The stability table.
    perturbation_errors : list of str
        Lesions and perturbations that could not be generated (left out of the ICC),
        the refusals by design included.
    refusals : tuple of Refusal
        The perturbations refused by design, one per perturbation and tag.
    """

    stability_path: Path
    study_path: Path
    extraction: StudyResult
    table: pd.DataFrame
    perturbation_errors: list[str]
    refusals: tuple[Refusal, ...] = ()

    @property
    def perturbation_failures(self) -> list[str]:
        """The :attr:`perturbation_errors` that are not refusals by design."""
        refused = {m for r in self.refusals for m in r.messages}
        return [m for m in self.perturbation_errors if m not in refused]


def parse_perturbations(specs: Sequence[str] | str | None) -> tuple[Perturbation, ...]:
    """Parse a list (or comma-separated string) of perturbation specs.

    Raises
    ------
    SettingsError
        An invalid spec, a repeated perturbation (two rotations equal modulo 360 degrees
        included), or fewer than two perturbations (an ICC needs at least two ratings per
        lesion).

    Examples
    --------
    >>> [p.slug for p in parse_perturbations("original, volume:-1, volume:+1")]
    ['original', 'volume_m1', 'volume_p1']
    """
    if specs is None:
        specs = DEFAULT_PERTURBATIONS
    if isinstance(specs, str):
        specs = [s for s in specs.split(",") if s.strip()]
    parsed = tuple(parse_perturbation(s) for s in specs)
    slugs = [p.slug for p in parsed]
    dup = sorted({s for s in slugs if slugs.count(s) > 1})
    if dup:
        raise SettingsError(f"perturbations repeat: {', '.join(dup)}; list each once")
    turns = [p for p in parsed if p.kind == "rotation"]
    for i, a in enumerate(turns):  # rotation:365 is rotation:5 (angles modulo 360)
        for b in turns[i + 1 :]:
            if same_rotation(a.value, b.value):
                raise SettingsError(
                    f"perturbations {a.spec} and {b.spec} are the same rotation (angles are "
                    "taken modulo 360 degrees) and would count as two perfectly agreeing "
                    "raters; list it once"
                )
    if len(parsed) < 2:
        raise SettingsError(
            f"give at least two perturbations (got {len(parsed)}); an ICC needs two or more "
            "ratings per lesion, e.g. original,volume:-1,volume:+1"
        )
    return parsed


def _signature(path: Path) -> list[Any]:
    """What the side file of a perturbed pair remembers of an input: a digest of its
    resolved path (never the path: folder names often carry who the patient is), its size
    and modification time."""
    from radiomix.privacy import path_digest

    st = path.stat()
    return [path_digest(path), st.st_size, int(st.st_mtime_ns)]


def _load_roi(job: _CaseJob) -> tuple[Any, Any]:
    """The image and binary ROI of a lesion, read and checked as for extraction."""
    from radiomix.case import load_case

    checked = load_case(
        job.image, job.mask, label=job.label, roi_name=job.roi_name,
        resample_mask=job.resample_mask,  # messages get the case id from the caller
    )
    return checked.image.to_sitk(), checked.mask.to_sitk()  # perturbations work in SimpleITK


_Outcome = tuple[str, str | None] | None
"""Of one perturbed pair: None (written), or (message, reason) where reason is None for a
failure and the refusal's reason for a perturbation refused by design."""


def _make_case(job: _CaseJob) -> list[_Outcome]:
    """Write every perturbed pair of one lesion and tag; one outcome (:data:`_Outcome`)
    each."""
    import SimpleITK as sitk

    from radiomix.process.perturb import PerturbationRefused, perturb_case

    results: list[_Outcome] = []
    loaded: tuple[Any, Any] | None = None
    cache: dict[str, object] = {}
    try:
        sources = {"image": _signature(Path(job.image)), "mask": _signature(Path(job.mask))}
    except OSError as exc:
        failed = (_unnamed(f"{job.case}: input cannot be read ({exc})", job), None)
        return [failed] * len(job.specs)
    for spec, folder in zip(job.specs, job.out_dirs, strict=True):
        out = Path(folder)
        img_out, mask_out = out / f"{job.tag}_image.nii.gz", out / f"{job.tag}_mask.nii.gz"
        side = out / f"{job.tag}.json"
        want = {
            "format": PERTURB_FORMAT,
            "spec": spec,
            "seed": job.seed,
            "label": job.label,
            **sources,
        }
        if side.is_file() and img_out.is_file() and mask_out.is_file():
            try:
                if json.loads(side.read_text()) == want:
                    results.append(None)
                    continue
            except (OSError, ValueError):
                pass
        try:
            if loaded is None:
                loaded = _load_roi(job)
            new_img, new_mask = perturb_case(
                *loaded, spec, seed=job.seed, case=job.case, cache=cache
            )
            out.mkdir(parents=True, exist_ok=True)
            for img, path in ((new_img, img_out), (new_mask, mask_out)):
                tmp = path.with_name(path.name.replace(".nii.gz", ".tmp.nii.gz"))
                with removed_on_failure(tmp):  # no partial image left
                    try:
                        sitk.WriteImage(img, str(tmp), True)
                    except RuntimeError as exc:  # ITK's words for a full disk, say
                        lines = [t for t in str(exc).splitlines() if t.strip()]
                        raise OSError(errno.EIO, lines[-1].strip() if lines else "ITK error",
                                      str(path)) from exc
                    os.replace(tmp, path)
            side.write_text(json.dumps(want))
            results.append(None)
        except PerturbationRefused as exc:
            results.append((_unnamed(f"{job.case} {spec}: {exc}", job), exc.reason))
        except InputError as exc:
            results.append((_unnamed(f"{job.case} {spec}: {exc}", job), None))
    return results


def _unnamed(message: str, job: _CaseJob) -> str:
    """A lesion's error message with its input paths named by tag
    (:func:`radiomix.privacy.redact_paths`)."""
    from radiomix.privacy import redact_paths

    return redact_paths(message, {f"<{job.tag} image>": job.image,
                                  f"<{job.tag} mask>": job.mask}, keep=(job.case,))


@dataclass(frozen=True, slots=True)
class _Prepared:
    study_path: Path
    errors: list[str]
    refusals: tuple[Refusal, ...]
    absent: list[str]  # "patient/lesion (tags)" of source lesions without some tag's image
    n_lesions: int


def prepare_perturbed_study(
    study: str | os.PathLike[str] | Study,
    out_dir: str | os.PathLike[str],
    *,
    perturbations: Sequence[str] | str | None = None,
    tags: Sequence[str] | None = None,
    patients: int | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress: Callable[[PerturbProgress], None] | None = None,
) -> tuple[Path, list[str]]:
    """Write the perturbed images and masks of a study, and the derived study file.

    Parameters
    ----------
    study : path or Study
        The original study file.
    out_dir : path
        Output folder (see the module docstring).
    perturbations : sequence of str, str or None
        Perturbation specs (:mod:`radiomix.process.perturb`); default
        :data:`~radiomix.process.perturb.DEFAULT_PERTURBATIONS`.
    tags : sequence of str, optional
        Image tags to perturb (default: every tag of the study).
    patients : int, optional
        Use the first ``patients`` patients of the manifest (manifest order).
    seed : int
        Seed of the random perturbations.
    jobs : int
        Worker processes for writing the perturbed files.
    progress : callable, optional
        Called with a :class:`PerturbProgress` before the first pair and after each one.

    Returns
    -------
    study_path : Path
        The derived study file ``OUT/study.yaml``.
    errors : list of str
        Pairs that could not be perturbed, refusals by design included (their cells are
        left empty in the manifest).

    Raises
    ------
    SettingsError
        Unknown tag, a registered tag (``register_to``), bad ``patients`` or perturbations.
    """
    prepared = _prepare(study, out_dir, perturbations=perturbations, tags=tags,
                        patients=patients, seed=seed, jobs=jobs, progress=progress)
    return prepared.study_path, prepared.errors


def _prepare(
    study: str | os.PathLike[str] | Study,
    out_dir: str | os.PathLike[str],
    *,
    perturbations: Sequence[str] | str | None,
    tags: Sequence[str] | None,
    patients: int | None,
    seed: int,
    jobs: int,
    progress: Callable[[PerturbProgress], None] | None,
) -> _Prepared:
    """:func:`prepare_perturbed_study`, with the refusals and absent images told apart."""
    import yaml

    from radiomix.io.manifest import read_manifest
    from radiomix.settings.loader import settings_to_dict
    from radiomix.settings.study import Study, load_study

    specs = parse_perturbations(perturbations)
    if not isinstance(study, Study):
        study = load_study(study)
    chosen = tuple(tags) if tags else study.tags
    for tag in chosen:
        if tag not in study.tags:
            raise SettingsError(f"tag {tag!r} is not in the study (tags: {', '.join(study.tags)})")
        if study.settings.tags[tag].register_to is not None:
            raise SettingsError(
                f"tag {tag!r} is registered to {study.settings.tags[tag].register_to!r}; "
                "perturb the reference tag instead (registered tags are not supported here)"
            )
    if patients is not None and (isinstance(patients, bool) or int(patients) < 2):
        raise SettingsError(
            f"patients must be an integer >= 2 (an ICC needs several lesions), got {patients!r}"
        )
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise SettingsError(f"jobs must be an integer >= 1, got {jobs!r}")
    cols = study.settings.columns
    rows = read_manifest(  # every tag of the study, so that no manifest column looks unknown
        study.manifest,
        tags=study.tags,
        data_root=study.data_root,
        patient_column=cols.patient_id,
        lesion_column=cols.lesion_id,
        mask_optional=study.registered_tags,
    )
    if patients is not None:
        keep = list(dict.fromkeys(r.patient_id for r in rows))[: int(patients)]
        rows = [r for r in rows if r.patient_id in set(keep)]
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    jobs_list: list[_CaseJob] = []
    manifest_rows: list[dict[str, str]] = []
    errors: list[str] = []
    absent: list[str] = []
    for row in rows:
        missing_tags = [t for t in chosen if row.inputs.get(t) is None]
        if missing_tags:
            absent.append(f"{row.patient_id}/{row.lesion_id} ({', '.join(missing_tags)})")
        entries = []
        for p in specs:
            entries.append(
                {
                    "patient_id": row.patient_id,
                    "lesion_id": f"{row.lesion_id}{LESION_SEP}{p.slug}",
                    "source_lesion": row.lesion_id,
                    "perturbation": p.spec,
                }
            )
        folders = [out / "perturbed" / row.patient_id / row.lesion_id / p.slug for p in specs]
        for tag in chosen:
            ti = row.inputs.get(tag)
            if ti is None or ti.problem is not None or ti.image is None or ti.mask is None:
                for entry in entries:
                    entry[f"{tag}_image"] = entry[f"{tag}_mask"] = ""
                if ti is not None and ti.problem:
                    errors.append(f"{row.patient_id}/{row.lesion_id} {tag}: {ti.problem}")
                continue
            roi = study.settings.tags[tag].roi
            jobs_list.append(
                _CaseJob(
                    image=str(ti.image),
                    mask=str(ti.mask),
                    label=ti.label if ti.label is not None else roi.label,
                    roi_name=ti.roi_name if ti.roi_name is not None else roi.roi_name,
                    resample_mask=roi.resample_mask,
                    out_dirs=tuple(str(f) for f in folders),
                    tag=tag,
                    specs=tuple(p.spec for p in specs),
                    seed=seed,
                    case=f"{row.patient_id}/{row.lesion_id}/{tag}",
                )
            )
            for entry, folder in zip(entries, folders, strict=True):
                rel = folder.relative_to(out)
                entry[f"{tag}_image"] = str(rel / f"{tag}_image.nii.gz")
                entry[f"{tag}_mask"] = str(rel / f"{tag}_mask.nii.gz")
                if ti.organ is not None:
                    entry[f"{tag}_organ"] = str(ti.organ)
        manifest_rows.extend(entries)
    notify = progress or (lambda event: None)
    notify(PerturbProgress(done=0, total=len(jobs_list), case=""))
    messages: list[list[_Outcome]] = [[] for _ in jobs_list]
    made: Generator[tuple[int, Any], None, None] = (
        (i, _make_case(job)) for i, job in enumerate(jobs_list))
    if jobs > 1 and len(jobs_list) > 1:
        from radiomix.cohort import pool_map

        made = pool_map(_make_case, jobs_list, jobs, preload=("radiomix.process.perturb",))
    with closing(made) as finished:
        for n_done, (i, msgs) in enumerate(finished, 1):
            if isinstance(msgs, BaseException):  # the pool broke: a worker died
                raise InputError(f"a worker process died while perturbing {jobs_list[i].case} "
                                 "(out of memory?); run again with --jobs 1")
            messages[i] = msgs
            notify(PerturbProgress(done=n_done, total=len(jobs_list), case=jobs_list[i].case))
    failed: set[tuple[str, str]] = set()
    refused: dict[tuple[str, str], list[tuple[str, str, str]]] = {}  # (spec, tag) -> cases
    per_tag: dict[str, int] = {}
    for job, msgs in zip(jobs_list, messages, strict=True):
        per_tag[job.tag] = per_tag.get(job.tag, 0) + 1
        lesion = job.case.rsplit("/", 1)[0]  # patient/lesion/tag -> patient/lesion
        for spec, out_dir, outcome in zip(job.specs, job.out_dirs, msgs, strict=True):
            if outcome is not None:
                msg, reason = outcome
                errors.append(msg)
                failed.add((str(Path(out_dir).relative_to(out)), job.tag))
                if reason is not None:
                    refused.setdefault((spec, job.tag), []).append((lesion, reason, msg))
    refusals: list[Refusal] = []
    for (spec, tag), cases in refused.items():
        for reason in dict.fromkeys(r for _, r, _ in cases):  # one per distinct reason
            mine = [c for c in cases if c[1] == reason]
            refusals.append(Refusal(spec=spec, tag=tag, lesions=tuple(c[0] for c in mine),
                                    n_lesions=per_tag[tag], reason=reason,
                                    messages=tuple(c[2] for c in mine)))
    for entry in manifest_rows:  # a pair that failed has no files: leave its cells empty
        for tag in chosen:
            cell = entry.get(f"{tag}_image")
            if cell and (str(Path(cell).parent), tag) in failed:
                entry[f"{tag}_image"] = entry[f"{tag}_mask"] = ""
    header = list(dict.fromkeys(k for e in manifest_rows for k in e))
    with (out / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(manifest_rows)
    tag_block: dict[str, Any] = {}
    for tag in chosen:
        settings = settings_to_dict(study.extraction[tag])
        if tag in study.landmarks:
            settings["preprocess"]["nyul_landmarks"] = str(study.landmarks[tag].resolve())
        tag_block[tag] = {"settings": settings}
        modality = study.settings.tags[tag].modality
        if modality is not None:  # the value checks of the declared modality (CT, PT) apply
            tag_block[tag]["modality"] = modality
        roi = study.settings.tags[tag].roi
        if roi.resample_mask:
            tag_block[tag]["roi"] = {"resample_mask": True}
    derived = {
        "name": f"{study.settings.name}-stability",
        "manifest": "manifest.csv",
        "data_root": ".",
        "columns": {"covariates": ["source_lesion", "perturbation"]},
        "tags": tag_block,
        "keep_partial": True,
    }
    study_path = out / "study.yaml"
    study_path.write_text(
        "# derived by radiomix stability: one row per lesion and perturbation\n"
        + yaml.safe_dump(derived, sort_keys=False)
    )
    return _Prepared(study_path=study_path, errors=errors, refusals=tuple(refusals),
                     absent=absent, n_lesions=len(rows))


CONSTANT_RTOL = 1e-24
"""A table whose total sum of squares about its mean is at most ``CONSTANT_RTOL * N * mean²``
(``N`` values; a relative spread of 1e-12, some 4 500 units in the last place of a float64)
varies by rounding only: :func:`icc11` treats it as constant (NaN, not assessed)."""


def _standardised(x: np.ndarray) -> np.ndarray | None:
    """``x`` centred on its mean and divided by its root mean square deviation, or None
    when that deviation is within rounding of the mean's magnitude (:data:`CONSTANT_RTOL`).

    The ICC is invariant to a common shift and scale, so it is computed on these values:
    their sums of squares neither overflow (values of 1e160) nor underflow (1e-200). The
    shift comes first (by the median, a value of the table, then by the mean), so that
    values far from zero (1e9 + 0.1) keep the precision of their differences."""
    biggest = float(np.max(np.abs(x)))
    if biggest > 1e300:  # differences could overflow: scale before the shift
        x = x / biggest
    ref = float(np.median(x))
    d = x - ref
    top = float(np.max(np.abs(d)))
    if top == 0.0:
        return None
    y = d / top  # in [-1, 1]
    mean = float(y.mean())
    c = y - mean
    c -= c.mean()  # second pass: the first mean's own rounding
    ss = float(np.sum(c * c))
    with np.errstate(over="ignore"):
        level = ref / top + mean  # the table's mean, in units of top
    if ss == 0.0 or ss <= CONSTANT_RTOL * x.size * level * level:
        return None
    return c / np.sqrt(ss / x.size)


def icc11(wide: np.ndarray) -> tuple[float, float, float]:
    """ICC(1,1) and its 95 % confidence interval of one (lesions x perturbations) table.

    Parameters
    ----------
    wide : (n, k) ndarray of float
        Complete ratings: ``n >= 2`` lesions (targets), ``k >= 2`` perturbations (raters).

    Returns
    -------
    icc, ci_low, ci_high : float
        NaN when the ratings are constant, or differ by rounding only (total sum of squares
        at most :data:`CONSTANT_RTOL` ``* n * k * mean²``, e.g. 0.3 and
        0.30000000000000004); 1, 1, 1 when no lesion varies over the perturbations but
        lesions differ. The values are centred on their mean and scaled by their standard
        deviation first, so multiplying a table by any positive factor (1e-200, 1e160)
        leaves the result unchanged.

    Notes
    -----
    One-way random-effects model, single measures (Shrout & Fleiss 1979, case 1; McGraw &
    Wong 1996, ICC(1)):

    .. math::

        ICC(1,1) = \\frac{MS_R - MS_W}{MS_R + (k-1) MS_W}, \\quad
        F = MS_R / MS_W,

    with the interval :math:`F_L = F / F_{0.975}(n-1, n(k-1))`,
    :math:`F_U = F \\, F_{0.975}(n(k-1), n-1)`, bounds :math:`(F_\\cdot - 1) /
    (F_\\cdot + k - 1)`. The same numbers as :func:`pingouin.intraclass_corr` (type ICC1),
    whose interval is rounded to two decimals (too coarse for a 0.75 cut-off) and whose
    pandas ANOVA costs about 0.1 s per feature; ``tests/model/test_stability_icc.py``
    checks the agreement.
    """
    from scipy.stats import f as f_dist

    x = np.asarray(wide, dtype=np.float64)
    n, k = x.shape
    if n < 2 or k < 2 or not np.all(np.isfinite(x)) or x.max() == x.min():
        return float("nan"), float("nan"), float("nan")
    z = _standardised(x)
    if z is None:  # a spread of rounding size: as constant as a constant feature
        return float("nan"), float("nan"), float("nan")
    x = z
    row_means = x.mean(axis=1)
    ms_r = k * np.sum((row_means - x.mean()) ** 2) / (n - 1)
    ms_w = np.sum((x - row_means[:, None]) ** 2) / (n * (k - 1))
    # relative to the data's scale, a within-lesion spread of rounding size is none at all
    if ms_w <= 1e-28 * max(ms_r, 1e-300):
        return 1.0, 1.0, 1.0
    icc = (ms_r - ms_w) / (ms_r + (k - 1) * ms_w)
    f_obs = ms_r / ms_w
    f_lo = f_obs / f_dist.ppf(0.975, n - 1, n * (k - 1))
    f_hi = f_obs * f_dist.ppf(0.975, n * (k - 1), n - 1)
    return (
        float(icc),
        float((f_lo - 1.0) / (f_lo + k - 1.0)),
        float((f_hi - 1.0) / (f_hi + k - 1.0)),
    )


def feature_icc(
    table: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    lesion: Sequence[str] = ("patient_id", "source_lesion"),
    perturbation: str = "perturbation",
) -> pd.DataFrame:
    """ICC(1,1) with its 95 % confidence interval for every feature column of a table.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per lesion and perturbation (the ``features.parquet`` of a derived study).
    features : sequence of str, optional
        Columns to assess (default: every feature column ``<tag>.<filter>.<family>...``).
    lesion : sequence of str
        Columns that identify a lesion (the ICC's targets).
    perturbation : str
        Column naming the perturbation (the ICC's raters).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STABILITY_COLUMNS`, one row per feature. Per feature, a perturbation
        without a value for any lesion is left out (``n_perturbations`` counts those used),
        then the lesions with a missing value under any remaining perturbation (ICC(1,1)
        needs every lesion rated by the same number of perturbations); ``icc`` is NaN when
        fewer than two lesions remain or the feature is constant over the whole table (or
        varies by rounding only, :data:`CONSTANT_RTOL`).

    Notes
    -----
    With :math:`k` perturbations, :math:`n` lesions, between-lesion mean square
    :math:`MS_R` and within-lesion mean square :math:`MS_W` of the one-way ANOVA,

    .. math:: ICC(1,1) = \\frac{MS_R - MS_W}{MS_R + (k - 1) MS_W}

    (Shrout & Fleiss 1979, case 1); see :func:`icc11`.
    """
    from radiomix.model.columns import FeatureName

    missing = [c for c in (*lesion, perturbation) if c not in table.columns]
    if missing:
        raise InputError(
            f"the table lacks the column(s) {', '.join(missing)}; pass the features.parquet "
            "of a study derived by prepare_perturbed_study (or name the columns)"
        )
    cols = (
        list(features)
        if features is not None
        else [c for c in table.columns if FeatureName.parse(c) is not None]
    )
    key = table[list(lesion)].astype(str).agg("/".join, axis=1).to_numpy()
    pert = table[perturbation].astype(str).to_numpy()
    dup = pd.Series(list(zip(key, pert, strict=True))).duplicated()
    if dup.any():
        k0, p0 = key[int(np.flatnonzero(dup)[0])], pert[int(np.flatnonzero(dup)[0])]
        raise InputError(
            f"lesion {k0} has perturbation {p0!r} more than once; one row per lesion and "
            "perturbation"
        )
    lesions, li = np.unique(key, return_inverse=True)
    perts, pi = np.unique(pert, return_inverse=True)
    values = table[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    cube = np.full((len(lesions), len(perts), len(cols)), np.nan)
    cube[li, pi, :] = values
    out: list[dict[str, Any]] = []
    for j, col in enumerate(cols):
        name = FeatureName.parse(col)
        wide = cube[:, :, j]
        # a perturbation refused for every lesion (a 1 mm volume change on 4 mm PET voxels)
        # rates none: it is left out, not every lesion with it
        rated = np.isfinite(wide).any(axis=0)
        wide = wide[:, rated]
        wide = wide[np.all(np.isfinite(wide), axis=1)]
        icc, lo, hi = icc11(wide)
        out.append(
            {
                "feature": col,
                "tag": name.tag if name else None,
                "filter": name.filter if name else None,
                "family": name.family if name else None,
                "icc": icc,
                "ci_low": lo,
                "ci_high": hi,
                "n_lesions": len(wide),
                "n_perturbations": int(rated.sum()),
                "icc_form": ICC_FORM,
            }
        )
    return pd.DataFrame(out, columns=list(STABILITY_COLUMNS))


def stable_counts(stability: pd.DataFrame, *, threshold: float = 0.75) -> pd.DataFrame:
    """Features per family, how many have an ICC (assessed) and how many are stable (ICC
    lower 95 % bound >= threshold).

    Returns
    -------
    pandas.DataFrame
        Columns ``tag``, ``family``, ``n_features``, ``n_assessed``, ``n_stable``, sorted by
        tag and family. A feature without an ICC (no lesion with every perturbation, or a
        constant feature) is not assessed: it is neither stable nor unstable.
    """
    frame = stability.assign(stable=stability["ci_low"].ge(threshold).fillna(False),
                             assessed=stability["ci_low"].notna())
    grouped = frame.groupby(["tag", "family"], dropna=False, sort=True)
    return (
        grouped.agg(n_features=("feature", "size"), n_assessed=("assessed", "sum"),
                    n_stable=("stable", "sum"))
        .astype(int)
        .reset_index()
    )


def run_stability(
    study: str | os.PathLike[str] | Study,
    out_dir: str | os.PathLike[str],
    *,
    perturbations: Sequence[str] | str | None = None,
    tags: Sequence[str] | None = None,
    patients: int | None = None,
    seed: int = 0,
    jobs: int = 1,
    progress: Callable[[Progress], None] | None = None,
    perturb_progress: Callable[[PerturbProgress], None] | None = None,
) -> StabilityResult:
    """Perturb a study, extract it with the cohort runner and write ``stability.parquet``.

    Parameters are those of :func:`prepare_perturbed_study`; ``jobs`` also sets the cohort
    runner's worker processes, ``progress`` is passed to the cohort runner and
    ``perturb_progress`` to the perturbation step (its ``progress``).

    Returns
    -------
    StabilityResult

    Examples
    --------
    >>> res = run_stability("examples/sts/study.yaml", "out/stab", tags=["ct"],
    ...                     patients=20, jobs=2)  # doctest: +SKIP
    >>> stable_counts(res.table)  # doctest: +SKIP
    """
    from radiomix.cohort import run_study
    from radiomix.settings.study import Study, load_study
    from radiomix.table import read_table, write_table

    source = study if isinstance(study, Study) else load_study(study)
    prepared = _prepare(
        source,
        out_dir,
        perturbations=perturbations,
        tags=tags,
        patients=patients,
        seed=seed,
        jobs=jobs,
        progress=perturb_progress,
    )
    study_path, errors = prepared.study_path, prepared.errors
    for refusal in prepared.refusals:
        log.warning("%s", refusal.describe())
    if prepared.absent:
        shown = ", ".join(prepared.absent[:10])
        more = f" and {len(prepared.absent) - 10} more" if len(prepared.absent) > 10 else ""
        log.warning(
            "%d of %d lesion(s) of the study have no image for some tag(s) (both cells of the "
            "study's manifest empty): %s%s; they are left out of those tags' ICCs: fill the "
            "cells of the study's manifest where the images exist",
            len(prepared.absent), prepared.n_lesions, shown, more,
        )
    out = Path(out_dir)
    # empty cells of the derived study are said above, in the words of the source study
    # (a refused or failed perturbation, an image the source lacks): not as missing images
    result = run_study(study_path, out / "extract", jobs=jobs, progress=progress,
                       note_absent_tags=False)
    table = read_table(result.features_path)
    stability = feature_icc(table)
    path = out / STABILITY_FILE
    tmp = path.with_name("stability.tmp.parquet")
    specs = parse_perturbations(perturbations)
    provenance = {
        "icc_form": ICC_FORM,
        "ci_level": 0.95,
        "perturbations": [p.spec for p in specs],
        "seed": seed,
        "patients": patients,
        "tags": list(tags) if tags else None,
        "perturb_format": PERTURB_FORMAT,
        # relative to the output folder, as the extraction's own entry: no absolute path
        "derived_study": os.path.relpath(study_path, out),
        # the extraction settings that define the features, per tag of the source study: an
        # analysis refuses this table for features extracted with other settings
        "tag_settings_hash": {t: h for t, h in source.tag_hashes().items()
                              if not tags or t in tags},
        "extraction_provenance": "extract/features.parquet",
        "n_lesions": int(stability["n_lesions"].max()) if len(stability) else 0,
        "perturbation_errors": errors,
        "perturbations_refused": [r.describe() for r in prepared.refusals],
        "extraction_errors": len(result.errors),
    }
    with removed_on_failure(tmp):
        write_table(stability.to_dict(orient="records"), tmp, provenance=provenance)
        os.replace(tmp, path)
    return StabilityResult(
        stability_path=path,
        study_path=study_path,
        extraction=result,
        table=stability,
        perturbation_errors=errors,
        refusals=prepared.refusals,
    )


