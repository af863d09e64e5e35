"""ICC(1,1) of the stability table against pingouin and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.errors import InputError
from radiomix.stability import feature_icc, icc11, stable_counts


def _long(wide: np.ndarray) -> pd.DataFrame:
    n, k = wide.shape
    return pd.DataFrame(
        {
            "lesion": np.repeat([f"L{i}" for i in range(n)], k),
            "perturbation": np.tile([f"p{j}" for j in range(k)], n),
            "value": wide.ravel(),
        }
    )


def _pingouin_icc1(wide: np.ndarray) -> tuple[float, float, float]:
    import pingouin as pg

    res = pg.intraclass_corr(_long(wide), targets="lesion", raters="perturbation", ratings="value")
    row = res[res.Type.isin(["ICC1", "ICC(1,1)"])].iloc[0]
    return float(row.ICC), float(row.CI95[0]), float(row.CI95[1])


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(3, 12),
    k=st.integers(2, 6),
    noise=st.floats(0.05, 3.0),
    seed=st.integers(0, 2**16),
)
def test_matches_pingouin(n, k, noise, seed):
    """Random lesion x perturbation tables: ICC equal to pingouin's to 1e-10, bounds to its
    two-decimal rounding (0.005)."""
    rng = np.random.default_rng(seed)
    wide = rng.normal(size=(n, 1)) + noise * rng.normal(size=(n, k))
    icc, lo, hi = icc11(wide)
    ref = _pingouin_icc1(wide)
    assert icc == pytest.approx(ref[0], abs=1e-10)
    assert lo == pytest.approx(ref[1], abs=0.005 + 1e-12)
    assert hi == pytest.approx(ref[2], abs=0.005 + 1e-12)
    assert lo <= icc <= hi


def test_hand_computed_two_by_two():
    """Lesions (1, 3) and (5, 7): MS_R = 2 * 8 = 16, MS_W = (1 + 1 + 1 + 1) / 2 = 2,
    ICC = (16 - 2) / (16 + 2) = 7/9."""
    icc, lo, hi = icc11(np.array([[1.0, 3.0], [5.0, 7.0]]))
    assert icc == pytest.approx(7 / 9, abs=1e-12)
    assert lo < icc < hi


def test_edge_cases():
    assert np.isnan(icc11(np.ones((4, 3)))[0])  # constant: undefined
    assert icc11(np.array([[1.0, 1.0], [2.0, 2.0], [4.0, 4.0]])) == (1.0, 1.0, 1.0)
    assert np.isnan(icc11(np.array([[1.0, 2.0]]))[0])  # one lesion


def test_feature_icc_drops_incomplete_lesions_and_counts():
    """A lesion missing one perturbation of a feature is left out of that feature only."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(6):
        base = rng.normal()
        for p in ("original", "volume:-1", "volume:+1"):
            rows.append(
                {
                    "patient_id": f"P{i}",
                    "source_lesion": "1",
                    "perturbation": p,
                    "ct.original.stat.mean": base + 0.1 * rng.normal(),
                    "ct.original.glcm.contrast": rng.normal(),
                    "age": 50,
                }
            )
    table = pd.DataFrame(rows)
    table.loc[0, "ct.original.stat.mean"] = np.nan
    out = feature_icc(table).set_index("feature")
    assert list(out.index) == ["ct.original.stat.mean", "ct.original.glcm.contrast"]
    assert out.loc["ct.original.stat.mean", "n_lesions"] == 5
    assert out.loc["ct.original.glcm.contrast", "n_lesions"] == 6
    wide = table.iloc[3:].pivot(
        index="patient_id", columns="perturbation", values="ct.original.stat.mean"
    )
    assert out.loc["ct.original.stat.mean", "icc"] == pytest.approx(icc11(wide.to_numpy())[0])
    counts = stable_counts(out.reset_index(), threshold=0.5)
    assert set(counts.family) == {"stat", "glcm"}
    assert counts.set_index("family").loc["stat", "n_stable"] == 1
    assert counts.set_index("family").loc["stat", "n_assessed"] == 1
    # round 16: a family without any ICC is "not assessed", not "0 stable"
    blank = out.reset_index().assign(ci_low=np.nan)
    none = stable_counts(blank, threshold=0.5).set_index("family")
    assert none.loc["stat", "n_assessed"] == 0
    assert none.loc["stat", "n_stable"] == 0


def test_a_perturbation_refused_for_every_lesion_is_left_out_not_the_lesions():
    """Round 16: volume:+-1 refused for every PET lesion (no voxel moves on 4 mm voxels)
    emptied every ICC (n_lesions 0); the other perturbations rate the lesions."""
    rng = np.random.default_rng(2)
    rows = []
    for i in range(6):
        base = rng.normal()
        for p in ("original", "noise:1", "rotation:10", "volume:+1"):
            value = np.nan if p == "volume:+1" else base + 0.2 * rng.normal()
            rows.append({"patient_id": f"P{i}", "source_lesion": "1", "perturbation": p,
                         "pt.original.stat.mean": value})
    table = pd.DataFrame(rows)
    out = feature_icc(table).set_index("feature").loc["pt.original.stat.mean"]
    assert out["n_lesions"] == 6
    assert out["n_perturbations"] == 3
    wide = table[table["perturbation"] != "volume:+1"].pivot(
        index="patient_id", columns="perturbation", values="pt.original.stat.mean")
    assert out["icc"] == pytest.approx(icc11(wide.to_numpy())[0])


def test_feature_icc_errors():
    table = pd.DataFrame(
        {
            "patient_id": ["A", "A"],
            "source_lesion": ["1", "1"],
            "perturbation": ["original", "original"],
            "ct.original.stat.mean": [1, 2],
        }
    )
    with pytest.raises(InputError, match="more than once"):
        feature_icc(table)
    with pytest.raises(InputError, match="lacks the column"):
        feature_icc(table.drop(columns="perturbation"))
