"""Twentieth outside round, the ``analysis:`` section of a study file.

- F1: a declared arm whose model does not fit the outcome it names (``radscore`` for a
  survival outcome, ``coxnet`` for a binary one), or whose ``outcomes`` is ``[]``, was
  dropped without a word (exit 0, the arm nowhere in analysis.json).
- F3, F5: text where a list is expected (``covariates: age``, an arm's ``outcomes:
  lung_mets``, ``selector: variance``, ``radiomic: 'ct.*'``, ordinal ``levels``) was a
  traceback or was read letter by letter (``got 'l'``).
- F6: keys that change nothing were accepted: ``deep_pca`` without the deep block,
  ``stability_threshold`` without ``stability``, ``test_centres`` / ``test_size`` for
  schemes that do not read them, ``roles.allow`` naming no column.
- F7: names in the study file that match no column of the table, a ``reference_arm`` that
  is no arm, and ``baselines: []`` leaving an outcome without arms exited 1 (InputError)
  where a settings mistake exits 2.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from _synthetic import cohort

from radiomix.analysis.data import build_table
from radiomix.analysis.spec import Roles, analysis_from_dict
from radiomix.errors import SettingsError

FAST = {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50}

BASE: dict[str, Any] = {
    "outcomes": [
        {"name": "mets", "kind": "binary", "column": "outcome", "positive": "mets"},
        {"name": "ttm", "kind": "survival", "time": "fu_days", "event": "status",
         "event_value": "D"},
    ],
    "roles": {"group": "patient_id", "lesion": "lesion_id", "covariates": ["age"],
              "derived": ["outcome_text", "days_to_outcome"]},
    "arms": [{"name": "rs", "blocks": ["radiomic"], "model": "radscore",
              "outcomes": ["mets"]}],
    "validation": dict(FAST),
}


def _doc(**changes: Any) -> dict[str, Any]:
    """The base section with ``changes`` (``arm``: keys of the arm; ``roles``,
    ``validation``: keys of those mappings; others: top-level keys)."""
    doc = copy.deepcopy(BASE)
    doc["arms"][0].update(changes.pop("arm", {}))
    doc["roles"].update(changes.pop("roles", {}))
    doc["validation"].update(changes.pop("validation", {}))
    doc.update(changes)
    return doc


def test_the_base_section_is_accepted():
    spec = analysis_from_dict(_doc())
    assert [a.name for a in spec.arms] == ["rs"]


@pytest.mark.parametrize(("arm", "message"), [
    ({"outcomes": ["ttm"]},
     r"^arm rs: model radscore is for binary outcomes, and ttm is a survival outcome; for it "
     r"use one of cox, coxnet, cox_nomogram"),
    ({"model": "coxnet", "outcomes": ["mets"]},
     r"^arm rs: model coxnet is for survival outcomes, and mets is a binary outcome; for it "
     r"use one of logistic, .*radscore"),
    ({"outcomes": []}, r"^arm rs: outcomes is empty, so the arm runs for no outcome"),
])
def test_an_arm_that_fits_none_of_its_outcomes_is_refused(arm, message):
    with pytest.raises(SettingsError, match=message):
        analysis_from_dict(_doc(arm=arm))


def test_an_arm_whose_model_fits_no_outcome_of_the_study_is_refused():
    doc = _doc(arm={"model": "cox"})
    del doc["arms"][0]["outcomes"]
    doc["outcomes"] = doc["outcomes"][:1]  # binary only
    with pytest.raises(SettingsError, match=r"^arm rs: model cox is for survival outcomes, "
                                            r"and the study declares none \(outcomes: mets "
                                            r"\(binary\)\)"):
        analysis_from_dict(doc)


@pytest.mark.parametrize(("where", "value", "message"), [
    ("roles", {"covariates": "age"},
     r"^analysis\.roles\.covariates must be a list, e.g\. \[age\]; got the text 'age'$"),
    ("arm", {"outcomes": "mets"},
     r"^analysis\.arms\[rs\]\.outcomes must be a list, e.g\. \[mets\]; got the text 'mets'$"),
    ("arm", {"selector": "variance"},
     r"^analysis\.arms\[rs\]\.selector must be a list, e.g\. \[variance\]; got the text "),
    ("arm", {"radiomic": "ct.*"},
     r"^analysis\.arms\[rs\]\.radiomic must be a list, e.g\. \['ct\.\*'\]; got the text "),
    ("arm", {"blocks": "radiomic"}, r"^analysis\.arms\[rs\]\.blocks must be a list"),
    ("roles", {"covariates": [{"name": "grade", "kind": "ordinal",
                               "levels": "Low,Intermediate,High"}]},
     r"^analysis\.roles\.covariates\[grade\]\.levels must be a list, e\.g\. "
     r"\[Low, Intermediate, High\]; got the text 'Low,Intermediate,High'$"),
    ("validation", {"schemes": "nested_cv"},
     r"^analysis\.validation\.schemes must be a list, e\.g\. \[nested_cv\]"),
    ("top", {"baselines": "clinical"}, r"^analysis\.baselines must be a list, e\.g\. "
                                       r"\[clinical\]"),
])
def test_text_for_a_list_is_refused_naming_the_text(where, value, message):
    doc = (_doc(roles=value) if where == "roles" else _doc(arm=value) if where == "arm"
           else _doc(validation=value) if where == "validation" else _doc(**value))
    with pytest.raises(SettingsError, match=message):
        analysis_from_dict(doc)


def test_covariates_that_are_not_covariates_are_refused_by_the_dataclass():
    with pytest.raises(SettingsError, match=r"^roles\.covariates must be a list of "
                                            r"covariates"):
        Roles(covariates="age")  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "message"), [
    ({"arm": {"deep_pca": 5}},
     r"^arm rs: deep_pca sets up the deep block, which the arm does not have \(blocks: "
     r"\[radiomic\]\); add deep to its blocks, or drop deep_pca$"),
    ({"arm": {"blocks": ["deep"], "model": "logistic", "selector": ["variance"]}},
     r"^arm rs: selector sets up the radiomic block"),
    ({"arm": {"clinical": ["age"]}}, r"^arm rs: clinical sets up the clinical block"),
    ({"arm": {"stability_threshold": 0.9}},
     r"^arm rs: stability_threshold is the ICC bound of the stability filter, which runs "
     r"only with stability: FILE"),
    ({"validation": {"test_centres": ["B"]}},
     r"^analysis\.validation\.test_centres \[B\] \(--test-centre on the command line\) "
     r"are read by the external and training_internal_external schemes only"),
    ({"validation": {"test_size": 0.25}},
     r"^analysis\.validation\.test_size is the share of patients the holdout scheme"),
])
def test_a_key_that_would_change_nothing_is_refused(changes, message):
    with pytest.raises(SettingsError, match=message):
        analysis_from_dict(_doc(**changes))


def test_keys_that_are_read_are_still_accepted():
    analysis_from_dict(_doc(arm={"blocks": ["radiomic", "deep"], "deep_pca": 5,
                                 "selector": ["variance"]}))
    analysis_from_dict(_doc(validation={"schemes": ["holdout"], "test_size": 0.25}))
    analysis_from_dict(_doc(validation={"schemes": ["external"], "test_centres": ["B"]}))
    analysis_from_dict(_doc(arm={"stability": "s.parquet", "stability_threshold": 0.9}))


@pytest.mark.parametrize(("changes", "message"), [
    ({"reference_arm": "nope"},
     r"^analysis\.reference_arm must be one of clinical, volume, prevalence, rs; got 'nope'"),
    ({"reference_arm": "rs"},
     r"^analysis\.reference_arm rs does not run for the survival outcome ttm"),
    ({"baselines": [], "arms": []},
     r"^outcome mets: no arm runs for this binary outcome \(baselines: \[\], and no "
     r"declared arm"),
])
def test_a_reference_arm_or_baselines_that_leave_no_arm_are_settings_errors(changes, message):
    with pytest.raises(SettingsError, match=message):
        analysis_from_dict(_doc(**changes))


def _table(**changes: Any):
    feats, clin = cohort(30)
    clin = clin.assign(status=["D" if i % 3 == 0 else "A" for i in range(len(clin))])
    return build_table(feats, analysis_from_dict(_doc(**changes)), clinical=clin)


def test_the_synthetic_table_is_built():
    assert _table().n_patients == 30


@pytest.mark.parametrize(("changes", "message"), [
    ({"outcomes": [{"name": "mets", "kind": "binary", "column": "outcme",
                    "positive": "mets"}]},
     r"^columns \['outcme'\], named as outcome or covariate columns .*'outcme': did you "
     r"mean 'outcome'\?"),
    ({"roles": {"covariates": ["agee"]}}, r"^columns \['agee'\], .*did you mean 'age'\?"),
    ({"roles": {"derived": ["nonexistent"]}},
     r"^columns \['nonexistent'\], named as derived \(roles\.derived / --derived\) columns, "
     r"are not in the feature or clinical table"),
    ({"roles": {"allow": ["nonexistent"]}},
     r"^columns \['nonexistent'\], named as allowed \(roles\.allow / --allow\) columns, are "
     r"not in the feature or clinical table"),
    ({"roles": {"allow": ["sex"]}},
     r"^columns \['sex'\], named as allowed .* are not model inputs"),
    ({"roles": {"centre": "site"}}, r"^centre column 'site' \(roles\.centre / --centre\) is "
                                    r"not in the feature or clinical table"),
])
def test_a_name_that_matches_no_column_is_a_settings_error(changes, message):
    outcomes = changes.pop("outcomes", None)
    if outcomes is not None:
        changes["outcomes"] = outcomes
        changes["arms"] = []
    with pytest.raises(SettingsError, match=message):
        _table(**changes)


def test_a_deep_pca_above_the_training_folds_is_described_as_fitted():
    """Tester S: ``deep_pca: 50`` on 24 patients kept at most 16 components in the folds
    (24 in the final model), while the arm's description said 50."""
    from radiomix.analysis.arms import _deep_pca_words

    assert _deep_pca_words(50, 16) == (
        "deep block reduced to principal components: deep_pca 50 is more than the 16 "
        "patients of the smallest training fold, so each fit keeps at most as many "
        "components as its training rows")
    assert _deep_pca_words(10, 16) == "deep block reduced to 10 principal components"
    assert "0.9 principal" not in _deep_pca_words(0.9, 16)


