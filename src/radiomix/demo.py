"""The demo study: lung metastasis in soft-tissue sarcoma, from images to an HTML report.

:func:`run_demo` runs, on the 51-patient sarcoma cohort of the shared data (CT, FDG-PET
and T1-weighted MR with GTV masks, plus a clinical table):

1. **IBSI check** — the installation's features against the IBSI 1 reference values;
2. **radiomics** — IBSI features of every image through the cohort runner
   (:func:`radiomix.cohort.run_study` on ``examples/sts/study.yaml``), which persists each
   case, so a second run reuses them;
3. **deep features** — ResNet18 embeddings of every CT tumour slice (the lung study's
   design), cached per patient; the lesion vector is the mean over its slices. ImageNet
   weights when the weight file is in the cache (or given by path), otherwise an
   untrained network, announced in the console and in a report banner;
4. **QC thumbnails** — each mask contour over its image at the largest tumour slice;
5. **models** — the lung study's arms (radiomics + kNN, deep features, fused + kNN), a
   clinical model (age, sex, grade), a LASSO rad-score and the liver review's clinical +
   rad-score nomogram, all scored by repeated patient-grouped nested cross-validation
   (tuning in the inner folds only) with patient-bootstrap CIs and DeLong tests against
   the clinical arm;
6. **time to lung metastasis** — cross-validated Cox models (C-index, time-dependent AUC),
   Kaplan–Meier curves by out-of-fold rad-score group with a log-rank test;
7. **leakage audit** — the same kNN on slice-level deep features with a naive slice-level
   split and with a patient-grouped split, side by side;
8. **final models** — every arm refitted on all patients (tuned by inner CV) and saved with
   the out-of-fold predictions; the nomogram chart and the rad-score's features;
9. **report** — :func:`radiomix.report.write_report`.

Everything is written into ``out_dir``; see :func:`run_demo`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from radiomix.errors import InputError, SettingsError

log = logging.getLogger(__name__)

TAGS: tuple[str, ...] = ("ct", "pet", "mr_t1")
MODALITIES: dict[str, str] = {"ct": "CT", "pet": "FDG-PET (SUV)", "mr_t1": "T1-weighted MR"}
CLINICAL: tuple[str, ...] = ("age", "sex", "grade")
GRADE_LEVELS: tuple[str, ...] = ("Low", "Intermediate", "High")
TARGET = "lung_mets"
QUICK_FAMILIES: tuple[str, ...] = ("morph", "stat", "ih", "glcm")
QUICK_PATIENTS = 12

SOURCE_TEXT = (
    "Soft-tissue-Sarcoma collection of The Cancer Imaging Archive (TCIA), as prepared by the "
    "IBSI for its validation study (images cropped around the tumour; PET in SUV; MR "
    "bias-corrected and normalised); clinical table and lung-metastasis label of Vallières "
    "et al."
)
CITATION = (
    "Vallières M, Freeman CR, Skamene SR, El Naqa I. A radiomics model from joint FDG-PET and "
    "MRI texture features for the prediction of lung metastases in soft-tissue sarcomas of "
    "the extremities. Phys Med Biol 2015;60(14):5471–5496. The Cancer Imaging Archive, "
    "doi:10.7937/K9/TCIA.2015.7GO2GSKS. Licence CC BY 3.0."
)


# --------------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class DemoProgress:
    """A progress event of :func:`run_demo`.

    Attributes
    ----------
    stage : str
        Stage name (``ibsi``, ``radiomics``, ``deep``, ``qc``, ``models``, ``survival``,
        ``leakage``, ``final``, ``report``).
    message : str
        What happens.
    done, total : int or None
        Items finished and in all (cases, patients), when counted.
    level : {"info", "warning"}
        ``warning`` for events the user must notice (untrained deep network).
    """

    stage: str
    message: str
    done: int | None = None
    total: int | None = None
    level: str = "info"


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoPlan:
    """How much work the demo does (full study or the quick variant used by the tests).

    Attributes
    ----------
    quick : bool
    families : tuple of str or None
        Radiomic feature families (None: every family, as in the study file).
    ibsi_datasets : tuple of str
        IBSI 1 data sets checked.
    deep_input_size : int
        Pixels per side of the ResNet input (224 as the network was trained).
    outer_splits, inner_splits, n_repeats : int
        Nested cross-validation.
    n_bootstrap : int
        Patient-bootstrap replicates of every interval.
    knn_grid, c_grid, radscore_grid : tuple
        Inner-loop grids.
    audit_repeats : int
        Repeats of the leakage audit.
    survival_repeats : int
        Repeats of the survival cross-validation (its LASSO-Cox fits are slow).
    """

    quick: bool
    families: tuple[str, ...] | None
    ibsi_datasets: tuple[str, ...]
    deep_input_size: int
    outer_splits: int
    inner_splits: int
    n_repeats: int
    n_bootstrap: int
    knn_grid: tuple[int, ...]
    c_grid: tuple[float, ...]
    radscore_grid: tuple[float, ...]
    audit_repeats: int
    survival_repeats: int

    @classmethod
    def make(cls, *, quick: bool) -> DemoPlan:
        """The full study (``quick=False``) or the small, fast variant."""
        if quick:
            return cls(quick=True, families=QUICK_FAMILIES, ibsi_datasets=("dig_phantom",),
                       deep_input_size=64, outer_splits=3, inner_splits=2, n_repeats=1,
                       n_bootstrap=200, knn_grid=(1, 3), c_grid=(0.1, 1.0),
                       radscore_grid=(0.3, 1.0), audit_repeats=1,
                       survival_repeats=1)
        from radiomix.ibsi import DATASETS

        return cls(quick=False, families=None, ibsi_datasets=tuple(DATASETS),
                   deep_input_size=224, outer_splits=5, inner_splits=3, n_repeats=5,
                   n_bootstrap=1000, knn_grid=(3, 5, 9, 15), c_grid=(0.01, 0.1, 1.0, 10.0),
                   radscore_grid=(0.03, 0.1, 0.3, 1.0), audit_repeats=3,
                   survival_repeats=5)


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished child processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class _Timer:
    stages: list[dict[str, Any]] = field(default_factory=list)
    _cpu0: float = field(default_factory=_cpu)

    def add(self, stage: str, seconds: float, note: str) -> None:
        """Record a stage: wall seconds, CPU seconds since the previous stage, a note."""
        now = _cpu()
        self.stages.append({"stage": stage, "seconds": round(seconds, 2),
                            "cpu_seconds": round(now - self._cpu0, 2), "note": note})
        self._cpu0 = now


# --------------------------------------------------------------------------- inputs


def default_data_dir() -> Path:
    """The shared data folder holding ``sts/``: ``$RADIOMIX_DATA`` or ``../shared/data``
    beside the checkout (or the working directory), as :func:`radiomix.ibsi.data_dir`.

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


