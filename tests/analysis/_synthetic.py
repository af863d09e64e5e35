"""Synthetic radiomics tables for the engine tests (no code under test builds them)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def cohort(n_patients: int = 40, *, n_rad: int = 12, n_deep: int = 30, seed: int = 0,
           centres: tuple[str, ...] = ("A",), signal: float = 1.5) -> tuple[pd.DataFrame,
                                                                              pd.DataFrame]:
    """(features, clinical): one lesion per patient, a planted signal in two radiomic
    features and in age, outcome-derived clinical columns, a tumour volume column."""
    rng = np.random.default_rng(seed)
    ids = [f"P{i:03d}" for i in range(n_patients)]
    y = np.zeros(n_patients, dtype=int)
    y[: n_patients * 2 // 5] = 1
    rng.shuffle(y)
    rad = rng.normal(size=(n_patients, n_rad))
    rad[:, 0] += signal * y
    rad[:, 1] -= signal * y
    feats = {f"ct.original.stat.f{i:02d}": rad[:, i] for i in range(n_rad)}
    feats["ct.original.morph.volume_mesh"] = np.exp(rng.normal(10, 1, n_patients) + 0.3 * y)
    deep = rng.normal(scale=3.0, size=(n_patients, n_deep))
    feats.update({f"ct.deep.resnet18_2p5d.f{i:03d}": deep[:, i] for i in range(n_deep)})
    features = pd.DataFrame({"patient_id": ids, "lesion_id": "1",
                             "centre": [centres[i % len(centres)] for i in range(n_patients)],
                             **feats})
    days = np.where(y == 1, rng.integers(100, 900, n_patients), np.nan)
    clinical = pd.DataFrame({
        "patient_id": ids,
        "outcome": np.where(y == 1, "mets", "none"),
        "age": (55 + 8 * rng.normal(size=n_patients) + 5 * y).round(0).astype(int).astype(str),
        "sex": rng.choice(["Female", "Male"], n_patients),
        "grade": rng.choice(["Low", "Intermediate", "High"], n_patients),
        "outcome_text": np.where(y == 1, "Mets - lungs", "No metastasis"),
        "days_to_outcome": [("" if np.isnan(d) else str(int(d))) for d in days],
        "status": np.where(y == 1, "D", rng.choice(["NED", "AWD"], n_patients)),
        "fu_days": rng.integers(300, 3000, n_patients).astype(str),
    })
    return features, clinical
