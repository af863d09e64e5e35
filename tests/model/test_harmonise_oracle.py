"""ComBatHarmoniser against neuroHarmonize 2.5.2 (stored output) and closed-form L/S results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiomix.model.harmonise import ComBatHarmoniser

REFERENCE = Path(__file__).parent / "data" / "combat_neuroharmonize_2.5.2.csv"
FEATURES = [f"ct.original.stat.f{i}" for i in range(6)]


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE, comment="#")


@pytest.mark.parametrize(("covariates", "prefix"), [(["age"], "nh_age"), ([], "nh_noage")])
def test_matches_neuroharmonize_learn(reference, covariates, prefix):
    """Same rows fitted and transformed: neuroHarmonize's harmonizationLearn output (eb=True).

    The only difference is where the empirical-Bayes iteration stops (relative change below
    1e-4 in both), so agreement is to 1e-5 of each feature's spread.
    """
    table = reference[["site", "age", *FEATURES]]
    out = ComBatHarmoniser("site", covariates=covariates).fit(table).transform(table)
    expected = reference[[f"{prefix}.{i}" for i in range(6)]].to_numpy()
    got = out[FEATURES].to_numpy()
    spread = expected.std(axis=0)
    assert np.all(np.abs(got - expected) <= 1e-5 * spread)


def test_neuroharmonize_live_when_installed(reference):
    """Live oracle (skipped in the project venv: neuroHarmonize pins numpy<2)."""
    nh = pytest.importorskip("neuroHarmonize")
    table = reference[["site", "age", *FEATURES]]
    _, expected = nh.harmonizationLearn(
        table[FEATURES].to_numpy(), pd.DataFrame({"SITE": table.site, "age": table.age})
    )
    got = ComBatHarmoniser("site", covariates=["age"]).fit(table).transform(table)[FEATURES]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-5 * expected.std())


def test_location_scale_closed_form(reference):
    """Without shrinkage and covariates every centre gets the grand mean and pooled variance.

    With gamma = mean and delta = variance (ddof 1) of the standardised rows of a centre,
    the harmonised rows of that centre have mean alpha_g (the size-weighted mean of the
    centre means) and variance (ddof 1) sigma_g^2 = residual sum of squares / n.
    """
    table = reference[["site", *FEATURES]]
    out = ComBatHarmoniser("site", empirical_bayes=False).fit(table).transform(table)
    y = table[FEATURES]
    means = y.groupby(table.site).mean()
    sizes = table.site.value_counts().reindex(means.index)
    alpha = (means.mul(sizes, axis=0)).sum() / len(table)
    resid = y - means.reindex(table.site).to_numpy()
    sigma2 = (resid**2).sum() / len(table)
    for _, rows in out.groupby(table.site):
        np.testing.assert_allclose(rows[FEATURES].mean(), alpha, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(rows[FEATURES].var(ddof=1), sigma2, rtol=1e-10)


def test_covariate_effect_preserved():
    """A planted age slope survives harmonisation when age is a declared covariate.

    Feature = 0.3 * age + centre-specific shift and noise scale, with the older patients in
    centre B (age confounded with centre). With age as covariate the harmonised slope stays
    0.3 (to 10 %); the centre shift is removed all the same (centre means of the age-adjusted
    feature agree to 0.3 noise SD).
    """
    rng = np.random.default_rng(7)
    n = 200
    centre = np.repeat(["A", "B"], n // 2)
    age = np.where(centre == "A", rng.uniform(30, 60, n), rng.uniform(45, 80, n))
    noise = rng.normal(0, 1, n) * np.where(centre == "A", 1.0, 2.5)
    feat = 0.3 * age + np.where(centre == "A", 0.0, 6.0) + noise
    table = pd.DataFrame({"centre": centre, "age": age, "ct.original.stat.x": feat})
    table["ct.original.stat.y"] = rng.normal(size=n) + (centre == "B") * 3.0
    out = ComBatHarmoniser("centre", covariates=["age"]).fit(table).transform(table)
    slope = np.polyfit(age, out["ct.original.stat.x"], 1)[0]
    assert slope == pytest.approx(0.3, rel=0.1)
    adjusted = out["ct.original.stat.x"] - 0.3 * age
    gap = adjusted[centre == "B"].mean() - adjusted[centre == "A"].mean()
    assert abs(gap) < 0.3 * 1.8
