"""Sixth outside round: inputs of the analysis that looked legitimate and were not."""

from __future__ import annotations

import numpy as np
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table, written
from radiomix.analysis.spec import analysis_from_dict
from radiomix.errors import SettingsError

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}


def _binary_spec(**roles):
    return analysis_from_dict({
        "outcomes": [{"name": "mets", "kind": "binary", "column": "outcome",
                      "positive": "mets"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome_text", "days_to_outcome"], **roles},
        "arms": [{"name": "rad", "blocks": ["radiomic"], "model": "logistic"}],
        "validation": dict(FAST),
    })


@pytest.mark.parametrize("name", ["ct.original.stat.leaky_mean", "ct.original.morph.fu_marker",
                                  "ct.original.stat.mean.3d_merged"])
def test_an_outcome_copy_under_a_feature_like_name_is_refused(name):
    """The leak guard used to skip every column named like a feature: a copy of the outcome
    merged into the feature table as ``ct.original.stat.leaky_mean`` reached the model
    (AUC 1.00). Only names radiomix writes (a registered feature with one of its
    aggregations) are exempt now; ``stat.mean`` has no aggregation, so the last name is
    not one radiomix writes either."""
    feats, clin = cohort(40)
    y = (clin["outcome"] == "mets").to_numpy(float)
    feats[name] = y + np.random.default_rng(1).normal(0, 0.01, len(y))
    with pytest.raises(SettingsError, match=rf"{name.replace('.', '[.]')} \(by its values\) "
                                            "separate"):
        build_table(feats, _binary_spec(), clinical=clin)


def test_written_knows_the_registry_and_the_deep_columns():
    assert written("ct.original.morph.volume_mesh")
    assert written("pet.log_s1.glcm.joint_max.3d_merged")
    assert not written("ct.original.glcm.joint_max")  # a texture feature needs its aggregation
    assert not written("ct.original.glcm.joint_max.4d_merged")
    assert written("ct.deep.resnet18_2p5d.f511")
    assert not written("ct.deep.resnet18_2p5d.f1x")
    assert not written("age")
