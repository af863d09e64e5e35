"""Reference data beside the checkout (../shared/data) for the tests.

Tests reach it through :func:`require_data` (or the ``shared_data`` fixture of conftest.py):
they skip with the reason when the folder is absent, and fail instead when
``RADIOMIX_REQUIRE_DATA=1`` (set by ``.ci/run``), so CI can never pass by skipping them.
(A module of its own, not conftest.py: tests/report has a conftest.py too, and
``from _data import ...`` would then depend on sys.path order.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

DATA_DIR = Path(
    os.environ.get("RADIOMIX_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)


BQML_PER_SUV = 5000.0
"""Scale of the rescale slope that turns the cohort's PET series (stored as SUV, Units GML)
into plausible activity concentrations when a test relabels them BQML (a tumour of SUV 8
then holds 40 kBq/ml; read as Bq/ml unscaled they would give SUVs of 0.001, refused)."""


def label_bqml(ds, *, slope_factor: float = BQML_PER_SUV) -> None:
    """Relabel a cohort PET slice (pydicom dataset) as Units BQML with what an SUV
    conversion reads: decay correction to the series start, an 80 kg patient, 370 MBq of
    F-18 injected an hour before the series. ``slope_factor`` scales the rescale slope
    (:data:`BQML_PER_SUV`: the stored SUVs become Bq/ml; 1: SUVs merely relabelled)."""
    ds.Units = "BQML"
    if slope_factor != 1.0:
        ds.RescaleSlope = float(ds.RescaleSlope) * slope_factor
    ds.DecayCorrection = "START"
    ds.PatientWeight = 80.0
    ds.SeriesDate = "20000101"
    ds.SeriesTime = "110000"
    info = ds.RadiopharmaceuticalInformationSequence[0]
    info.RadionuclideTotalDose = 370e6
    info.RadionuclideHalfLife = 6586.2
    info.RadiopharmaceuticalStartTime = "100000"


def require_data(*parts: str) -> Path:
    """Return ``DATA_DIR / parts``; skip (or fail under RADIOMIX_REQUIRE_DATA=1) if absent."""
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        msg = f"reference data not found: {path} (the ../shared/data folder beside the checkout)"
        if os.environ.get("RADIOMIX_REQUIRE_DATA") == "1":
            pytest.fail(msg + "; RADIOMIX_REQUIRE_DATA=1 makes this a failure")
        pytest.skip(msg)
    return path


def read_reference_rows(dataset: str, family_code: str | None = None) -> list[dict[str, str]]:
    """Rows of ibsi1/reference_values.csv for one data set (and optionally one family)."""
    import csv

    path = require_data("ibsi1", "reference_values.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        r
        for r in rows
        if r["dataset"] == dataset and (family_code is None or r["family_code"] == family_code)
    ]


def sts_lung_metastasis_outcome(clinical: pd.DataFrame) -> pd.DataFrame:
    """Time to lung metastasis in the soft-tissue-sarcoma cohort (``sts/clinical.csv``).

    A test helper (the package reads time and event from declared columns). Definition:
    time = ``days_dx_to_outcome`` with event = 1 when
    ``lung_mets`` = 1; otherwise event = 0 (censored) at ``days_dx_to_outcome`` when another
    event came first (``outcome_recurrence_mets`` is not ``--``), else at
    ``days_dx_to_last_fu``. Competing first events are thus treated as censoring.

    Parameters
    ----------
    clinical : DataFrame
        The clinical table (``patient_id``, ``lung_mets``, ``outcome_recurrence_mets``,
        ``days_dx_to_outcome``, ``days_dx_to_last_fu``).

    Returns
    -------
    DataFrame
        ``patient_id``, ``time_days``, ``time_years`` (days / 365.25), ``event`` (0/1).

    Raises
    ------
    InputError
        Missing columns or a needed day count missing.
    """
    need = [
        "patient_id",
        "lung_mets",
        "outcome_recurrence_mets",
        "days_dx_to_outcome",
        "days_dx_to_last_fu",
    ]
    missing = [c for c in need if c not in clinical.columns]
    if missing:
        raise ValueError(f"clinical table lacks columns {missing}")
    outcome = pd.to_numeric(clinical["days_dx_to_outcome"].replace("--", np.nan), errors="coerce")
    last_fu = pd.to_numeric(clinical["days_dx_to_last_fu"], errors="coerce")
    lung = pd.to_numeric(clinical["lung_mets"], errors="coerce")
    other_first = clinical["outcome_recurrence_mets"].astype(str).str.strip().ne("--") & lung.eq(0)
    event = lung.eq(1)
    time = np.where(event | other_first, outcome, last_fu)
    out = pd.DataFrame(
        {
            "patient_id": clinical["patient_id"].astype(str).to_numpy(),
            "time_days": time.astype(float),
            "event": event.astype(int).to_numpy(),
        }
    )
    bad = out["time_days"].isna() | lung.isna().to_numpy()
    if bad.any():
        raise ValueError(
            f"cannot build the outcome for patients {out.loc[bad, 'patient_id'].tolist()[:5]}: "
            "missing lung_mets or day counts"
        )
    out["time_years"] = out["time_days"] / 365.25
    return out[["patient_id", "time_days", "time_years", "event"]]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``radiomix ARGS`` in a subprocess of this interpreter (stderr is not a terminal)."""
    return subprocess.run([sys.executable, "-c", "from radiomix.cli import main; main()",
                           *args], capture_output=True, text=True, cwd=cwd, check=False)


def sts_files(case: str, tag: str) -> tuple[Path, Path]:
    """Image and mask NIfTI files of a sarcoma case's tag (``ct``, ``pet``, ``mr_t1``)."""
    folder = require_data("sts", "nifti", case, tag)
    return folder / "image.nii.gz", folder / "mask.nii.gz"


def write_like(array: np.ndarray, like: Any, path: Path) -> Path:
    """Write ``array`` with the geometry of ``like`` (a SimpleITK image or its file)."""
    import SimpleITK as sitk

    ref = sitk.ReadImage(str(like)) if isinstance(like, str | Path) else like
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(ref)
    sitk.WriteImage(out, str(path))
    return path


def dicom_copy(tmp_path: Path, modality: str, edit: Callable[[Any], None],
               keep: int | None = None) -> tuple[Path, Path]:
    """A copy of STS_001's DICOM ``modality`` series (``CT``, ``PET``) with ``edit``
    applied to each slice (only slice ``keep`` when given), and its RTSTRUCT."""
    import pydicom

    src = require_data("sts", "dicom", "STS_001", modality)
    dst = tmp_path / modality / "image"
    dst.mkdir(parents=True)
    files = sorted((src / "image").glob("*.dcm"))
    for f in files if keep is None else [files[keep]]:
        ds = pydicom.dcmread(f)
        edit(ds)
        ds.save_as(dst / f.name)
    return dst, next((src / "mask").iterdir())