@pytest.mark.parametrize("kind", ["ordinal", "categorical"])
def test_a_level_given_twice_is_refused(kind):
    # outside tester f (round 21): levels [Low, Intermediate, High, Low] coded Low 3, above
    # High; the clinical baseline's AUC went from 0.612 to 0.516, exit 0
    doc = copy.deepcopy(BASE)
    doc["roles"]["covariates"] = [{"name": "grade", "kind": kind,
                                   "levels": ["Low", "Intermediate", "High", "Low"]}]
    with pytest.raises(SettingsError, match=r"covariate grade: levels .* name 'Low' more than "
                                            r"once; give each level once, in order"):
        analysis_from_dict(doc)


@pytest.mark.parametrize(("items", "ordinal", "message"), [
    (["age"], ["grade=Low,High", "grade=High,Low"], r"--ordinal gives 'grade' twice"),
    (["grade:categorical"], ["grade=Low,High"],
     r"--covariates declares 'grade' categorical and --ordinal declares it ordinal"),
])
def test_contradictory_covariate_flags_are_refused(items, ordinal, message):
    # outside tester h (round 21): the later --ordinal won; categorical became ordinal
    from radiomix.analysis.adhoc import parse_covariates

    with pytest.raises(SettingsError, match=message):
        parse_covariates(items, ordinal)
