"""The IBSI reference checks.

IBSI 1: process the phantoms with the reference configurations and compare every computed
feature with the reference table of the IBSI 1 manual (:func:`check`). IBSI 2 phase 1:
filter the IBSI 2 digital phantoms with the 33 phase-1 configurations and compare each
response map with the consensus reference map, voxel by voxel (:func:`check_ibsi2`)."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radiomix.case import load_case
from radiomix.check import CheckedCase
from radiomix.errors import InputError, SettingsError
from radiomix.features.aggregation import Aggregation
from radiomix.features.extract import compute_features
from radiomix.features.registry import FeatureSpec, all_features
from radiomix.io import load_image
from radiomix.process.pipeline import process_case
from radiomix.roi import RoiContext
from radiomix.settings import ExtractionSettings, load_preset

DATASETS: dict[str, str] = {
    "dig_phantom": "ibsi-digital",
    "config_A": "ibsi-A",
    "config_B": "ibsi-B",
    "config_C": "ibsi-C",
    "config_D": "ibsi-D",
    "config_E": "ibsi-E",
}
"""IBSI 1 data set -> preset name."""


def data_dir() -> Path:
    """The reference data folder: ``$RADIOMIX_DATA`` or ``../shared/data`` beside the
    checkout (or the working directory)."""
    env = os.environ.get("RADIOMIX_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for base in (*here.parents, Path.cwd(), *Path.cwd().parents):
        cand = base / "shared" / "data"
        if (cand / "ibsi1").is_dir():
            return cand
    raise InputError(
        "IBSI reference data not found: set RADIOMIX_DATA to the folder holding ibsi1/ "
        "(../shared/data beside the checkout)"
    )


def load_dataset_case(
    dataset: str, *, source: str = "nifti", root: Path | None = None
) -> CheckedCase:
    """The checked case of an IBSI 1 data set (digital phantom or CT phantom).

    ``source`` picks the CT phantom's NIfTI files or its DICOM series + RTSTRUCT; the
    digital phantom exists only as NIfTI. NIfTI values are rounded to integers as the
    IBSI notes require (the stored values are already integral). The case is read by
    :func:`radiomix.case.load_case`, as every case of a study is.
    """
    root = root or data_dir()
    if dataset == "dig_phantom":
        folder = root / "ibsi1" / "digital_phantom"
        return load_case(folder / "image.nii.gz", folder / "mask.nii.gz", case_id=dataset)
    if dataset not in DATASETS:
        raise InputError(f"unknown IBSI data set {dataset!r}; valid: {', '.join(DATASETS)}")
    folder = root / "ibsi1" / "ct_phantom"
    if source == "dicom":
        return load_case(
            folder / "dicom" / "image", folder / "dicom" / "mask" / "DCM_RS_00060.dcm",
            roi_name="GTV-1", case_id=dataset,
        )
    if source == "nifti":
        import SimpleITK as sitk

        image = sitk.Round(load_image(folder / "nifti" / "image.nii.gz"))
        return load_case(image, folder / "nifti" / "mask.nii.gz", case_id=dataset)
    raise InputError(f"source must be nifti or dicom, got {source!r}")


def context_for_dataset(
    dataset: str, *, source: str = "nifti", settings: ExtractionSettings | None = None
) -> RoiContext:
    """Processed ROI context of an IBSI 1 data set with its reference configuration."""
    settings = settings or load_preset(DATASETS[dataset])
    return process_case(load_dataset_case(dataset, source=source), settings).context


@dataclass(frozen=True, slots=True)
class CheckProgress:
    """State of :func:`check` or :func:`check_ibsi2`, passed to their ``progress`` callback.

    Attributes
    ----------
    done : int
        Items (data set and source, or IBSI 2 test) finished so far.
    total : int
        Items to check.
    item : str
        The item computed next (``""`` once all are done).
    """

    done: int
    total: int
    item: str


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    """One row of ``ibsi1/reference_values.csv``."""

    dataset: str
    family: str
    family_code: str
    feature: str
    ibsi_code: str
    aggregation_code: str
    value: float | None
    tolerance: float
    text: str


def reference_rows(root: Path | None = None) -> list[ReferenceRow]:
    """All rows of the IBSI 1 reference table."""
    path = (root or data_dir()) / "ibsi1" / "reference_values.csv"
    if not path.is_file():
        raise InputError(
            f"IBSI 1 reference values not found: {path} does not exist; set RADIOMIX_DATA to "
            "the folder holding ibsi1/ (../shared/data beside the checkout)")
    with path.open(encoding="utf-8") as fh:
        return [
            ReferenceRow(
                dataset=r["dataset"],
                family=r["family"],
                family_code=r["family_code"],
                feature=r["feature"],
                ibsi_code=r["ibsi_code"],
                aggregation_code=r["aggregation_code"],
                value=float(r["value"]) if r["value"] else None,
                tolerance=float(r["tolerance"] or 0.0),
                text=r["value"],
            )
            for r in csv.DictReader(fh)
        ]


def round_sig(x: float, digits: int = 3) -> float:
    """Round to ``digits`` significant digits (how the manual prints values)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def matches(computed: float, row: ReferenceRow) -> bool:
    """Whether a computed value matches a reference row.

    Within the tolerance when the row has one; otherwise the value rounded to three
    significant digits must equal the printed value.
    """
    assert row.value is not None
    if not math.isfinite(computed):
        return False
    if row.tolerance > 0:
        return abs(computed - row.value) <= row.tolerance
    if row.value == 0:
        return abs(computed) < 1e-9
    return math.isclose(round_sig(computed, 3), row.value, rel_tol=1e-9)


