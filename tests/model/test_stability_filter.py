"""StabilitySelector: keeps features by ICC lower bound, counts per family, pipeline step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline

from radiomix.errors import InputError, SettingsError
from radiomix.model.stability_filter import StabilitySelector

STABILITY = pd.DataFrame(
    {
        "feature": [
            "ct.original.stat.mean",
            "ct.original.stat.kurtosis",
            "ct.original.glcm.contrast.3d_merged",
            "ct.original.glcm.joint_max.3d_merged",
            "ct.original.morph.volume_voxels",
        ],
        "ci_low": [0.90, 0.60, 0.75, np.nan, 0.99],
    }
)


def _X(n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    cols = [*STABILITY.feature, "ct.original.ih.entropy", "age"]
    return pd.DataFrame(rng.normal(size=(n, len(cols))), columns=cols)


def test_threshold_missing_and_clinical():
    """>= 0.75 kept (0.75 itself included); NaN bound and absent feature dropped; age kept."""
    sel = StabilitySelector(STABILITY).fit(_X())
    assert list(sel.get_feature_names_out()) == [
        "ct.original.stat.mean",
        "ct.original.glcm.contrast.3d_merged",
        "ct.original.morph.volume_voxels",
        "age",
    ]
    out = sel.transform(_X())
    np.testing.assert_array_equal(out, _X()[sel.get_feature_names_out()].to_numpy())


def test_missing_keep_and_clinical_apply():
    keep = StabilitySelector(STABILITY, missing="keep").fit(_X())
    assert "ct.original.ih.entropy" in keep.get_feature_names_out()
    assert "ct.original.glcm.joint_max.3d_merged" in keep.get_feature_names_out()
    strict = StabilitySelector(STABILITY, clinical="apply").fit(_X())
    assert "age" not in strict.get_feature_names_out()


def test_family_counts():
    counts = StabilitySelector(STABILITY).fit(_X()).family_counts_.set_index("family")
    assert counts.loc["stat"].tolist() == [2, 1, 0]  # n_in, n_kept, n_unassessed
    assert counts.loc["glcm"].tolist() == [2, 1, 1]
    assert counts.loc["ih"].tolist() == [1, 0, 1]
    assert counts.loc["clinical"].tolist() == [1, 1, 1]


def test_reads_parquet_path(tmp_path):
    path = tmp_path / "stability.parquet"
    STABILITY.to_parquet(path)
    a = StabilitySelector(str(path)).fit(_X())
    b = StabilitySelector(STABILITY).fit(_X())
    np.testing.assert_array_equal(a.support_, b.support_)


def test_in_a_grouped_cv_pipeline():
    """The selector is a step: cloned per fold, keeps its table, the model sees the subset."""
    X = _X(40)
    y = np.tile([0, 1], 20)
    pipe = Pipeline(
        [("stable", StabilitySelector(STABILITY, threshold=0.8)), ("model", LogisticRegression())]
    )
    scores = cross_val_score(pipe, X, y, groups=np.arange(40), cv=GroupKFold(4))
    assert len(scores) == 4
    fitted = clone(pipe).fit(X, y)
    assert fitted.named_steps["model"].n_features_in_ == 3  # mean, volume, age


def test_params_roundtrip():
    sel = StabilitySelector(STABILITY, threshold=0.9, missing="keep")
    assert clone(sel).get_params()["threshold"] == 0.9


@pytest.mark.parametrize(
    ("kwargs", "X", "error", "match"),
    [
        ({"stability": None}, _X(), SettingsError, "needs a stability table"),
        ({"stability": STABILITY, "threshold": 1.5}, _X(), SettingsError, r"in \[-1, 1\]"),
        ({"stability": STABILITY, "missing": "ignore"}, _X(), SettingsError, "'drop' or 'keep'"),
        ({"stability": STABILITY}, _X().to_numpy(), InputError, "needs column names"),
        ({"stability": "nowhere/stability.parquet"}, _X(), InputError, "radiomix stability"),
        ({"stability": STABILITY.drop(columns="ci_low")}, _X(), InputError, "lacks the column"),
        ({"stability": pd.concat([STABILITY, STABILITY])}, _X(), InputError, "more than once"),
    ],
)
def test_errors(kwargs, X, error, match):
    with pytest.raises(error, match=match):
        StabilitySelector(**kwargs).fit(X)
