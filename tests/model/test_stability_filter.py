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
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, _X()[list(sel.get_feature_names_out())])


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


def test_arm_stability_then_combat_then_fuse():
    """An arm: stability filter -> ComBat (centre column passed through the filter) ->
    block fuser -> logistic model, evaluated with patient-grouped folds. The stable features
    carry the planted signal, so the out-of-fold AUC stays high; the per-family counts are
    read from the fitted step."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    from radiomix.model.fuse import BlockFuser
    from radiomix.model.harmonise import ComBatHarmoniser

    rng = np.random.default_rng(4)
    n = 160
    y = np.tile([0, 1], n // 2)
    centre = np.repeat(["A", "B"], n // 2)
    cols = [f"ct.original.stat.f{i}" for i in range(6)]
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=cols)
    X.iloc[:, :3] += y[:, None] * 1.0
    X.loc[centre == "B", cols] = X.loc[centre == "B", cols] * 2.0 + 3.0
    X["centre"] = centre
    stab = pd.DataFrame({"feature": cols, "ci_low": [0.9, 0.8, 0.95, 0.3, 0.2, 0.1]})
    arm = Pipeline(
        [
            ("stable", StabilitySelector(stab)),
            ("harmonise", ComBatHarmoniser("centre")),
            ("fuse", BlockFuser()),
            ("model", LogisticRegression()),
        ]
    )
    proba = cross_val_predict(
        arm, X, y, groups=np.arange(n), cv=GroupKFold(5), method="predict_proba"
    )[:, 1]
    assert roc_auc_score(y, proba) > 0.8
    fitted = clone(arm).fit(X, y)
    counts = fitted.named_steps["stable"].family_counts_.set_index("family")
    assert counts.loc["stat", "n_kept"] == 3
    assert fitted.named_steps["model"].n_features_in_ == 3
