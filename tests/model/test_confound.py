"""Confounding checks: Spearman with volume and Kruskal-Wallis with centre, against scipy
and hand-computed ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kruskal, spearmanr

from radiomix.errors import InputError
from radiomix.model.confound import find_volume_column, volume_confounding


def test_hand_computed_spearman():
    """Ranks of x = (1, 3, 2, 4) vs volume (10, 20, 30, 40): d = (0, 1, -1, 0),
    rho = 1 - 6 * 2 / (4 * 15) = 0.8."""
    X = pd.DataFrame({"ct.original.stat.mean": [1.0, 3.0, 2.0, 4.0]})
    out = volume_confounding(X, [10, 20, 30, 40])
    assert out.volume_rho.iloc[0] == pytest.approx(0.8)
    assert out.family.iloc[0] == "stat"
    assert bool(out.volume_strong.iloc[0])


def test_against_scipy_with_missing_values_and_centre():
    rng = np.random.default_rng(0)
    n = 60
    volume = rng.lognormal(3, 1, n)
    centre = np.repeat(["A", "B", "C"], n // 3)
    X = pd.DataFrame(
        {
            "ct.original.morph.sphericity": np.log(volume) + rng.normal(0, 0.3, n),
            "ct.original.glcm.contrast.3d_merged": rng.normal(size=n) + (centre == "B") * 2.0,
            "age": rng.normal(60, 10, n),
        }
    )
    X.iloc[5, 0] = np.nan
    out = volume_confounding(X, volume, centre).set_index("feature")
    x = X["ct.original.morph.sphericity"].to_numpy()
    ok = np.isfinite(x)
    ref = spearmanr(x[ok], volume[ok])
    row = out.loc["ct.original.morph.sphericity"]
    assert row.n == n - 1
    assert row.volume_rho == pytest.approx(ref.statistic, abs=1e-12)
    assert row.volume_p == pytest.approx(ref.pvalue, rel=1e-9)
    g = X["ct.original.glcm.contrast.3d_merged"].to_numpy()
    kw = kruskal(*[g[centre == c] for c in "ABC"])
    row = out.loc["ct.original.glcm.contrast.3d_merged"]
    assert row.centre_h == pytest.approx(kw.statistic)
    assert row.centre_p == pytest.approx(kw.pvalue)
    assert row.centre_eta2 == pytest.approx((kw.statistic - 2) / (n - 3))
    assert row.centre_eta2 > 0.3
    assert out.loc["age", "family"] == "clinical"
    assert abs(out.loc["age", "volume_rho"]) < 0.4


def test_constant_feature_and_no_centre():
    X = pd.DataFrame({"ct.original.stat.mean": [2.0, 2.0, 2.0, 2.0]})
    out = volume_confounding(X, [1, 2, 3, 4])
    assert np.isnan(out.volume_rho.iloc[0])
    assert not out.volume_strong.iloc[0]
    assert np.isnan(out.centre_p.iloc[0])


def test_errors():
    with pytest.raises(InputError, match="must be a DataFrame"):
        volume_confounding(np.zeros((3, 2)), [1, 2, 3])
    X = pd.DataFrame({"ct.original.stat.mean": [1.0, 2.0, 3.0]})
    with pytest.raises(InputError, match="one value per row"):
        volume_confounding(X, [1, 2])
    with pytest.raises(InputError, match="centre must have one value per row"):
        volume_confounding(X, [1, 2, 3], centre=["A"])


def test_find_volume_column():
    cols = [
        "patient_id",
        "pet.original.morph.volume_voxels",
        "ct.original.morph.volume_mesh",
        "ct.original.morph.volume_voxels",
        "ct.log_s1.morph.volume_voxels",
    ]
    # mesh volumes (RNU0) before voxel volumes (YEKZ), as the analysis' volume baseline
    assert find_volume_column(cols) == "ct.original.morph.volume_mesh"
    assert find_volume_column(cols, tag="ct") == "ct.original.morph.volume_mesh"
    assert find_volume_column(cols, tag="pet") == "pet.original.morph.volume_voxels"
    assert find_volume_column(["mr.original.morph.volume_mesh"]) == "mr.original.morph.volume_mesh"
    with pytest.raises(InputError, match=r"tag 'mr'.*tags with a volume: pet, ct"):
        find_volume_column(cols, tag="mr")
    with pytest.raises(InputError, match="no volume column"):
        find_volume_column(["age", "ct.original.stat.mean"])