def read_clinical(sts_dir: Path) -> Any:
    """``sts/clinical.csv`` as a DataFrame (text kept as given)."""
    import pandas as pd

    path = sts_dir / "clinical.csv"
    if not path.is_file():
        raise InputError(f"clinical table not found: {path}")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def choose_patients(clinical: Any, n: int | None) -> list[str]:
    """Patients of the demo: all, or ``n`` of them keeping the event fraction.

    The subset is deterministic: patients with and without lung metastasis are each taken
    in id order, in numbers proportional to the cohort's (at least 3 of each).

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"patient_id": [f"P{i:02d}" for i in range(20)],
    ...                   "lung_mets": ["1" if i % 4 == 0 else "0" for i in range(20)]})
    >>> choose_patients(c, 8)
    ['P00', 'P01', 'P02', 'P03', 'P04', 'P05', 'P06', 'P08']
    """
    ids = clinical["patient_id"].astype(str).tolist()
    if n is None:
        return ids
    if not isinstance(n, int) or isinstance(n, bool) or n < 6:
        raise SettingsError(f"patients must be an integer >= 6 (3 per class at least), got {n!r}")
    if n >= len(ids):
        return ids
    pos = [p for p, y in zip(ids, clinical[TARGET].astype(str), strict=True) if y == "1"]
    neg = [p for p in ids if p not in set(pos)]
    k_pos = min(max(3, round(n * len(pos) / len(ids))), len(pos), n - 3)
    chosen = set(pos[:k_pos]) | set(neg[: n - k_pos])
    return [p for p in ids if p in chosen]


