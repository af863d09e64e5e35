"""A categorical covariate's missing value takes its most frequent level (round 18).

Imputed column by column, a sex split 48/48 entered the models as 0.5 "male", a level no
one has, and a four-level site took the reference level (the rarest, first in sort order)
for every missing patient, fitted into that level's coefficient.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiomix.model.fuse import BlockFuser, LevelImputer, indicator_groups


def test_indicator_groups_are_the_covariates_levels():
    names = ["age", "sex=Male", "site=chest", "site=limb", "site=trunk", "grade",
             "ct.original.stat.mean"]
    assert indicator_groups(names) == [[1], [2, 3, 4]]


def test_a_missing_level_is_the_most_frequent_one():
    # site: reference (abdomen) 1 row, chest 2, limb 3 (the mode), trunk 1; one row missing
    site = np.array([[0, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0],
                     [0, 0, 1], [np.nan] * 3])
    imp = LevelImputer(groups=[[0, 1, 2]]).fit(site)
    np.testing.assert_array_equal(imp.transform(site)[-1], [0, 1, 0])
    # a tie between the reference and a level goes to the reference (first)
    sex = np.array([[0.0], [1.0], [0.0], [1.0], [np.nan]])
    np.testing.assert_array_equal(LevelImputer(groups=[[0]]).fit(sex).transform(sex)[-1], [0])
    # a column outside every group passes through
    both = np.column_stack([sex, [1.0, np.nan, 3.0, 4.0, 5.0]])
    out = LevelImputer(groups=[[0]]).fit(both).transform(both)
    assert np.isnan(out[1, 1])


def test_the_fuser_imputes_levels_from_training_rows_only():
    X = pd.DataFrame({"age": [50.0, 60, 70, 80, 55, 65],
                      "sex=Male": [1.0, 1, 1, 0, np.nan, np.nan]})
    fuser = BlockFuser(blocks={"clinical": ["age", "sex=Male"]}, scale=None).fit(X.iloc[:5])
    out = fuser.transform(X)
    np.testing.assert_array_equal(out[4:, 1], [1.0, 1.0])  # the mode of the training rows
    assert set(np.unique(out[:, 1])) <= {0.0, 1.0}  # no level nobody has


@pytest.mark.parametrize("impute", ["median", "mean"])
def test_numeric_columns_keep_their_imputer(impute):
    X = pd.DataFrame({"age": [50.0, 60, np.nan, 80], "sex=Male": [1.0, 0, 1, np.nan]})
    out = BlockFuser(blocks={"clinical": ["age", "sex=Male"]}, scale=None,
                     impute=impute).fit_transform(X)
    expected = {"median": 60.0, "mean": 190 / 3}[impute]
    assert out[2, 0] == pytest.approx(expected)
    assert out[3, 1] == 1.0
