"""``radiomix model --model cox_nomogram`` / ``nomogram`` (outside tester T, round 20): with
the covariates declared it was refused for lacking "the clinical block", and with
``--columns clinical`` it ran the clinical baseline alone, exit 0, in its place."""

from __future__ import annotations

import pytest

from radiomix.analysis.adhoc import adhoc_spec
from radiomix.analysis.spec import Covariate
from radiomix.errors import SettingsError

AGE = (Covariate(name="age"),)


@pytest.mark.parametrize(("model", "outcome"), [
    ("cox_nomogram", {"time": "tt", "event": "ev", "target": None}),
    ("nomogram", {"target": "y", "positive": "1"}),
])
def test_a_nomogram_model_joins_the_features_with_the_covariates(model, outcome):
    spec = adhoc_spec(**outcome, model=model, covariates=AGE, radiomic=("ct.original.*",))
    arm = next(a for a in spec.arms if a.name == "model")
    assert arm.model == model
    assert set(arm.blocks) == {"radiomic", "clinical"}


def test_a_nomogram_model_without_covariates_is_refused():
    with pytest.raises(SettingsError, match=r"--model cox_nomogram joins a rad-score with "
                                            r"clinical covariates: declare them"):
        adhoc_spec(target=None, time="tt", event="ev", model="cox_nomogram",
                   radiomic=("ct.original.*",))


def test_no_feature_column_is_refused_not_replaced_by_the_baseline(caplog):
    with pytest.raises(SettingsError, match=r"--model cox_nomogram has no radiomic or deep "
                                            r"feature column to join with the covariates"):
        adhoc_spec(target=None, time="tt", event="ev", model="cox_nomogram", covariates=AGE)
    with caplog.at_level("WARNING", logger="radiomix"):  # a clinical-only run: said
        spec = adhoc_spec(target="y", model="knn", covariates=AGE)
    assert "model" not in [a.name for a in spec.arms]
    assert "--model knn is not fitted, only the baselines run" in caplog.text
    # a plain model keeps the features alone
    spec = adhoc_spec(target="y", model="knn", covariates=AGE, radiomic=("ct.original.*",))
    assert next(a for a in spec.arms if a.name == "model").blocks == ("radiomic",)
