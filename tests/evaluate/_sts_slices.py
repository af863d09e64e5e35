"""Test helper: per-slice first-order features of the sarcoma CT (slice-level rows)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import stats

from _data import require_data

SLICE_FEATURES = ("mean", "sd", "skewness", "kurtosis", "minimum", "maximum", "median")
MIN_SLICE_VOXELS = 20


def slice_first_order(image: np.ndarray, mask: np.ndarray) -> list[dict[str, float]]:
    """Seven first-order features of the ROI on every axial slice with >= 20 ROI voxels.

    mean, standard deviation (population), skewness, excess kurtosis (moment estimators),
    minimum, maximum, median of the HU values inside the mask. The 20-voxel floor gives the
    1911 slices of 51 patients quoted in DESIGN.md.
    """
    rows = []
    for z in np.flatnonzero(mask.any(axis=(1, 2))):
        v = image[z][mask[z]].astype(float)
        if v.size < MIN_SLICE_VOXELS:
            continue
        sd = v.std()
        rows.append(
            {
                "z": int(z),
                "mean": v.mean(),
                "sd": sd,
                "skewness": float(stats.skew(v)) if sd > 0 else 0.0,
                "kurtosis": float(stats.kurtosis(v)) if sd > 0 else 0.0,
                "minimum": v.min(),
                "maximum": v.max(),
                "median": float(np.median(v)),
            }
        )
    return rows


@cache
def _patient_rows(pid: str) -> tuple[dict[str, float], ...]:
    folder = require_data("sts", "nifti", pid, "ct")
    img = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "image.nii.gz")))
    msk = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "mask.nii.gz"))) > 0
    return tuple(slice_first_order(img, msk))


def sts_slice_table(patients: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Slice-level table: ``patient_id``, ``lung_mets``, ``z``, ``ct.original.stat.*``."""
    clinical = pd.read_csv(require_data("sts", "clinical.csv"))
    chosen = clinical if patients is None else clinical[clinical.patient_id.isin(patients)]
    frames = []
    for pid, label in zip(chosen.patient_id, chosen.lung_mets, strict=True):
        f = pd.DataFrame(list(_patient_rows(pid)))
        f.insert(0, "lung_mets", int(label))
        f.insert(0, "patient_id", pid)
        frames.append(f)
    table = pd.concat(frames, ignore_index=True)
    return table.rename(columns={k: f"ct.original.stat.{k}" for k in SLICE_FEATURES})
