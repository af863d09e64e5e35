"""The demo: ``examples/sts/study.yaml`` through extraction, analysis and report.

The demo is one study like any other: the study file of the sarcoma cohort declares the
images, their settings, the deep features and the analysis (lung metastasis and time to
lung metastasis; the lung study's radiomics / deep / fused arms, the liver review's
rad-score and nomogram, the clinical, tumour-volume and prevalence baselines).
:func:`run_demo` copies it into the results folder (for the chosen patients; the quick
variant with fewer feature families and folds) and runs
:func:`radiomix.analysis.study.analyse_study` on it. Nothing here does what the public API
does not offer.
"""

from __future__ import annotations

import csv
import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from radiomix.analysis.study import StudyProgress, analyse_study
from radiomix.errors import InputError, SettingsError

log = logging.getLogger(__name__)

TARGET = "lung_mets"
QUICK_FAMILIES: tuple[str, ...] = ("morph", "stat", "ih", "glcm")
QUICK_PATIENTS = 12
QUICK_VALIDATION: dict[str, Any] = {"outer_splits": 3, "inner_splits": 2, "repeats": 1,
                                    "bootstrap": 200}


def default_data_dir() -> Path:
    """The shared data folder holding ``sts/``: ``$RADIOMIX_DATA`` or ``../shared/data``
    beside the checkout (or the working directory).

    Raises
    ------
    InputError
        No such folder found.
    """
    env = os.environ.get("RADIOMIX_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for base in (*here.parents, Path.cwd(), *Path.cwd().parents):
        cand = base / "shared" / "data"
        if (cand / "sts" / "clinical.csv").is_file():
            return cand
    raise InputError(
        "the sarcoma cohort was not found: set RADIOMIX_DATA to the shared data folder that "
        "holds sts/ (../shared/data beside the checkout), or pass data_dir"
    )


def example_study_dir() -> Path:
    """``examples/sts`` of the source checkout (study file and manifest of the cohort).

    Raises
    ------
    InputError
        Not found (radiomix installed without its source tree).
    """
    here = Path(__file__).resolve()
    for base in (*here.parents, Path.cwd()):
        cand = base / "examples" / "sts"
        if (cand / "study.yaml").is_file() and (cand / "manifest.csv").is_file():
            return cand
    raise InputError(
        "examples/sts/study.yaml was not found: run the demo from a radiomix source checkout "
        "(git clone ...; make demo)"
    )


def choose_patients(rows: Sequence[dict[str, str]], n: int | None) -> list[str]:
    """Patients of the demo: all, or ``n`` of them keeping the event fraction.

    The subset is deterministic: patients with and without lung metastasis are each taken
    in id order, in numbers proportional to the cohort's (at least 3 of each).

    Examples
    --------
    >>> rows = [{"patient_id": f"P{i:02d}", "lung_mets": "1" if i % 4 == 0 else "0"}
    ...         for i in range(20)]
    >>> choose_patients(rows, 8)
    ['P00', 'P01', 'P02', 'P03', 'P04', 'P05', 'P06', 'P08']
    """
    ids = [r["patient_id"] for r in rows]
    if n is None:
        return ids
    if not isinstance(n, int) or isinstance(n, bool) or n < 6:
        raise SettingsError(f"patients must be an integer >= 6 (3 per class at least), got {n!r}")
    if n >= len(ids):
        return ids
    pos = [r["patient_id"] for r in rows if r[TARGET] == "1"]
    neg = [p for p in ids if p not in set(pos)]
    k_pos = min(max(3, round(n * len(pos) / len(ids))), len(pos), n - 3)
    chosen = set(pos[:k_pos]) | set(neg[: n - k_pos])
    return [p for p in ids if p in chosen]


def _fit_folds(validation: dict[str, Any], labels: Sequence[str]) -> None:
    """Fewer folds where the chosen patients cannot fill the study's: the folds are
    stratified by the outcome, so there are at most as many outer folds as the larger class
    has patients, and at most as many inner folds as it keeps in an outer training fold (6
    patients, 3 of each class: 3 outer and 2 inner folds instead of 5 and 3)."""
    larger = max(Counter(labels).values())
    outer = min(int(validation.get("outer_splits", 5)), larger)
    inner = min(int(validation.get("inner_splits", 3)), max(2, larger - -(-larger // outer)))
    validation.update({"outer_splits": outer, "inner_splits": inner})


def write_demo_study(out: Path, data_dir: Path, *, patients: int | None, quick: bool,
                     seed: int) -> Path:
    """The example study, copied into ``out/study`` for the chosen patients (and, in the
    quick variant, with fewer feature families and folds)."""
    import yaml

    example = example_study_dir()
    folder = out / "study"
    folder.mkdir(parents=True, exist_ok=True)
    with (example / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    chosen = set(choose_patients(rows, patients))
    with (folder / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(r for r in rows if r["patient_id"] in chosen)
    study = yaml.safe_load((example / "study.yaml").read_text(encoding="utf-8"))
    study["manifest"] = "manifest.csv"
    study["data_root"] = str((data_dir / "sts").resolve())
    study["analysis"].setdefault("validation", {})["seed"] = seed
    if quick:
        for tag in study["tags"].values():
            tag.setdefault("settings", {}).setdefault("features", {})["families"] = list(
                QUICK_FAMILIES)
        study["analysis"]["validation"].update(QUICK_VALIDATION)
        study["analysis"]["title"] += " (quick variant: its numbers mean little)"
    _fit_folds(study["analysis"]["validation"],
               [r[TARGET] for r in rows if r["patient_id"] in chosen])
    path = folder / "study.yaml"
    text = ("# Written by radiomix.demo from examples/sts/study.yaml "
            f"({len(chosen)} patients{', quick variant' if quick else ''}).\n")
    path.write_text(text + yaml.safe_dump(study, sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return path


def run_demo(
    out_dir: str | os.PathLike[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    patients: int | None = None,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[StudyProgress], None] | None = None,
) -> Path:
    """Run the sarcoma study and write its report.

    Parameters
    ----------
    out_dir : path
        Results folder; a second run reuses the extracted cases.
    data_dir : path, optional
        The shared data folder holding ``sts/`` (default :func:`default_data_dir`).
    jobs : int
        Worker processes of the extraction.
    patients : int, optional
        Use this many patients (keeping the event fraction) instead of all 51.
    quick : bool
        12 patients (unless ``patients`` is given), four feature families, 3 × 2 folds
        without repeats, 200 bootstrap replicates: checks the pipeline; its numbers mean
        little.
    seed : int
        Seed of every split, bootstrap and model.
    progress : callable, optional
        Receives :class:`~radiomix.analysis.study.StudyProgress` events.

    Returns
    -------
    Path
        ``out_dir/report.html`` (beside it ``analysis.json``, ``metrics.json``,
        ``predictions.csv``, ``model.joblib``, ``features/`` and ``study/``).
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise SettingsError(f"jobs must be an integer >= 1, got {jobs!r}")
    out = Path(out_dir)
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    if quick and patients is None:
        patients = QUICK_PATIENTS
    study = write_demo_study(out, data, patients=patients, quick=quick, seed=seed)
    analyse_study(study, out, jobs=jobs, progress=progress,
                  derived_from=example_study_dir() / "study.yaml")
    return out / "report.html"


__all__ = ["choose_patients", "default_data_dir", "run_demo", "write_demo_study"]
