"""BlockFuser and the selectors against hand computations and independent code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

from radiomix.errors import InputError
from radiomix.model import (
    BlockFuser,
    CorrelationClusterSelector,
    MrmrSelector,
    PenalisedSelector,
    UnivariateFdrSelector,
    VarianceSelector,
)
from radiomix.model.select import benjamini_hochberg


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    n = 40
    X = pd.DataFrame(
        {
            "ct.original.stat.mean": rng.normal(100, 20, n),
            "ct.original.glcm.contrast.3d_merged": rng.normal(5, 2, n),
            "age": rng.normal(60, 10, n),
        }
    )
    for j in range(6):
        X[f"ct.deep.resnet18_2p5d.f{j:03d}"] = rng.normal(0, 1 + j, n)
    X.iloc[3, 0] = np.nan
    return X


def test_fuser_statistics_come_from_fit_rows_only(table):
    train, test = table.iloc[:30], table.iloc[30:]
    fuser = BlockFuser(include=("radiomic", "clinical")).fit(train)
    out = fuser.transform(test)
    col = train["ct.original.stat.mean"]
    med = np.nanmedian(col)
    filled = col.fillna(med)
    expected = (test["ct.original.stat.mean"] - filled.mean()) / filled.std(ddof=0)
    np.testing.assert_allclose(out[:, 0], expected, rtol=1e-12)
    expected_age = (test["age"] - train["age"].mean()) / train["age"].std(ddof=0)
    np.testing.assert_allclose(out[:, 2], expected_age, rtol=1e-12)
    assert list(fuser.get_feature_names_out()) == [
        "ct.original.stat.mean",
        "ct.original.glcm.contrast.3d_merged",
        "age",
    ]


def test_fuser_deep_pca_equals_pca_of_scaled_deep_block(table):
    fuser = BlockFuser(deep_pca=3, include=("deep",)).fit(table)
    deep = table[[c for c in table.columns if ".deep." in c]].to_numpy()
    z = (deep - deep.mean(0)) / deep.std(0)
    ref = PCA(n_components=3).fit(z).transform(z)
    out = fuser.transform(table)
    # principal axes are defined up to sign
    np.testing.assert_allclose(np.abs(out), np.abs(ref), atol=1e-10)
    assert list(fuser.get_feature_names_out()) == [
        "ct.deep.resnet18_2p5d.pc000",
        "ct.deep.resnet18_2p5d.pc001",
        "ct.deep.resnet18_2p5d.pc002",
    ]


def test_fuser_balanced_blocks_and_pandas_output(table):
    fuser = BlockFuser(balance_blocks=True).set_output(transform="pandas").fit(table)
    out = fuser.transform(table)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [c for c in table.columns if ".original." in c] + [
        c for c in table.columns if ".deep." in c
    ] + ["age"]
    # each block has total variance 1 (n_cols * (1/sqrt(n_cols))^2)
    var = out.var(ddof=0)
    assert var[[c for c in out.columns if ".deep." in c]].sum() == pytest.approx(1.0, rel=1e-9)
    assert var["age"] == pytest.approx(1.0, rel=1e-9)


def test_fuser_explicit_blocks(table):
    fuser = BlockFuser(
        blocks={"clinical": ["age"], "deep": ["ct.deep.resnet18_2p5d.f000"]}, deep_pca=1
    ).fit(table)
    assert fuser.blocks_ == {"clinical": ["age"], "deep": ["ct.deep.resnet18_2p5d.f000"]}
    assert fuser.transform(table).shape == (40, 2)


def test_fuser_errors(table):
    with pytest.raises(InputError, match="absent from X"):
        BlockFuser(blocks={"clinical": ["stage"]}).fit(table)
    with pytest.raises(InputError, match="is in blocks"):
        BlockFuser(blocks={"a": ["age"], "b": ["age"]}).fit(table)
    with pytest.raises(InputError, match="include names unknown blocks"):
        BlockFuser(include=("imaging",)).fit(table)
    with pytest.raises(InputError, match="deep_pca must be"):
        BlockFuser(deep_pca=1.5).fit(table)
    with pytest.raises(InputError, match="impute=None"):
        BlockFuser(impute=None).fit(table)
    with pytest.raises(InputError, match="need a DataFrame"):
        BlockFuser(blocks={"a": ["x0"]}).fit(table.to_numpy())


def test_variance_selector():
    X = np.array([[1.0, 0.0, 2.0], [1.0, 1.0, 2.0 + 1e-3], [1.0, 2.0, 2.0]])
    sel = VarianceSelector(threshold=1e-4).fit(X)
    np.testing.assert_allclose(sel.variances_, np.var(X, axis=0))
    assert sel.get_support().tolist() == [False, True, False]
    with pytest.raises(InputError, match="no column has variance above"):
        VarianceSelector(threshold=10).fit(X)


def test_correlation_clusters_keep_one_medoid_per_cluster():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 200))
    X = np.column_stack(
        [
            a,
            a + 0.05 * rng.normal(size=200),
            a + 0.1 * rng.normal(size=200),  # cluster 1
            b,
            -b + 0.05 * rng.normal(size=200),  # cluster 2 (negative correlation counts)
            rng.normal(size=200),  # alone
        ]
    )
    sel = CorrelationClusterSelector(threshold=0.9).fit(X)
    labels = sel.labels_
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4]
    assert len(set(labels)) == 3
    support = sel.get_support()
    assert support.sum() == 3
    assert support[5]
    # medoid of cluster 1: largest mean |r| to the other two members
    R = np.abs(np.corrcoef(X[:, :3].T))
    assert support[:3].tolist() == (np.arange(3) == np.argmax(R.sum(1))).tolist()


def test_fdr_selector_pvalues_and_bh():
    rng = np.random.default_rng(2)
    y = np.repeat([0, 1], 40)
    X = rng.normal(size=(80, 6))
    X[:, 0] += 1.5 * y
    X[:, 1] += 0.8 * y
    sel = UnivariateFdrSelector(alpha=0.05).fit(X, y)
    ref = [stats.mannwhitneyu(X[y == 0, j], X[y == 1, j]).pvalue for j in range(6)]
    np.testing.assert_allclose(sel.pvalues_, ref, rtol=1e-12)
    # BH by hand
    order = np.argsort(ref)
    m = 6
    q_sorted = np.minimum.accumulate((np.array(ref)[order] * m / np.arange(1, 7))[::-1])[::-1]
    q = np.empty(6)
    q[order] = q_sorted
    np.testing.assert_allclose(sel.qvalues_, q, rtol=1e-12)
    assert sel.get_support()[:2].all()
    welch = UnivariateFdrSelector(test="welch_t").fit(X, y)
    ref_t = stats.ttest_ind(X[y == 0], X[y == 1], equal_var=False).pvalue
    np.testing.assert_allclose(welch.pvalues_, ref_t, rtol=1e-12)
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).tolist() == pytest.approx(
        [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5]
    )


def test_fdr_selector_keeps_min_features_when_nothing_passes():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 4))
    y = np.tile([0, 1], 15)
    sel = UnivariateFdrSelector(alpha=1e-9, min_features=2).fit(X, y)
    assert sel.get_support().sum() == 2
    assert set(np.flatnonzero(sel.get_support())) == set(np.argsort(sel.pvalues_)[:2])


def test_lasso_selector_matches_independent_l1_fit():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 8)) * np.arange(1, 9)
    y = (X[:, 0] / 1 + X[:, 3] / 4 + rng.normal(0, 0.7, 150) > 0).astype(int)
    sel = PenalisedSelector(C=0.1).fit(X, y)
    z = (X - X.mean(0)) / X.std(0)
    ref = LogisticRegression(
        C=0.1, l1_ratio=1.0, solver="liblinear", tol=1e-10, max_iter=10000
    ).fit(z, y)
    np.testing.assert_allclose(sel.coef_, ref.coef_, atol=1e-3)
    assert sel.get_support().tolist() == (np.abs(ref.coef_[0]) > 1e-10).tolist()
    assert sel.get_support()[[0, 3]].all()
    top1 = PenalisedSelector(C=0.1, max_features=1).fit(X, y)
    assert np.flatnonzero(top1.get_support()).tolist() == [int(np.argmax(np.abs(ref.coef_)))]


def test_mrmr_prefers_relevant_non_redundant_columns():
    rng = np.random.default_rng(5)
    y = np.repeat([0, 1], 100)
    s1 = y + 0.6 * rng.normal(size=200)
    s2 = y + 0.9 * rng.normal(size=200)
    X = np.column_stack([s1, s1 + 0.01 * rng.normal(size=200), s2, rng.normal(size=200)])
    sel = MrmrSelector(n_features=2).fit(X, y)
    # the first pick is the most relevant; the near-copy of it is skipped for s2
    assert sel.ranking_.tolist()[0] in (0, 1)
    assert sel.ranking_.tolist()[1] == 2
    # for two classes relevance is the absolute point-biserial (Pearson) correlation
    for j in range(4):
        assert sel.relevance_[j] == pytest.approx(abs(np.corrcoef(X[:, j], y)[0, 1]), rel=1e-10)
    # more classes: correlation ratio from the one-way ANOVA F, eta^2 = F(k-1)/(F(k-1)+n-k)
    y3 = np.repeat([0, 1, 2], [60, 70, 70])
    f = stats.f_oneway(*(X[y3 == c, 2] for c in range(3))).statistic
    eta = np.sqrt(f * 2 / (f * 2 + 197))
    assert MrmrSelector(n_features=1).fit(X, y3).relevance_[2] == pytest.approx(eta, rel=1e-10)


def test_selector_errors():
    X = np.random.default_rng(0).normal(size=(10, 3))
    y = np.tile([0, 1], 5)
    with pytest.raises(InputError, match="threshold must be in"):
        CorrelationClusterSelector(threshold=1.5).fit(X)
    with pytest.raises(InputError, match="test must be"):
        UnivariateFdrSelector(test="chi2").fit(X, y)
    with pytest.raises(InputError, match="2 classes"):
        UnivariateFdrSelector().fit(X, np.zeros(10))
    with pytest.raises(InputError, match="l1_ratio must be in"):
        PenalisedSelector(l1_ratio=0).fit(X, y)
    with pytest.raises(InputError, match="n_features must be an int"):
        MrmrSelector(n_features=0).fit(X, y)
