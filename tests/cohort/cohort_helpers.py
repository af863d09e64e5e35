"""Small study files over a few small cases of the sarcoma cohort (shared/data/sts)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from _data import require_data

SMALL = ("STS_019", "STS_042", "STS_035", "STS_008", "STS_002", "STS_025", "STS_041", "STS_024")
"""Patients with the smallest PET GTVs (239 to 786 voxels)."""

FAST = {
    "pet": {
        "interpolation": {"spacing": [4.0, 4.0, 4.0]},
        "resegmentation": {"range": [0.0, None]},
        "discretisation": {"method": "fbs", "bin_width": 0.25},
        "features": {"families": ["morph", "stat"]},
    },
    "ct": {
        "interpolation": {"spacing": [4.0, 4.0, 4.0], "round_intensities": True},
        "resegmentation": {"range": [-200, 400]},
        "discretisation": {"method": "fbs", "bin_width": 25},
        "features": {"families": ["stat", "ih"]},
    },
}
"""Quick per-tag settings (coarse grid, cheap families)."""


def sts_root() -> Path:
    """shared/data/sts (skips when absent)."""
    return require_data("sts", "nifti").parent


def nifti(patient: str, tag: str, kind: str) -> str:
    """Path of an image or mask relative to the sts folder."""
    return f"nifti/{patient}/{tag}/{kind}.nii.gz"


def lesion(
    patient: str, tags: Sequence[str] = ("pet",), lesion_id: str = "1", **extra: Any
) -> dict[str, Any]:
    """Manifest row of one patient with the cohort's own images and masks."""
    row: dict[str, Any] = {"patient_id": patient, "lesion_id": lesion_id}
    for tag in tags:
        row[f"{tag}_image"] = nifti(patient, tag, "image")
        row[f"{tag}_mask"] = nifti(patient, tag, "mask")
    row.update(extra)
    return row


def write_manifest(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write rows as a CSV (columns: union of the rows' keys, in first-seen order)."""
    header: dict[str, None] = {}
    for row in rows:
        header.update(dict.fromkeys(row))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(header), restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_study(
    folder: Path,
    rows: Sequence[dict[str, Any]],
    *,
    tags: Sequence[str] = ("pet",),
    settings: dict[str, Any] | None = None,
    data_root: str | None = None,
    **extra: Any,
) -> Path:
    """Write ``folder/study.yaml`` and ``folder/manifest.csv``; returns the study file."""
    folder.mkdir(parents=True, exist_ok=True)
    write_manifest(folder / "manifest.csv", rows)
    doc: dict[str, Any] = {
        "name": "test",
        "manifest": "manifest.csv",
        "data_root": data_root if data_root is not None else str(sts_root()),
        "tags": {t: {"settings": (settings or FAST)[t]} for t in tags},
    }
    doc.update(extra)
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def modules_at_call(task: Any) -> dict[str, Any]:
    """A pool function: which heavy modules the worker held before this call, how many
    objects it holds out of garbage collections (:func:`gc.get_freeze_count`), its pid,
    and the thread counts of its BLAS libraries (threadpoolctl's report: the count each
    library was started with, outside any limit)."""
    import gc
    import os
    import sys

    from threadpoolctl import threadpool_info

    blas = [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
    return {"pid": os.getpid(), "extraction": "radiomix.extraction" in sys.modules,
            "torch": "torch" in sys.modules, "frozen": gc.get_freeze_count(),
            "case_id": task.case_id, "blas_threads": blas}


def timed_modules_at_call(task: Any) -> dict[str, Any]:
    """:func:`modules_at_call` for a case that takes 0.2 s, with its start and end times
    and the worker's parent (to tell spawned workers from forked ones)."""
    import os
    import time

    start = time.time()
    time.sleep(0.2)
    return {**modules_at_call(task), "ppid": os.getppid(), "start": start, "end": time.time()}


def warm_state_at_call(task: Any) -> dict[str, Any]:
    """A pool function: what the worker held before this call: the warm-up cases its fork
    server ran (:mod:`radiomix._fork_warmup`) and whether the interpolation kernel (compiled,
    loaded from numba's cache at its first call in a process) was loaded."""
    import os
    import sys

    warm = sys.modules.get("radiomix._fork_warmup")
    interpolate = sys.modules.get("radiomix.process.interpolate")
    loaded = bool(interpolate is not None and interpolate._trilinear.signatures)
    return {"pid": os.getpid(), "warmed": getattr(warm, "WARMED", 0), "kernel_loaded": loaded,
            "case_id": task.case_id}
