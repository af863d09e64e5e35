"""ComBatHarmoniser: each bad input gets one clear error naming the problem and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiomix.errors import InputError, SettingsError
from radiomix.model.harmonise import ComBatHarmoniser


def _table(n: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = pd.DataFrame(rng.normal(size=(n, 3)), columns=[f"ct.original.stat.f{i}" for i in range(3)])
    t["centre"] = ["A", "B"] * (n // 2)
    t["grade"] = ["low", "high"] * (n // 4) + ["high", "low"] * (n // 4)
    return t


def test_unseen_centre_is_an_error():
    combat = ComBatHarmoniser("centre").fit(_table())
    new = _table().assign(centre="C")
    with pytest.raises(InputError, match=r"'C'.*not in the training rows.*passthrough"):
        combat.transform(new)


def test_unseen_centre_passthrough_leaves_rows_unchanged():
    table = _table()
    combat = ComBatHarmoniser("centre", unseen_batch="passthrough").fit(table)
    new = table.assign(centre=["A", "C"] * 10)
    out = combat.transform(new)
    feats = [c for c in table.columns if c.startswith("ct.")]
    c_rows = (new.centre == "C").to_numpy()
    np.testing.assert_array_equal(out.loc[c_rows, feats], new.loc[c_rows, feats])
    assert not np.allclose(out.loc[~c_rows, feats], new.loc[~c_rows, feats])


def test_array_input_refused():
    with pytest.raises(InputError, match="needs a DataFrame with the batch column 'centre'"):
        ComBatHarmoniser("centre").fit(np.zeros((4, 2)))


def test_missing_batch_column():
    with pytest.raises(InputError, match=r"'site'.*not in the table"):
        ComBatHarmoniser("site").fit(_table())


def test_single_centre():
    with pytest.raises(InputError, match="at least two centres"):
        ComBatHarmoniser("centre").fit(_table().assign(centre="A"))


def test_centre_with_one_row():
    t = _table()
    t.loc[0, "centre"] = "C"
    with pytest.raises(InputError, match=r"C \(1\).*fewer than two training rows"):
        ComBatHarmoniser("centre").fit(t)


def test_missing_centre_value():
    t = _table()
    t.loc[3, "centre"] = None
    with pytest.raises(InputError, match="1 missing value"):
        ComBatHarmoniser("centre").fit(t)


def test_unseen_covariate_level():
    combat = ComBatHarmoniser("centre", covariates=["grade"]).fit(_table())
    with pytest.raises(InputError, match=r"covariate 'grade' has level\(s\) mid"):
        combat.transform(_table().assign(grade="mid"))


def test_collinear_covariate():
    t = _table()
    t["site_code"] = (t.centre == "B").astype(float)
    with pytest.raises(InputError, match="collinear with the centres"):
        ComBatHarmoniser("centre", covariates=["site_code"]).fit(t)


def test_covariates_as_string():
    with pytest.raises(SettingsError, match="list of column names"):
        ComBatHarmoniser("centre", covariates="grade").fit(_table())


def test_bad_unseen_option():
    with pytest.raises(SettingsError, match="unseen_batch must be"):
        ComBatHarmoniser("centre", unseen_batch="ignore").fit(_table())


def test_no_feature_columns():
    t = pd.DataFrame({"centre": ["A", "B"] * 5, "age": np.arange(10.0)})
    with pytest.raises(InputError, match="no feature columns to harmonise"):
        ComBatHarmoniser("centre").fit(t)


def test_constant_feature_passes_through_and_nan_stays_nan():
    t = _table()
    t["ct.original.stat.const"] = 1.0
    t.loc[2, "ct.original.stat.f0"] = np.nan
    combat = ComBatHarmoniser("centre").fit(t)
    out = combat.transform(t)
    assert combat.passthrough_features_ == ["ct.original.stat.const"]
    assert (out["ct.original.stat.const"] == 1.0).all()
    assert np.isnan(out.loc[2, "ct.original.stat.f0"])
    assert out["ct.original.stat.f0"].notna().sum() == len(t) - 1
