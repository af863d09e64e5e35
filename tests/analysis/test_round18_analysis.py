"""Eighteenth outside round: analysis inputs and outputs that misled.

- A1: a death typed ``d`` beside the event value ``D`` was read as censored (9 events
  counted as 8), exit 0, nothing said; ``dead`` likewise.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.spec import analysis_from_dict
from radiomix.errors import InputError

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}


def _survival():
    return analysis_from_dict({
        "outcomes": [{"name": "os", "kind": "survival", "time": "fu_days", "event": "status",
                      "event_value": "D"}],
        "roles": {"group": "patient_id", "lesion": "lesion_id",
                  "derived": ["outcome", "outcome_text", "days_to_outcome"]},
        "arms": [{"name": "cox", "blocks": ["radiomic"], "radiomic": ["*.stat.f0*"],
                  "model": "coxnet"}],
        "validation": dict(FAST),
    })


@pytest.mark.parametrize("typo", ["d", " D", "D "])
def test_the_event_value_retyped_is_refused(typo):
    feats, clin = cohort(40)
    status = clin["status"].to_numpy(dtype=object)
    status[np.flatnonzero(status == "D")[0]] = typo
    if typo.strip() == "D":  # a cell with spaces around D: the reader may strip it
        status[np.flatnonzero(status == "D")[0]] = "d."
        typo = "d."
    with pytest.raises(InputError, match=rf"holds {typo!r} beside the event value 'D'; they "
                                         r"differ only in case or spacing"):
        build_table(feats, _survival(), clinical=clin.assign(status=status))


def test_the_values_read_as_censored_are_named_with_event_words(caplog):
    feats, clin = cohort(40)  # one lesion per patient
    status = clin["status"].to_numpy(dtype=object)
    status[np.flatnonzero(status == "D")[0]] = "dead"
    counts = {v: int((status == v).sum()) for v in ("D", "NED", "AWD")}
    with caplog.at_level(logging.WARNING):
        build_table(feats, _survival(), clinical=clin.assign(status=status))
    said = [r.getMessage() for r in caplog.records
            if "is read with the event D" in r.getMessage()]
    assert said == [
        f"outcome os: column 'status' is read with the event D ({counts['D']} row(s)) and as "
        f"censored: AWD ({counts['AWD']}), NED ({counts['NED']}), dead (1); 'dead' usually "
        "name(s) an event: if it is this event, recode the column (only the event value "
        "counts as an event); a competing event is censored here"
    ]


def test_one_censoring_code_says_nothing(caplog):
    feats, clin = cohort(40)
    status = np.where(clin["status"] == "D", "D", "alive")
    with caplog.at_level(logging.WARNING):
        build_table(feats, _survival(), clinical=clin.assign(status=status))
    assert "is read with the event" not in caplog.text


def test_unquoted_integer_codes_are_read_as_text():
    """The README's ``event_value: 2`` was refused in a study file ("must be text")."""
    import yaml

    spec = analysis_from_dict(yaml.safe_load("""
outcomes:
  - {name: os, kind: survival, time: fu_days, event: code, event_value: 2}
roles: {group: patient_id, centre: centre}
arms: [{name: cox, blocks: [radiomic], model: coxnet}]
validation: {schemes: [external], test_centres: [2, 3]}
"""))
    assert spec.outcomes[0].event_value == "2"
    assert spec.validation.test_centres == ("2", "3")
    from radiomix.errors import SettingsError

    with pytest.raises(SettingsError, match=r"event_value must be text; got 2\.5 \(float\)"):
        analysis_from_dict(yaml.safe_load("""
outcomes: [{name: os, kind: survival, time: t, event: e, event_value: 2.5}]
roles: {group: patient_id}
arms: [{name: cox, blocks: [radiomic], model: coxnet}]
"""))


# -- A2: inner folds that cannot score a survival tuning grid --------------------------------


def _search_on(t, e, grid=(0.01, 0.1, 1.0)):
    import pandas as pd

    from radiomix.evaluate.survival import fit_survival_tuned
    from radiomix.model.survival import CoxPH

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=len(t))})
    g = np.array([f"P{i}" for i in range(len(t))])
    return fit_survival_tuned(CoxPH(), X, np.asarray(t, float), np.asarray(e), groups=g,
                              param_grid={"penalizer": list(grid)}, inner_splits=3)


def test_no_inner_fold_can_score_the_grid():
    """Every event after every censored time: an inner test fold of one event and one
    censored patient holds no comparable pair, so every point's inner C-index is NaN. The
    search chose the first point silently, reported as a tuned edge value; it is now
    marked untuned, with the weakest penalty."""
    search = _search_on([10.0, 11.0, 12.0, 1.0, 2.0, 3.0], [1, 1, 1, 0, 0, 0],
                        grid=(1.0, 0.1, 0.01))  # the first point was taken before
    assert search.untuned_
    assert search.unscorable_folds_ == 3
    assert search.failed_params_ == []
    assert search.best_params_ == {"penalizer": 0.01}


def test_an_unscorable_inner_fold_is_left_out_of_the_means():
    from radiomix.evaluate.survival import _scorable_means, scorable_folds_best

    cv = {"split0_test_score": np.array([0.6, 0.7, 0.5]),
          "split1_test_score": np.array([np.nan, np.nan, np.nan]),
          "split2_test_score": np.array([0.8, 0.7, np.nan]),
          "mean_test_score": np.array([np.nan, np.nan, np.nan]),
          "params": [{"penalizer": 1.0}, {"penalizer": 0.1}, {"penalizer": 0.01}]}
    means, unscorable = _scorable_means(cv)
    np.testing.assert_allclose(means, [0.7, 0.7, np.nan])  # point 3 failed where others scored
    assert unscorable == 1
    assert scorable_folds_best(cv) == 1  # 0.7 tied: the weaker penalty


def test_the_arm_says_where_tuning_was_impossible():
    from radiomix.analysis.engine import _untuned_warnings

    folds = [{"untuned": True, "best_params": {"model__penalizer": 0.01}},
             {"untuned": False, "unscorable_inner_folds": 1},
             {"untuned": False, "unscorable_inner_folds": 0}]
    said = _untuned_warnings(folds)
    assert said[0].startswith("tuning was impossible in 1 of 3 fitted models: no inner test "
                              "fold held a comparable pair")
    assert '{"model__penalizer": 0.01}' in said[0]
    assert said[1].startswith("in 1 of 3 fitted models some inner test folds held no "
                              "comparable pair")
