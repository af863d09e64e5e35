"""An arm's stability table is refused when it was computed with other extraction settings
than the features it filters (per tag, from the two tables' provenance)."""

from __future__ import annotations

import logging

import pytest

from radiomix.analysis.arms import check_stability_settings
from radiomix.analysis.spec import Arm
from radiomix.errors import InputError, SettingsError
from radiomix.table import write_table

ARM = Arm(name="stable_ct", blocks=("radiomic",), model="radscore",
          stability="stability.parquet")
ROW = {"feature": "ct.original.stat.mean", "icc": 0.9, "ci_low": 0.8, "ci_high": 0.95}


def _stability(tmp_path, hashes):
    path = tmp_path / "stability.parquet"
    prov = {"icc_form": "ICC(1,1)"}
    if hashes is not None:
        prov["tag_settings_hash"] = hashes
    write_table([ROW], path, provenance=prov)
    return path


def _features(**by_tag):
    cases = [{"tag": t, "settings_hash": h, "status": "ok", "patient_id": f"P{i}"}
             for t, h in by_tag.items() for i in range(3)]
    cases.append({"tag": "ct", "settings_hash": None, "status": "error"})
    return {"cases": cases}


def test_same_settings_pass(tmp_path):
    path = _stability(tmp_path, {"ct": "aaaa", "ct_ring": "bbbb"})
    check_stability_settings(ARM, path, _features(ct="aaaa", ct_ring="bbbb", pet="cccc"))


def test_other_settings_for_a_tag_are_refused_by_name(tmp_path):
    path = _stability(tmp_path, {"ct": "aaaa", "ct_ring": "bbbb"})
    with pytest.raises(SettingsError, match=r"stable_ct.*tag ct_ring.*bbbb against dddd.*"
                                            r"radiomix stability"):
        check_stability_settings(ARM, path, _features(ct="aaaa", ct_ring="dddd"))


def test_an_older_table_is_used_with_a_warning(tmp_path, caplog):
    path = _stability(tmp_path, None)
    with caplog.at_level(logging.WARNING, logger="radiomix.analysis.arms"):
        check_stability_settings(ARM, path, _features(ct="aaaa"))
    assert "does not record the extraction settings" in caplog.text


def test_features_without_case_provenance_are_checked_against_the_study(tmp_path):
    # outside tester d (round 21): the same feature rows as a CSV, or re-saved by pandas,
    # lost the per-case record and the check was skipped without a word (exit 0)
    path = _stability(tmp_path, {"ct": "aaaa"})
    with pytest.raises(SettingsError, match=r"tag ct than the study file's declaration "
                                            r"\(settings hash aaaa against eeee\)"):
        check_stability_settings(ARM, path, {}, {"ct": "eeee"})
    warned = check_stability_settings(ARM, path, {}, {"ct": "aaaa"})
    assert len(warned) == 1
    assert "records no extraction settings (not written by radiomix run" in warned[0]
    assert "checked against the study file's settings only" in warned[0]


def test_a_table_whose_settings_hash_is_the_studys_is_checked_without_a_word(tmp_path):
    # outside tester e (round 21): a CSV of a run table keeps the settings_hash column,
    # which says the study file's declaration is what the features were extracted with
    path = _stability(tmp_path, {"ct": "aaaa"})
    assert check_stability_settings(ARM, path, {}, {"ct": "aaaa"}, confirmed=True) == []
    with pytest.raises(SettingsError, match=r"tag ct than the features \(their settings hash "
                                            r"is the study file's\)"):
        check_stability_settings(ARM, path, {}, {"ct": "eeee"}, confirmed=True)


def test_a_table_of_other_settings_than_the_study_cannot_be_checked(tmp_path):
    path = _stability(tmp_path, {"ct": "aaaa"})
    warned = check_stability_settings(ARM, path, {}, None)
    assert len(warned) == 1
    assert "extracted with other settings than the study file declares" in warned[0]
    assert "could not be checked" in warned[0]


def test_features_with_case_provenance_say_nothing(tmp_path):
    path = _stability(tmp_path, {"ct": "aaaa"})
    assert check_stability_settings(ARM, path, _features(ct="aaaa"), {"ct": "eeee"}) == []


def test_an_unreadable_table_is_one_clear_error(tmp_path):
    path = tmp_path / "stability.parquet"
    path.write_text("not a parquet file")
    with pytest.raises(InputError, match=r"stability table .* cannot be read"):
        check_stability_settings(ARM, path, _features(ct="aaaa"))


def test_a_table_without_provenance_is_used_with_a_warning(tmp_path, caplog):
    path = tmp_path / "stability.csv"  # a hand-made CSV: no provenance beside it
    path.write_text("feature,ci_low\nct.original.stat.mean,0.8\n")
    with caplog.at_level(logging.WARNING, logger="radiomix.analysis.arms"):
        check_stability_settings(ARM, path, _features(ct="aaaa"))
    assert "does not record the extraction settings" in caplog.text