def _write_study(
    example: Path, data_dir: Path, patients: Sequence[str], plan: DemoPlan, folder: Path
) -> Path:
    """The demo's study file and manifest (the example's, for the chosen patients)."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    with (example / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = [r for r in reader if r["patient_id"] in set(patients)]
    missing = sorted(set(patients) - {r["patient_id"] for r in rows})
    if missing:
        raise InputError(f"patients {missing[:5]} are not in {example / 'manifest.csv'}")
    manifest = folder / "manifest.csv"
    with manifest.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    study = yaml.safe_load((example / "study.yaml").read_text(encoding="utf-8"))
    study["manifest"] = "manifest.csv"
    study["data_root"] = str((data_dir / "sts").resolve())
    if plan.families is not None:
        for tag in study["tags"].values():
            tag.setdefault("settings", {}).setdefault("features", {})["families"] = list(
                plan.families)
    path = folder / "study.yaml"
    text = ("# Written by radiomix.demo from examples/sts/study.yaml "
            f"({len(rows)} patients{', quick variant' if plan.quick else ''}).\n")
    path.write_text(text + yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- stages


def _ibsi_stage(plan: DemoPlan) -> dict[str, Any]:
    from radiomix.ibsi import check

    result = check(datasets=plan.ibsi_datasets, sources=("nifti",))
    per: dict[str, list[int]] = {}
    for s in result["summary"]:
        acc = per.setdefault(str(s["dataset"]), [0, 0])
        acc[0] += int(s["matched"])
        acc[1] += int(s["total"])
    return {
        "matched": int(result["matched"]),
        "total": int(result["total"]),
        "datasets": [{"dataset": d, "matched": v[0], "total": v[1]} for d, v in per.items()],
        "mismatches": [
            {k: m.get(k) for k in ("dataset", "family", "feature", "ibsi_code", "aggregation",
                                   "computed", "reference", "tolerance")}
            for m in result["mismatches"]
        ],
    }


def _resolve_deep_weights(
    weights: str | os.PathLike[str] | None, notify: Callable[[DemoProgress], None]
) -> tuple[str, dict[str, Any], str | None]:
    """(weights argument for DeepSettings, weights provenance, banner text or None)."""
    from radiomix.deep.errors import WeightsNotFoundError
    from radiomix.deep.weights import resolve_weights

    if weights is not None:
        source = resolve_weights(os.fspath(weights), model="resnet18", spatial_dims=2,
                                 download=False)
        arg = "random" if source.kind == "random" else os.fspath(weights)
        banner = None
        if source.kind == "random":
            banner = ("Deep features come from an UNTRAINED ResNet18 (random weights, "
                      "requested). They carry no learned image knowledge; the deep and fused "
                      "arms show what noise features give.")
        return arg, source.to_dict(), banner
    try:
        source = resolve_weights("imagenet", model="resnet18", spatial_dims=2, download=False)
        return "imagenet", source.to_dict(), None
    except WeightsNotFoundError as exc:
        from radiomix.deep.weights import cache_dir, known_weights

        source = resolve_weights("random", model="resnet18", spatial_dims=2)
        name = known_weights("imagenet", "resnet18", 2).filename
        banner = (
            "Deep features come from an UNTRAINED ResNet18 (random weights): the ImageNet "
            f"weight file {name} is not in {cache_dir()}. The deep and fused arms therefore "
            "show what random features give, not what the lung study's ImageNet features "
            f"would give. Put {name} there (or pass --weights PATH) and run the demo again."
        )
        notify(DemoProgress("deep", f"{banner} ({exc})", level="warning"))
        return "random", source.to_dict(), banner


def _deep_stage(
    study: Any,
    records: dict[tuple[str, str, str], dict[str, Any]],
    folder: Path,
    *,
    weights: str,
    weights_info: dict[str, Any],
    plan: DemoPlan,
    jobs: int,
    notify: Callable[[DemoProgress], None],
) -> tuple[Any, int, int]:
    """Slice embeddings of every CT tumour: (slice table, patients computed, reused)."""
    import pandas as pd

    from radiomix.check import check_case
    from radiomix.deep import DeepEmbedder, DeepSettings, embed
    from radiomix.io import load_image, load_mask
    from radiomix.io.manifest import read_manifest
    from radiomix.table import package_versions

    settings = DeepSettings(model="resnet18", mode="slices", weights=weights,
                            intensity="minmax", margin_mm=10.0,
                            input_size=plan.deep_input_size, batch_size=32,
                            num_threads=max(1, jobs), download=False)
    folder.mkdir(parents=True, exist_ok=True)
    cols = study.settings.columns
    rows = read_manifest(study.manifest, tags=study.tags, data_root=study.data_root,
                         patient_column=cols.patient_id, lesion_column=cols.lesion_id,
                         carry=cols.carried)
    version = package_versions(("radiomix",))["radiomix"]
    embedder = None
    frames, computed, reused = [], 0, 0
    for i, row in enumerate(rows):
        rec = records.get((row.patient_id, row.lesion_id, "ct"))
        spec = row.inputs.get("ct")
        if rec is None or rec.get("status") != "ok" or spec is None or spec.image is None \
                or spec.mask is None:
            continue  # failed cases are in the errors table already
        key = hashlib.sha256(json.dumps({
            "image": rec.get("image_sha256"), "mask": rec.get("mask_sha256"),
            "settings": settings.to_dict(), "weights": weights_info.get("weights_sha256")
            or weights_info.get("weights"), "version": version,
        }, sort_keys=True, default=str).encode()).hexdigest()[:24]
        path = folder / f"{row.patient_id}_{row.lesion_id}_{key}.parquet"
        if path.is_file():
            frames.append(pd.read_parquet(path))
            reused += 1
        else:
            if embedder is None:
                embedder = DeepEmbedder(settings)
            image = load_image(spec.image)
            case = check_case(image, load_mask(spec.mask, image), case_id=row.patient_id)
            df = embed(case, embedder=embedder,
                       ids={"patient_id": row.patient_id, "lesion_id": row.lesion_id}, tag="ct")
            tmp = path.with_suffix(".tmp")
            df.to_parquet(tmp, index=False)
            os.replace(tmp, path)
            frames.append(df)
            computed += 1
        notify(DemoProgress("deep", f"{row.patient_id}: CT slices embedded", i + 1, len(rows)))
    if not frames:
        raise InputError("no CT case succeeded: nothing to embed")
    slices = pd.concat(frames, ignore_index=True)
    slices.attrs = {}
    return slices, computed, reused


def _qc_stage(
    study: Any, records: dict[tuple[str, str, str], dict[str, Any]], folder: Path,
    notify: Callable[[DemoProgress], None],
) -> tuple[list[dict[str, Any]], int]:
    """QC thumbnails of every successful case (reused when the inputs are unchanged)."""
    import SimpleITK as sitk

    from radiomix.check import check_case
    from radiomix.io import load_image, load_mask
    from radiomix.io.manifest import read_manifest
    from radiomix.report.figures import largest_slice, qc_thumbnail

    folder.mkdir(parents=True, exist_ok=True)
    index_path = folder / "index.json"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}
    cols = study.settings.columns
    rows = read_manifest(study.manifest, tags=study.tags, data_root=study.data_root,
                         patient_column=cols.patient_id, lesion_column=cols.lesion_id,
                         carry=cols.carried)
    items, made = [], 0
    total = len(rows) * len(study.tags)
    done = 0
    for row in rows:
        for tag in study.tags:
            done += 1
            rec = records.get((row.patient_id, row.lesion_id, tag))
            spec = row.inputs.get(tag)
            if rec is None or rec.get("status") != "ok" or spec is None or spec.image is None \
                    or spec.mask is None:
                continue
            name = f"{row.patient_id}_{row.lesion_id}_{tag}.png"
            key = f"{rec.get('image_sha256')}:{rec.get('mask_sha256')}"
            entry = index.get(name)
            if not (entry and entry.get("key") == key and (folder / name).is_file()):
                image = load_image(spec.image)
                case = check_case(image, load_mask(spec.mask, image), case_id=row.patient_id)
                arr = sitk.GetArrayFromImage(case.image)
                mask = sitk.GetArrayViewFromImage(case.mask) > 0
                sp = case.image.GetSpacing()
                png = qc_thumbnail(arr, mask, (sp[2], sp[1], sp[0]),
                                   title=f"{row.patient_id} {MODALITIES.get(tag, tag)}")
                (folder / name).write_bytes(png)
                entry = {"key": key, "slice_index": largest_slice(mask),
                         "roi_voxels": int(mask.sum())}
                index[name] = entry
                made += 1
            items.append({"patient_id": row.patient_id, "lesion_id": row.lesion_id, "tag": tag,
                          "image": f"qc/{name}", "slice_index": entry["slice_index"],
                          "roi_voxels": entry["roi_voxels"]})
            if done % 10 == 0 or done == total:
                notify(DemoProgress("qc", "QC thumbnails", done, total))
    index_path.write_text(json.dumps(index, indent=0), encoding="utf-8")
    return items, made


def _arms(rad: list[str], deep: list[str], clin: list[str], plan: DemoPlan,
          seed: int) -> tuple[dict[str, Any], dict[str, dict[str, list[Any]]],
                              dict[str, dict[str, str]]]:
    """Estimators, inner-loop grids and descriptions of the arms."""
    from sklearn.pipeline import Pipeline

    from radiomix.model import BlockFuser, RadScore, build_pipeline
    from radiomix.model.nomogram import Nomogram

    sel = ("variance", "correlation", "mrmr")
    sel_text = ("zero-variance filter, correlation clustering (|r| > 0.9), mRMR to 10 "
                "features")
    knn = {"model__n_neighbors": list(plan.knn_grid)}
    cgrid = {"model__C": list(plan.c_grid)}
    arms: dict[str, Any] = {
        "clinical": build_pipeline("logistic", blocks={"clinical": clin}, random_state=seed),
        "radiomics_knn": build_pipeline("knn", selector=sel, blocks={"radiomic": rad},
                                        random_state=seed),
        "deep": build_pipeline("logistic", blocks={"deep": deep}, deep_pca=10,
                               random_state=seed),
        "fused_knn": build_pipeline("knn", selector=sel,
                                    blocks={"radiomic": rad, "deep": deep}, deep_pca=10,
                                    balance_blocks=True, random_state=seed),
        "radscore": Pipeline([
            ("fuse", BlockFuser(blocks={"radiomic": rad}).set_output(transform="pandas")),
            ("model", RadScore(random_state=seed)),
        ]),
        "clinical_radscore": Pipeline([
            ("fuse", BlockFuser(blocks={"radiomic": rad, "clinical": clin},
                                scale=None).set_output(transform="pandas")),
            ("model", Nomogram(radiomic_columns=rad, random_state=seed)),
        ]),
    }
    grids: dict[str, dict[str, list[Any]]] = {
        "clinical": cgrid, "radiomics_knn": knn, "deep": cgrid, "fused_knn": knn,
        "radscore": {"model__C": list(plan.radscore_grid)},
        # the nomogram cross-fits its rad-score inside every fit; the quick plan's inner
        # folds (4 patients) hold too few patients of a class for that, so it is not tuned
        "clinical_radscore": ({} if plan.quick
                              else {"model__radscore_C": list(plan.radscore_grid)}),
    }
    info = {
        "clinical": {
            "label": "Clinical (age, sex, grade)",
            "description": "age, sex and grade (ordinal) → logistic regression (L2)",
            "model": "logistic regression", "selection": "", "tuning": "C"},
        "radiomics_knn": {
            "label": "Radiomics + kNN",
            "description": "IBSI features of CT, PET and MR-T1 → " + sel_text
                           + " → k-nearest neighbours (the lung study's model)",
            "model": "k-nearest neighbours", "selection": sel_text, "tuning": "k"},
        "deep": {
            "label": "Deep features (ResNet18)",
            "description": "ResNet18 embedding of the CT tumour slices (mean over slices) → "
                           "PCA to 10 components → logistic regression (a linear head on "
                           "the frozen network)",
            "model": "logistic regression on PCA", "selection": "PCA (10 components)",
            "tuning": "C"},
        "fused_knn": {
            "label": "Fused (radiomics + deep) + kNN",
            "description": "radiomic features and the deep embedding (PCA to 10), blocks "
                           "weighted equally → " + sel_text + " → k-nearest neighbours",
            "model": "k-nearest neighbours", "selection": sel_text + "; deep block PCA",
            "tuning": "k"},
        "radscore": {
            "label": "Radiomics rad-score (LASSO)",
            "description": "IBSI features of CT, PET and MR-T1 → LASSO logistic rad-score",
            "model": "LASSO logistic regression", "selection": "LASSO (L1 penalty)",
            "tuning": "C (penalty)"},
        "clinical_radscore": {
            "label": "Clinical + rad-score (nomogram)",
            "description": "LASSO rad-score of the radiomic features, then logistic "
                           "regression on rad-score, age, sex and grade (the liver "
                           "review's nomogram design)",
            "model": "logistic nomogram", "selection": "LASSO rad-score",
            "tuning": "rad-score penalty"},
    }
    return arms, grids, info


def _encode_clinical(clinical: Any) -> Any:
    from radiomix.model import encode_clinical

    enc = encode_clinical(clinical, list(CLINICAL), ordinal={"grade": list(GRADE_LEVELS)})
    enc.index = clinical["patient_id"].astype(str).to_numpy()
    return enc


def _metric_dict(result: Any) -> dict[str, dict[str, Any]]:
    return {
        r["metric"]: {"estimate": r["estimate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
        for _, r in result.metrics.iterrows()
    }


def _feature_info(column: str) -> dict[str, Any]:
    """IBSI identity of a radiomic column name."""
    from radiomix.features import get_feature
    from radiomix.features.aggregation import Aggregation
    from radiomix.model import FeatureName

    parsed = FeatureName.parse(column)
    info: dict[str, Any] = {"column": column, "tag": None, "filter": None, "name": column,
                            "family": None, "family_code": None, "ibsi": None,
                            "aggregation": "none", "aggregation_code": "DHQ4"}
    if parsed is None:
        return info
    info.update(tag=parsed.tag, filter=parsed.filter, family=parsed.family)
    try:
        spec = get_feature(f"{parsed.family}.{parsed.feature}")
        info.update(name=spec.doc.split(" (IBSI")[0].rstrip(".") or spec.name,
                    ibsi=spec.ibsi or "none", family_code=spec.family_code)
    except InputError:
        info.update(ibsi="none")
    if parsed.aggregation:
        for agg in Aggregation:
            if agg.token == parsed.aggregation:
                info.update(aggregation=agg.printed, aggregation_code=agg.ibsi)
    else:
        info.update(aggregation="3D volume (no texture aggregation)", aggregation_code="DHQ4")
    return info


# --------------------------------------------------------------------------- main


def run_demo(
    out_dir: str | os.PathLike[str],
    *,
    data_dir: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    patients: int | None = None,
    quick: bool = False,
    weights: str | os.PathLike[str] | None = None,
    seed: int = 0,
    progress: Callable[[DemoProgress], None] | None = None,
) -> Path:
    """Run the whole sarcoma study and write its report.

    Parameters
    ----------
    out_dir : path
        Results folder. A second run into the same folder reuses the extracted radiomic
        cases (cohort runner resume), the CT embeddings and the QC thumbnails.
    data_dir : path, optional
        The shared data folder holding ``sts/`` (default :func:`default_data_dir`).
    jobs : int
        Worker processes of the radiomic extraction and torch threads of the embedding.
    patients : int, optional
        Use this many patients (keeping the event fraction) instead of all 51.
    quick : bool
        The small variant: 12 patients (unless ``patients`` is given), four feature
        families, a 64-pixel network input, 3 × 2 nested CV without repeats and 200
        bootstrap replicates. For tests; its numbers mean little.
    weights : str or path, optional
        ResNet18 weights: ``"imagenet"``, ``"random"`` or a checkpoint path. Default:
        ImageNet when the file is in the cache, otherwise random weights with a warning
        (console and report banner). Never downloads.
    seed : int
        Seed of every split, bootstrap and model.
    progress : callable, optional
        Receives :class:`DemoProgress` events.

    Returns
    -------
    Path
        ``out_dir/report.html``. Beside it: ``metrics.json`` (every number of the report),
        ``analysis.json``, ``predictions.csv`` (out-of-fold), ``model.joblib`` (the arms
        refitted on all patients), ``features/`` (cohort tables), ``deep/``, ``qc/``,
        ``figures/`` and ``study/`` (the study file and manifest used).

    Raises
    ------
    InputError
        Data not found, or no usable case.
    SettingsError
        Invalid options.
    """
    import pandas as pd

    from radiomix.table import file_hash, package_versions

    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise SettingsError(f"jobs must be an integer >= 1, got {jobs!r}")
    notify = progress or (lambda event: None)
    plan = DemoPlan.make(quick=quick)
    if quick and patients is None:
        patients = QUICK_PATIENTS
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timer = _Timer()
    t_all, cpu_all = time.perf_counter(), _cpu()
    banners: list[dict[str, str]] = []
    if quick:
        banners.append({"level": "info", "title": "Quick variant",
                        "text": "This report comes from the quick variant of the demo (few "
                                "patients, few feature families, small network input, no CV "
                                "repeats). It checks that the pipeline runs; its numbers mean "
                                "little. Run the full demo for the study."})

    # ---------------------------------------------------------------- setup
    t0 = time.perf_counter()
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    sts = data / "sts"
    clinical_all = read_clinical(sts)
    chosen = choose_patients(clinical_all, patients)
    clinical = clinical_all[clinical_all["patient_id"].isin(chosen)].reset_index(drop=True)
    example = example_study_dir()
    study_path = _write_study(example, data, chosen, plan, out / "study")
    from radiomix.settings.study import load_study

    study = load_study(study_path)
    timer.add("setup", time.perf_counter() - t0, f"{len(chosen)} patients, study file written")

    # ---------------------------------------------------------------- IBSI
    t0 = time.perf_counter()
    notify(DemoProgress("ibsi", "checking the IBSI 1 reference values"))
    ibsi = _ibsi_stage(plan)
    timer.add("IBSI check", time.perf_counter() - t0,
              f"{ibsi['matched']}/{ibsi['total']} reference values matched")

    # ---------------------------------------------------------------- radiomics
    t0 = time.perf_counter()
    from radiomix.cohort import run_study
    from radiomix.table import read_provenance

    def cohort_progress(p: Any) -> None:
        if p.event == "start":
            notify(DemoProgress("radiomics", f"{p.total} cases: {p.cached} reused, {p.todo} to "
                                             "compute", p.cached, p.total))
        elif p.event == "case":
            notify(DemoProgress("radiomics", f"{p.case}: {p.status}", p.cached + p.computed,
                                p.total))

    res = run_study(study, out / "features", jobs=jobs, progress=cohort_progress)
    features = pd.read_parquet(res.features_path)
    errors = pd.read_parquet(res.errors_path)
    prov = read_provenance(res.features_path)
    records = {(c["patient_id"], c["lesion_id"], c["tag"]): c for c in prov.get("cases", [])}
    timer.add("radiomic features", time.perf_counter() - t0,
              f"{res.n_cases} cases: {res.n_cached} reused, {res.n_computed} computed, "
              f"{res.n_failed} failed")

    # ---------------------------------------------------------------- deep
    t0 = time.perf_counter()
    weights_arg, weights_info, banner = _resolve_deep_weights(weights, notify)
    if banner:
        banners.insert(0, {"level": "error" if weights is None else "warning",
                           "title": "Untrained deep network", "text": banner})
        if progress is None:  # otherwise the progress callback received it as a warning
            log.warning(banner)
    slices, n_emb, n_emb_reused = _deep_stage(
        study, records, out / "deep" / "cache", weights=weights_arg, weights_info=weights_info,
        plan=plan, jobs=jobs, notify=notify)
    slices.to_parquet(out / "deep" / "ct_slices.parquet", index=False)
    from radiomix.deep import aggregate_slices

    lesion_deep = aggregate_slices(slices, stats=("mean",), by=["patient_id", "lesion_id"])
    timer.add("deep features", time.perf_counter() - t0,
              f"{len(slices)} CT slices of {n_emb + n_emb_reused} patients: {n_emb_reused} "
              f"reused, {n_emb} computed")

    # ---------------------------------------------------------------- QC
    t0 = time.perf_counter()
    qc_items, n_qc = _qc_stage(study, records, out / "qc", notify)
    timer.add("QC thumbnails", time.perf_counter() - t0,
              f"{len(qc_items)} thumbnails, {n_qc} drawn")

    # ---------------------------------------------------------------- table
    t0 = time.perf_counter()
    from radiomix.model import column_block

    rad_cols = [c for c in features.columns if column_block(c) == "radiomic"]
    deep_cols = [c for c in lesion_deep.columns
                 if column_block(c) == "deep" and c.endswith(".mean")]
    enc = _encode_clinical(clinical)
    clin_cols = list(enc.columns)
    table = features[["patient_id", "lesion_id", *rad_cols]].merge(
        lesion_deep[["patient_id", "lesion_id", *deep_cols]], on=["patient_id", "lesion_id"])
    table = table.merge(enc, left_on="patient_id", right_index=True)
    outcome = clinical.set_index("patient_id")[TARGET].astype(int)
    table[TARGET] = table["patient_id"].map(outcome).to_numpy()
    table = table.sort_values("patient_id").reset_index(drop=True)
    if table[TARGET].nunique() < 2:
        raise InputError("the usable lesions hold a single outcome class; nothing to model")
    X = table[[*rad_cols, *deep_cols, *clin_cols]]
    y = table[TARGET].to_numpy()
    groups = table["patient_id"].to_numpy()

    # ---------------------------------------------------------------- models
    from radiomix.evaluate.arms import compare_arms
    from radiomix.evaluate.metrics import decision_curve
    from radiomix.report.curves import calibration_table, roc_band

    arms, grids, info = _arms(rad_cols, deep_cols, clin_cols, plan, seed)
    notify(DemoProgress("models", f"nested CV of {len(arms)} arms on {len(table)} patients "
                                  f"({plan.outer_splits} outer x {plan.inner_splits} inner "
                                  f"folds, {plan.n_repeats} repeat(s))"))
    comp = compare_arms(arms, X, y, groups=groups, param_grids=grids, reference="clinical",
                        outer_splits=plan.outer_splits, inner_splits=plan.inner_splits,
                        n_repeats=plan.n_repeats, n_bootstrap=plan.n_bootstrap,
                        random_state=seed)
    tests = comp.tests.set_index("arm") if len(comp.tests) else pd.DataFrame()
    arm_doc: dict[str, Any] = {}
    curves: dict[str, Any] = {"roc": {}, "calibration": {}, "decision": {}, "km": {}}
    pred_frames = []
    n_in = {"clinical": len(clin_cols), "radiomics_knn": len(rad_cols), "deep": len(deep_cols),
            "fused_knn": len(rad_cols) + len(deep_cols), "radscore": len(rad_cols),
            "clinical_radscore": len(rad_cols) + len(clin_cols)}
    y_row = None
    for key, result in comp.results.items():
        P, y_row, g_row = result.oof_matrix()
        y01 = (y_row == result.classes[1]).astype(int)
        vs = None
        if key in tests.index:
            t = tests.loc[key]
            vs = {"auc_difference": t["auc_difference"], "diff_ci_low": t["diff_ci_low"],
                  "diff_ci_high": t["diff_ci_high"], "z": t["delong_z"],
                  "p_value": t["delong_p"]}
        arm_doc[key] = {**info[key], "n_features_in": n_in[key], "metrics": _metric_dict(result),
                        "vs_clinical": vs,
                        "grid": {k: list(v) for k, v in grids[key].items()},
                        "chosen": [f.get("best_params") for f in
                                   result.folds.to_dict("records")]}
        curves["roc"][key] = roc_band(y01, P, groups=g_row, n_bootstrap=min(plan.n_bootstrap, 200),
                                      random_state=seed, cross_validated=True)
        curves["calibration"][key] = calibration_table(y01, P, n_bins=5 if len(y01) >= 25 else 3)
        pred_frames.append(result.predictions.assign(arm=key))
    for key in ("clinical", "clinical_radscore", "radiomics_knn", "fused_knn"):
        if key in comp.results:
            P, yy, _ = comp.results[key].oof_matrix()
            dc = decision_curve((yy == comp.results[key].classes[1]).astype(int), P.mean(axis=0),
                                thresholds=np.arange(5, 80, 5) / 100)
            curves["decision"][key] = {"threshold": dc["threshold"].tolist(),
                                       "net_benefit": dc["net_benefit"].tolist()}
            curves["decision"]["treat all"] = {"threshold": dc["threshold"].tolist(),
                                               "net_benefit": dc["treat_all"].tolist()}
            curves["decision"]["treat none"] = {"threshold": dc["threshold"].tolist(),
                                                "net_benefit": dc["treat_none"].tolist()}
    predictions = pd.concat(pred_frames, ignore_index=True)
    predictions.to_csv(out / "predictions.csv", index=False)
    order = ["clinical", "radiomics_knn", "deep", "fused_knn", "radscore", "clinical_radscore"]
    timer.add("models (nested CV)", time.perf_counter() - t0,
              f"{len(arms)} arms, {plan.outer_splits}x{plan.inner_splits} folds, "
              f"{plan.n_repeats} repeat(s), {plan.n_bootstrap} bootstrap replicates")

    # ---------------------------------------------------------------- survival
    t0 = time.perf_counter()
    notify(DemoProgress("survival", "time to lung metastasis: Cox models, Kaplan-Meier"))
    survival = _survival_stage(table, clinical, clin_cols, rad_cols, comp, plan, seed, curves)
    timer.add("time to event", time.perf_counter() - t0,
              f"{len(survival['models'])} Cox models cross-validated, Kaplan-Meier")

    # ---------------------------------------------------------------- leakage
    t0 = time.perf_counter()
    notify(DemoProgress("leakage", f"leakage audit on {len(slices)} slice rows"))
    leakage = _leakage_stage(slices, outcome, plan, seed)
    timer.add("leakage audit", time.perf_counter() - t0,
              f"{leakage['n_rows']} slice rows of {leakage['n_patients']} patients")

    # ---------------------------------------------------------------- final models
    t0 = time.perf_counter()
    notify(DemoProgress("final", "refitting every arm on all patients"))
    nomogram, top, figure_files = _final_stage(arms, grids, X, y, groups, table, plan, seed,
                                               out)
    timer.add("final models", time.perf_counter() - t0,
              "every arm refitted on all patients (tuned by inner CV), saved to model.joblib")

    # ---------------------------------------------------------------- assemble
    from radiomix.table import VERSIONED_PACKAGES

    versions = package_versions((*VERSIONED_PACKAGES, "pandas", "scikit-learn", "lifelines",
                                 "torch", "monai", "matplotlib", "jinja2"))
    tag_settings = {}
    for tag in study.tags:
        s = study.extraction[tag]
        reseg = s.resegmentation
        parts = []
        rng = getattr(reseg, "range", None)
        if rng is not None and any(v is not None for v in rng):
            lo = "−∞" if rng[0] is None else f"{rng[0]:g}"
            hi = "∞" if rng[1] is None else f"{rng[1]:g}"
            parts.append(f"range [{lo}, {hi}]")
        if getattr(reseg, "outlier_sigma", None):
            parts.append(f"outliers beyond mean ± {reseg.outlier_sigma:g} SD removed")
        disc = s.discretisation
        if disc.method == "fbs":
            dtext = f"fixed bin size {disc.bin_width:g}"
        else:
            dtext = f"fixed bin number {disc.bins}"
        n_feat = sum(1 for c in rad_cols if c.startswith(tag + "."))
        tag_settings[tag] = {
            "dimensionality": s.dimensionality,
            "spacing_mm": [None if v is None else float(v)
                           for v in (s.interpolation.spacing or ())],
            "interpolation_method": str(s.interpolation.method),
            "resegmentation": ", ".join(parts) or "none",
            "discretisation": dtext,
            "families": ", ".join(s.features.families),
            "n_features": n_feat,
        }
    counts = prov.get("counts", {})
    n_events = int(y.sum())
    age = pd.to_numeric(clinical["age"], errors="coerce")
    fu = pd.to_numeric(clinical["days_dx_to_last_fu"], errors="coerce") / 365.25
    roi = {}
    for tag in study.tags:
        vox = [c.get("roi_voxels_native") or None for c in prov.get("cases", [])
               if c["tag"] == tag and c["status"] == "ok"]
        q = [it["roi_voxels"] for it in qc_items if it["tag"] == tag]
        vals = np.asarray(q if q else [v for v in vox if v], dtype=float)
        roi[tag] = ({"median": float(np.median(vals)), "min": float(vals.min()),
                     "max": float(vals.max())} if vals.size else
                    {"median": None, "min": None, "max": None})
    desc_weights = (
        "ImageNet (torchvision IMAGENET1K_V1, hash checked)" if weights_info.get("weights") ==
        "imagenet" else "untrained: random initialisation (seed 0)" if weights_info.get(
            "random_weights") else f"file {weights_info.get('weights_file')}")
    analysis: dict[str, Any] = {
        "schema": "radiomix.analysis/1",
        "title": "Lung metastasis in soft-tissue sarcoma: radiomics, deep features and "
                 "clinical covariates",
        "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "run": {
            "quick": quick, "patients_requested": patients, "jobs": jobs, "seed": seed,
            "data_dir": str(data), "study_file": str(study_path),
            "description": (
                f"{'Quick variant: ' if quick else ''}{len(table)} patients, images "
                f"{', '.join(MODALITIES[t] for t in study.tags)}, {len(rad_cols)} radiomic "
                f"and {len(deep_cols)} deep features, outcome lung metastasis."),
        },
        "banners": banners,
        "reference": {"chance_auc": 0.5, "ci_percent": 95, "alpha": 0.05},
        "cohort": {
            "source": SOURCE_TEXT, "citation": CITATION,
            "n_patients": len(table), "n_lesions": len(table),
            "n_events": n_events, "n_non_events": int(len(table) - n_events),
            "event_fraction": n_events / len(table),
            "age": {"median": float(age.median()), "q1": float(age.quantile(0.25)),
                    "q3": float(age.quantile(0.75)), "min": float(age.min()),
                    "max": float(age.max())},
            "sex": {str(k): int(v) for k, v in clinical["sex"].value_counts().sort_index().items()},
            "grade": {g: int((clinical["grade"] == g).sum())
                      for g in [*GRADE_LEVELS, "N/A"] if (clinical["grade"] == g).any()},
            "follow_up_years": {"median": float(fu.median()), "q1": float(fu.quantile(0.25)),
                                "q3": float(fu.quantile(0.75))},
            "tags": list(study.tags),
            "modalities": {t: MODALITIES.get(t, t) for t in study.tags},
            "roi_voxels": roi,
            "patients": list(table["patient_id"]),
        },
        "provenance": {
            "study_name": study.settings.name,
            "study_file": study_path.name,
            "study_sha256": file_hash(study_path),
            "manifest_file": study.manifest.name,
            "manifest_sha256": file_hash(study.manifest),
            "settings_hash": prov.get("settings_hash"),
            "n_input_files": 2 * sum(1 for c in prov.get("cases", []) if c.get("image_sha256")),
            "radiomix_version": versions.get("radiomix"),
            "versions": versions,
            "cases": {"total": int(counts.get("cases", res.n_cases)),
                      "cached": int(counts.get("cached", res.n_cached)),
                      "computed": int(counts.get("computed", res.n_computed)),
                      "failed": int(counts.get("failed", res.n_failed))},
        },
        "settings": {
            "tags": tag_settings,
            "deep": {
                "model": "resnet18",
                "architecture": "ResNet18 (torchvision layout, MONAI network), classifier "
                                "removed: 512-value global-average-pooled embedding",
                "weights_label": desc_weights,
                "weights_sha256": weights_info.get("weights_sha256"),
                "random_weights": bool(weights_info.get("random_weights")),
                "input": (f"every axial CT slice through the tumour, cropped to the tumour "
                          f"with a 10 mm margin, min–max intensity scaling, resized to "
                          f"{plan.deep_input_size} × {plan.deep_input_size} pixels, ImageNet "
                          "normalisation"),
                "description": (
                    "The lung study's deep features: a ResNet18 with its classification layer "
                    "removed, applied to each tumour slice. "
                    + ("This run used an UNTRAINED network (random weights): its features "
                       "carry no learned image knowledge." if weights_info.get("random_weights")
                       else "This run used the ImageNet weights, as the lung study.")),
                "n_slices": len(slices),
                "n_patients": int(slices["patient_id"].nunique()),
            },
        },
        "ibsi": ibsi,
        "qc": qc_items,
        "errors": [{k: (None if pd.isna(v) else _no_urls(str(v))) for k, v in r.items()}
                   for r in errors.to_dict("records")],
        "evaluation": {
            "scheme": (f"nested patient-grouped cross-validation, {plan.outer_splits} outer × "
                       f"{plan.inner_splits} inner folds, {plan.n_repeats} repeat(s)"),
            "outer_splits": plan.outer_splits, "inner_splits": plan.inner_splits,
            "n_repeats": plan.n_repeats, "n_bootstrap": plan.n_bootstrap, "seed": seed,
            "description": (
                f"Each model is scored by nested cross-validation grouped by patient: the "
                f"patients are split into {plan.outer_splits} folds stratified by outcome; "
                f"each fold is predicted by a model fitted on the other folds, whose "
                f"hyper-parameters were chosen by an inner {plan.inner_splits}-fold "
                "cross-validation on those training patients only. Imputation, scaling, PCA "
                "and feature selection are refitted inside every training fold, so no "
                f"information from a test patient reaches its model. This is repeated "
                f"{plan.n_repeats} time(s) with new folds; the metrics are averaged over "
                f"repeats, and the {plan.n_bootstrap} bootstrap replicates that resample "
                "patients give the 95 % intervals. All arms share the same folds, so they "
                "are compared on paired predictions (DeLong's test)."),
        },
        "arms": {k: arm_doc[k] for k in order if k in arm_doc},
        "arm_order": [k for k in order if k in arm_doc],
        "survival": survival,
        "nomogram": nomogram,
        "features": top,
        "leakage": leakage,
        "figure_files": figure_files,
        "artefacts": {"model": "model.joblib", "predictions": "predictions.csv",
                      "metrics": "metrics.json", "analysis": "analysis.json",
                      "features": "features/features.parquet",
                      "errors": "features/errors.parquet",
                      "deep": "deep/ct_slices.parquet", "study": "study/study.yaml"},
        "curves": curves,
    }
    t0 = time.perf_counter()
    cpu_report = _cpu()
    timer.add("report", 0.0, "figures and HTML")
    analysis["timings"] = {"stages": timer.stages, "total_seconds": 0.0}
    from radiomix.report.html import clean_json, write_report

    _write_json(out / "analysis.json", clean_json(analysis))
    notify(DemoProgress("report", "writing report.html"))
    write_report(out)
    timer.stages[-1]["seconds"] = round(time.perf_counter() - t0, 2)
    timer.stages[-1]["cpu_seconds"] = round(_cpu() - cpu_report, 2)
    analysis["timings"] = {"stages": timer.stages,
                           "total_seconds": round(time.perf_counter() - t_all, 2),
                           "total_cpu_seconds": round(_cpu() - cpu_all, 2)}
    analysis["timings"]["history"] = _run_history(out / "run_history.json", analysis)
    _write_json(out / "analysis.json", clean_json(analysis))
    path = write_report(out)  # again, with the report's own time in the table
    notify(DemoProgress("report", f"report written to {path}"))
    return path


def _run_history(path: Path, analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """Append this run's timings to ``run_history.json`` of the results folder; return the
    first run (cold: nothing to reuse) and this one."""
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(history, list):
            history = []
    except (OSError, ValueError):
        history = []
    t = analysis["timings"]
    entry = {"created": analysis["created"], "quick": analysis["run"]["quick"],
             "stages": {s["stage"]: s["seconds"] for s in t["stages"]},
             "total_seconds": t["total_seconds"], "total_cpu_seconds": t["total_cpu_seconds"]}
    history.append(entry)
    _write_json(path, history)
    first = history[0]
    return [{"run": "first run in this folder", **first}, {"run": "this run", **entry}]


def _write_json(path: Path, doc: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False),
                   encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- stage helpers


def _survival_stage(table: Any, clinical: Any, clin_cols: list[str], rad_cols: list[str],
                    comp: Any, plan: DemoPlan, seed: int, curves: dict[str, Any]) -> dict[str, Any]:
    """Cross-validated Cox models and Kaplan–Meier curves by out-of-fold rad-score group."""
    from sklearn.pipeline import Pipeline

    from radiomix.evaluate.bootstrap import (
        CV_INTERVAL_SCALE,
        patient_bootstrap_weights,
        percentile_interval,
        widen_interval,
    )
    from radiomix.evaluate.survival import (
        MIN_AT_RISK,
        concordance_index,
        km_by_risk_group,
        survival_cv,
    )
    from radiomix.model import BlockFuser, CorrelationClusterSelector, VarianceSelector
    from radiomix.model.nomogram import CoxNomogram
    from radiomix.model.survival import CoxPH, sarcoma_lung_metastasis_outcome

    out = sarcoma_lung_metastasis_outcome(clinical).set_index("patient_id")
    ids = table["patient_id"].to_numpy()
    t = out.loc[ids, "time_years"].to_numpy(dtype=float)
    e = out.loc[ids, "event"].to_numpy(dtype=int)
    horizons, refused = [], {}
    for h in (1.0, 2.0):
        at_risk = int(np.sum(t >= h))
        cases = int(np.sum((t <= h) & (e == 1)))
        if at_risk < MIN_AT_RISK or cases == 0:
            refused[h] = (f"AUC at {h:g} year(s) refused: {at_risk} patient(s) still at "
                          f"risk and {cases} event(s) by then (at least {MIN_AT_RISK} at risk "
                          "and one event are needed)")
        else:
            horizons.append(h)
    models = {
        "clinical_cox": ("Cox: clinical (age, sex, grade)", Pipeline([
            ("fuse", BlockFuser(blocks={"clinical": clin_cols})),
            ("model", CoxPH(penalizer=0.01))]), clin_cols),
        "nomogram_cox": ("Cox: clinical + rad-score (LASSO-Cox)", Pipeline([
            ("fuse", BlockFuser(blocks={"radiomic": rad_cols, "clinical": clin_cols},
                                scale=None)),
            # constant columns carry nothing; correlated ones are clustered before LASSO-Cox
            ("variance", VarianceSelector()),
            ("select", CorrelationClusterSelector(threshold=0.8)),
            # the rad-score is cross-fitted in 5 internal folds grouped by patient
            ("model", CoxNomogram(radiomic_columns="auto", horizon=1.0,
                                  radscore_penalizer=0.1,
                                  random_state=seed))]).set_output(transform="pandas"),
            rad_cols + clin_cols),
    }
    docs: dict[str, Any] = {}
    X = table[[*rad_cols, *clin_cols]]
    for key, (label, est, cols) in models.items():
        try:
            with warnings.catch_warnings():  # lifelines warns on every near-separated column
                warnings.simplefilter("ignore")
                ev = survival_cv(est, X[cols], t, e, groups=ids, horizons=horizons,
                                 n_splits=plan.outer_splits, n_repeats=plan.survival_repeats,
                                 n_bootstrap=plan.n_bootstrap, random_state=seed)
        except InputError as exc:
            log.warning("survival model %s failed: %s", key, exc)
            docs[key] = {"label": label, "c_index": {"estimate": None, "ci_low": None,
                                                     "ci_high": None},
                         "td_auc": [], "error": "not estimable: " + _no_urls(str(exc))}
            continue
        met = ev.metrics
        c = met[met["metric"] == "c_index"].iloc[0]
        td = []
        for h in (1.0, 2.0):
            row = met[(met["metric"] == "td_auc") & (met["horizon"] == h)]
            if len(row):
                r = row.iloc[0]
                td.append({"horizon_years": h, "estimate": r["estimate"], "ci_low": r["ci_low"],
                           "ci_high": r["ci_high"], "n_at_risk": r.get("n_at_risk")})
            else:
                td.append({"horizon_years": h, "estimate": None, "ci_low": None,
                           "ci_high": None,
                           "status": "too few at risk" if h in refused else "not computed"})
        docs[key] = {"label": label, "scheme": ev.scheme,
                     "c_index": {"estimate": c["estimate"], "ci_low": c["ci_low"],
                                 "ci_high": c["ci_high"]}, "td_auc": td}
    # the rad-score arm's out-of-fold predictions, averaged over repeats: a risk score
    km_doc = None
    if "radscore" in comp.results:
        P, _, g_row = comp.results["radscore"].oof_matrix()
        risk = P.mean(axis=0)
        order = {p: i for i, p in enumerate(g_row)}
        risk = risk[[order[p] for p in ids]]
        W = patient_bootstrap_weights(ids, n_bootstrap=plan.n_bootstrap, random_state=seed)
        c_oof = float(concordance_index(t, risk, e))
        lo, hi = widen_interval(c_oof, *percentile_interval(concordance_index(t, risk, e, W))[:2],
                                scale=CV_INTERVAL_SCALE, bounds=(0.0, 1.0))
        docs["radscore_oof"] = {
            "label": "Out-of-fold rad-score (no Cox refit)",
            "c_index": {"estimate": c_oof, "ci_low": lo, "ci_high": hi},
            "td_auc": [{"horizon_years": h, "estimate": None, "ci_low": None, "ci_high": None,
                        "status": "not computed"} for h in (1.0, 2.0)]}
        km = km_by_risk_group(t, risk, e, n_groups=2)
        km_doc = {
            "grouping": ("Patients split at the median of their out-of-fold rad-score (each "
                         "patient's score comes from a model that never saw that patient; the "
                         "cut-off uses no outcome)."),
            "groups": [{"group": r["group"], "n": int(r["n"]), "events": int(r["events"]),
                        "median_years": r["median_time"]}
                       for r in km.groups.to_dict("records")],
            "logrank_statistic": km.logrank_statistic, "logrank_p": km.logrank_p,
            "cutoff": km.cutoffs[0] if km.cutoffs else None,
        }
        curves["km"] = {f"{name} rad-score": {k: cur[k].tolist() for k in
                                              ("time", "survival", "ci_lower", "ci_upper")}
                        for name, cur in km.curves.items()}
    note = "; ".join(refused.values()) if refused else (
        "Horizons of 1 and 2 years: each has enough patients still at risk.")
    return {
        "outcome": ("Time from diagnosis to lung metastasis, in years; patients without lung "
                    "metastasis are censored at another first event or at last follow-up."),
        "n_events": int(e.sum()),
        "horizons_years": [1.0, 2.0],
        "horizon_note": note,
        "models": docs,
        "model_order": [k for k in ("clinical_cox", "nomogram_cox", "radscore_oof") if k in docs],
        "km": km_doc,
    }


def _leakage_stage(slices: Any, outcome: Any, plan: DemoPlan, seed: int) -> dict[str, Any]:
    """The leakage audit on slice-level deep features (kNN, no tuning)."""
    from radiomix.evaluate.audit import GROUPED_LABEL, NAIVE_LABEL, leakage_audit
    from radiomix.model import build_pipeline, column_block

    cols = [c for c in slices.columns if column_block(str(c)) == "deep"]
    X = slices[cols]
    g = slices["patient_id"].astype(str).to_numpy()
    y = outcome.loc[g].to_numpy(dtype=int)
    est = build_pipeline("knn", blocks={"deep": cols}, deep_pca=10, random_state=seed)
    audit = leakage_audit(est, X, y, groups=g, n_repeats=plan.audit_repeats,
                          n_splits=plan.outer_splits,
                          n_bootstrap=min(plan.n_bootstrap, 500), random_state=seed)
    schemes = []
    for scheme in audit.table["scheme"].unique():
        part = audit.table[audit.table["scheme"] == scheme]
        sides = {}
        for side, lab in (("grouped", GROUPED_LABEL), ("naive", NAIVE_LABEL)):
            r = part[part["split"] == lab].iloc[0]
            sides[side] = {
                "label": "Patient-grouped split" if side == "grouped"
                         else "Naive slice-level split — LEAKY, audit only",
                "roc_auc": {"estimate": r["roc_auc"], "ci_low": r["roc_auc_ci_low"],
                            "ci_high": r["roc_auc_ci_high"]},
                "roc_auc_sd": r["roc_auc_sd"], "accuracy": r["accuracy"],
                "overlap": r["test_rows_with_patient_in_train"],
            }
        inf = audit.inflation[audit.inflation["scheme"] == scheme].iloc[0]
        schemes.append({"scheme": scheme, **sides,
                        "inflation": {"roc_auc": inf["roc_auc_inflation"],
                                      "accuracy": inf["accuracy_inflation"]}})
    return {
        "description": (
            f"{len(slices)} CT tumour slices of {len(set(g))} patients, each slice one row "
            "with its 512 deep features and its patient's label, as in the lung study. The "
            "same model (PCA to 10 components, then k-nearest neighbours with k = 5, no "
            "tuning) is scored twice: once with splits that keep each patient's slices "
            "together, once with a naive split of the slices, which puts slices of the "
            "same patient on both sides."),
        "interpretation": (
            "Neighbouring slices of one tumour look almost alike, so under the naive split "
            "the model finds the same patient in the training set and copies that patient's "
            "label: the score measures recognition of the patient, not prediction of the "
            "outcome. Only the patient-grouped numbers estimate performance on new "
            "patients."),
        "model": "PCA (10) + kNN (k = 5)",
        "n_rows": len(slices), "n_patients": len(set(g)),
        "schemes": schemes,
    }


def _final_stage(arms: dict[str, Any], grids: dict[str, Any], X: Any, y: Any, groups: Any,
                 table: Any, plan: DemoPlan, seed: int,
                 out: Path) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, str]]:
    """Refit every arm on all patients; nomogram chart, rad-score features, model file."""
    import joblib

    from radiomix.evaluate.bootstrap import patient_bootstrap_weights, percentile_interval
    from radiomix.evaluate.metrics import weighted_roc_auc
    from radiomix.evaluate.validate import fit_tuned
    from radiomix.report.figures import to_png
    from radiomix.table import package_versions

    fitted = {k: fit_tuned(est, X, y, groups=groups, param_grid=grids[k],
                           inner_splits=plan.inner_splits, random_state=seed)
              for k, est in arms.items()}
    joblib.dump({
        "models": fitted,
        "columns": list(X.columns),
        "target": TARGET,
        "note": ("each arm refitted on all patients (hyper-parameters chosen by patient-"
                 "grouped inner CV); its expected performance is the nested-CV estimate in "
                 "metrics.json, not a score on these patients"),
        "versions": package_versions(),
    }, out / "model.joblib")
    figure_files: dict[str, str] = {}
    nomogram_doc = None
    best = fitted["clinical_radscore"]
    nomo = getattr(best, "best_estimator_", best).named_steps["model"]
    (out / "figures").mkdir(exist_ok=True)
    try:
        (out / "figures" / "nomogram.png").write_bytes(
            to_png(nomo.plot(title="Nomogram: probability of lung metastasis")))
        figure_files["nomogram"] = "figures/nomogram.png"
    except InputError as exc:
        log.warning("nomogram chart not drawn: %s", exc)
    coef = nomo.coefficients()
    n_sel = int((nomo.radscore_.coef_ != 0).sum()) if hasattr(nomo, "radscore_") else 0
    n_folds = getattr(nomo, "n_crossfit_folds_", nomo.radscore_cv)
    nomogram_doc = {
        "description": ("The nomogram combines a LASSO rad-score of the radiomic features "
                        "with age, sex and grade in one logistic model. It is refitted on all "
                        "patients to draw the chart. The rad-score's weight is estimated on "
                        "cross-fitted rad-scores: each patient's rad-score comes from a LASSO "
                        f"model fitted without that patient ({n_folds} internal folds grouped "
                        "by patient), so the weight is not inflated by the rad-score having "
                        "seen the same patients; the rad-score on the chart is then refitted "
                        "on all patients. Read the chart as the model's structure, and its "
                        "accuracy from the cross-validated 'Clinical + rad-score' arm above."),
        "coefficients": [{"term": r["term"], "coef": r["coef_raw"], "odds_ratio": r["odds_ratio"]}
                         for r in coef.to_dict("records")],
        "n_radscore_features": n_sel,
        "chosen": dict(getattr(best, "best_params_", {})),
    }
    rs_best = fitted["radscore"]
    rs = getattr(rs_best, "best_estimator_", rs_best).named_steps["model"]
    cf = rs.coefficients()
    cf = cf[(cf["term"] != "(intercept)") & cf["selected"]]
    cf = cf.reindex(cf["coef_standardised"].abs().sort_values(ascending=False).index).head(10)
    rows = []
    g = table["patient_id"].to_numpy()
    W = patient_bootstrap_weights(g, n_bootstrap=min(plan.n_bootstrap, 500), random_state=seed)
    for r in cf.to_dict("records"):
        item = _feature_info(r["term"])
        x = table[r["term"]].to_numpy(dtype=float)
        ok = np.isfinite(x)
        if ok.sum() > 2 and len(np.unique(y[ok])) == 2:
            auc = float(weighted_roc_auc(y[ok], _rank01(x[ok]))[0])
            lo, hi, _ = percentile_interval(weighted_roc_auc(y[ok], _rank01(x[ok]), W[:, ok]))
        else:
            auc, lo, hi = None, None, None
        rows.append({**item, "coefficient": r["coef_standardised"],
                     "univariate_auc": {"estimate": auc, "ci_low": lo, "ci_high": hi}})
    top = {
        "description": (
            "Features kept by the LASSO rad-score refitted on all patients (penalty chosen "
            "by inner cross-validation), by the size of their standardised coefficient. "
            "Which features are kept varies between folds and resamples: treat this as a "
            "description of one model, not a discovery."),
        "top": rows,
    }
    return nomogram_doc, top, figure_files


def _no_urls(text: str) -> str:
    """``text`` without web addresses (the report references no external URL).

    Examples
    --------
    >>> _no_urls("see https://example.org/x for tips")
    'see (web link removed) for tips'
    """
    import re

    return re.sub(r"https?://\S+", "(web link removed)", text)


def _rank01(x: Any) -> Any:
    """Ranks scaled to [0, 1] (a monotone map for the AUC of a raw feature)."""
    from scipy.stats import rankdata

    r = rankdata(x)
    return (r - r.min()) / (r.max() - r.min()) if r.max() > r.min() else np.zeros_like(r)


__all__ = ["DemoPlan", "DemoProgress", "choose_patients", "default_data_dir", "run_demo"]
