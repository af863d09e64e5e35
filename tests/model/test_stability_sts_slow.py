"""Perturbation stability of the sarcoma CT features (20 patients x 5 perturbations; slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _data import require_data

STUDY = Path(__file__).resolve().parents[2] / "examples" / "sts" / "study.yaml"
PERTURBATIONS = "original,volume:-1,volume:+1,contour:1,noise:1"


@pytest.mark.slow
def test_sts_ct_stability(tmp_path):
    """Every family gets ICCs over 20 lesions; the voxel volume under +-1 mm growth is
    highly stable and its ICC equals the one-way ANOVA formula on the extracted values."""
    from radiomix.stability import run_stability, stable_counts

    require_data("sts", "nifti")
    res = run_stability(
        STUDY, tmp_path, tags=["ct"], patients=20, perturbations=PERTURBATIONS, jobs=2
    )
    assert res.extraction.n_failed == 0
    table = res.table.set_index("feature")
    counts = stable_counts(res.table)
    assert set(counts.family) >= {"morph", "stat", "ih", "glcm", "glrlm", "glszm"}
    col = "ct.original.morph.volume_voxels"
    assert table.loc[col, "n_lesions"] == 20
    assert table.loc[col, "ci_low"] >= 0.95
    features = pd.read_parquet(res.extraction.features_path)
    sub = features[features.perturbation.isin(["original", "volume:-1", "volume:+1"])]
    wide = sub.pivot(index="patient_id", columns="perturbation", values=col).to_numpy()
    n, k = wide.shape
    ms_r = k * np.sum((wide.mean(1) - wide.mean()) ** 2) / (n - 1)
    ms_w = np.sum((wide - wide.mean(1, keepdims=True)) ** 2) / (n * (k - 1))
    from radiomix.stability import feature_icc

    growth = feature_icc(sub, features=[col]).iloc[0]
    assert growth.icc == pytest.approx((ms_r - ms_w) / (ms_r + (k - 1) * ms_w), abs=1e-12)