def spec_for_row(
    row: ReferenceRow, specs: Iterable[FeatureSpec] | None = None
) -> FeatureSpec | None:
    """The registered feature answering a reference row (by IBSI code; for BC2M and GBPN,
    which cover two rows each, also by the percentage in the row's feature heading)."""
    cands = [s for s in (specs or all_features()) if s.ibsi == row.ibsi_code]
    if len(cands) <= 1:
        return cands[0] if cands else None
    pct = "".join(ch for ch in row.feature if ch.isdigit())
    hits = [s for s in cands if f"{pct}pct" in s.name or f"_{pct}" in s.name]
    return hits[0] if len(hits) == 1 else None


def column_for_row(row: ReferenceRow, spec: FeatureSpec) -> str:
    """The column computed for a reference row (tag ``image``, filter ``original``)."""
    agg = Aggregation.from_token(row.aggregation_code) if row.aggregation_code else None
    return spec.column(tag="image", filter_name="original", aggregation=agg)


def compute_dataset(dataset: str, *, source: str = "nifti") -> dict[str, float]:
    """All features of one IBSI data set with its reference configuration."""
    settings = load_preset(DATASETS[dataset])
    return compute_features(context_for_dataset(dataset, source=source, settings=settings),
                            settings)


def check(
    *,
    datasets: Iterable[str] = tuple(DATASETS),
    sources: Iterable[str] = ("nifti",),
    progress: Callable[[CheckProgress], None] | None = None,
) -> dict[str, Any]:
    """Compare computed features with every IBSI 1 reference row.

    Parameters
    ----------
    datasets : iterable of str
        Data sets to check (``dig_phantom``, ``config_A`` … ``config_E``).
    sources : iterable of str
        CT phantom inputs: ``nifti`` and/or ``dicom`` (the digital phantom is NIfTI only).
    progress : callable, optional
        Called with a :class:`CheckProgress` before each data set and source is computed
        and once at the end.

    Returns
    -------
    dict
        ``matched``, ``total``, ``summary`` (per data set, source and family) and
        ``mismatches`` (computed, reference, tolerance; computed ``None`` when the feature
        is not implemented). Rows without a reference value are not counted.

    Raises
    ------
    SettingsError
        Unknown data set name (before any computation).
    """
    datasets = list(datasets)
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown:
        import difflib

        near = difflib.get_close_matches(unknown[0], list(DATASETS), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise SettingsError(
            f"unknown IBSI 1 data set {unknown[0]!r}{hint}; valid: {', '.join(DATASETS)}"
        )
    rows = [r for r in reference_rows() if r.value is not None]
    specs = all_features()
    summary: list[dict[str, object]] = []
    mismatches: list[dict[str, object]] = []
    matched = total = 0
    sources = list(sources)
    # the digital phantom exists only as NIfTI
    items = [(d, s) for d in datasets for s in sources if d != "dig_phantom" or s == "nifti"]
    notify = progress or (lambda event: None)
    for i, (ds, src) in enumerate(items):
        notify(CheckProgress(done=i, total=len(items), item=f"{ds} ({src})"))
        values = compute_dataset(ds, source=src)
        per_family: dict[str, list[int]] = {}
        for row in (r for r in rows if r.dataset == ds):
            spec = spec_for_row(row, specs)
            col = column_for_row(row, spec) if spec else None
            computed = values.get(col) if col else None
            ok = computed is not None and matches(computed, row)
            counts = per_family.setdefault(row.family_code, [0, 0])
            counts[0] += ok
            counts[1] += 1
            if not ok:
                mismatches.append(
                    {
                        "dataset": ds,
                        "source": src,
                        "family": row.family_code,
                        "feature": row.feature,
                        "ibsi_code": row.ibsi_code,
                        "aggregation": row.aggregation_code or "-",
                        "computed": computed,
                        "reference": row.value,
                        "tolerance": row.tolerance,
                    }
                )
        for fam, (m, t) in per_family.items():
            summary.append({"dataset": ds, "source": src, "family": fam, "matched": m, "total": t})
            matched += m
            total += t
    notify(CheckProgress(done=len(items), total=len(items), item=""))
    return {"matched": matched, "total": total, "summary": summary, "mismatches": mismatches}


# -- IBSI 2 phase 1: reference response maps --------------------------------------------------

IBSI2_MAPS = ("ibsi2", "reference_response_maps")
"""Folder of the IBSI 2 phase-1 consensus response maps, relative to :func:`data_dir`."""


def _read_zyx(path: Path) -> tuple[Any, tuple[float, float, float]]:
    """Array (z, y, x) and spacing (z, y, x) of a NIfTI file."""
    import numpy as np
    import SimpleITK as sitk

    img = sitk.ReadImage(str(path))
    sp = img.GetSpacing()
    return np.asarray(sitk.GetArrayFromImage(img), dtype=np.float64), (sp[2], sp[1], sp[0])


def check_ibsi2(
    *,
    tests: Iterable[str] | None = None,
    root: Path | None = None,
    progress: Callable[[CheckProgress], None] | None = None,
) -> dict[str, Any]:
    """Reproduce the IBSI 2 phase-1 reference response maps and compare them voxel by voxel.

    A test passes when every voxel of the response lies within the tolerance of the reference
    map: 1 % of the reference map's range (max − min), the criterion of the IBSI 2 study
    (Whybra P et al., Radiology 2024;310(2):e231319).

    Parameters
    ----------
    tests : iterable of str, optional
        Test ids (``"1.a.1"`` … ``"10.b.1"``; default: all 33 that have a reference map).
    root : Path, optional
        Reference data folder (default :func:`data_dir`), holding
        ``ibsi2/reference_response_maps/<t>-ValidCRM.nii`` and ``ibsi2/digital_phantom``.
    progress : callable, optional
        Called with a :class:`CheckProgress` before each test and once at the end.

    Returns
    -------
    dict
        ``passed``, ``total`` and ``tests``: one record per test with ``test``, ``phantom``,
        ``filter`` (the filter tag), ``max_abs_diff``, ``tolerance`` and ``passed``.

    Raises
    ------
    SettingsError
        Unknown test id.
    InputError
        Reference data missing.
    """
    import numpy as np

    from radiomix.process.filters import apply_filter
    from radiomix.settings.filters import (
        IBSI2_PHASE1_PHANTOMS,
        IBSI2_PHASE1_PRESETS,
        ibsi2_preset,
    )

    ids = list(IBSI2_PHASE1_PRESETS) if tests is None else [t.replace("_", ".") for t in tests]
    for t in ids:
        ibsi2_preset(t)  # SettingsError naming the nearest valid id
    base = root or data_dir()
    folder = base.joinpath(*IBSI2_MAPS)
    if not folder.is_dir():
        raise InputError(
            f"IBSI 2 reference response maps not found in {folder}: set RADIOMIX_DATA to the "
            "folder holding ibsi2/ (../shared/data beside the checkout)"
        )
    records: list[dict[str, Any]] = []
    notify = progress or (lambda event: None)
    for i, t in enumerate(ids):
        notify(CheckProgress(done=i, total=len(ids), item=t))
        phantom = IBSI2_PHASE1_PHANTOMS[t]
        ref_path = folder / f"{t.replace('.', '_')}-ValidCRM.nii"
        img_path = base / "ibsi2" / "digital_phantom" / phantom / "image.nii.gz"
        for p in (ref_path, img_path):
            if not p.is_file():
                raise InputError(f"IBSI 2 reference file missing: {p}")
        reference, _ = _read_zyx(ref_path)
        image, spacing = _read_zyx(img_path)
        settings = IBSI2_PHASE1_PRESETS[t]
        response = apply_filter(image, spacing=spacing, settings=settings)
        tolerance = 0.01 * float(reference.max() - reference.min())
        worst = float(np.abs(response - reference).max())
        records.append(
            {
                "test": t,
                "phantom": phantom,
                "filter": settings.tag,
                "max_abs_diff": worst,
                "tolerance": tolerance,
                "passed": bool(worst <= tolerance),
            }
        )
    notify(CheckProgress(done=len(ids), total=len(ids), item=""))
    return {
        "passed": sum(r["passed"] for r in records),
        "total": len(records),
        "tests": records,
    }
