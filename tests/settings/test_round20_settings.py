"""Twentieth outside round, settings and study files.

- F2: ``~`` was not expanded in the study file's paths (manifest, data_root, a tag's
  settings file), although the README says "``${VAR}`` and ``~`` are expanded".
- F4: a YAML key that is a list or a mapping (``? [a]``) was an internal error (exit 1).
- F6: ``discretisation: {method: fbn, bins: null}`` became 32 without a word (``bin_width:
  null`` under fbs is refused), and an empty or comment-only settings file ran the defaults.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _data import run_cli
from radiomix import load_settings
from radiomix.errors import SettingsError
from radiomix.settings import load_settings_file, settings_from_dict
from radiomix.settings.study import load_study

TAG = "tags:\n  ct:\n    settings: {discretisation: {method: fbs, bin_width: 25}}\n"


@pytest.mark.parametrize("text", ["? [a]\n: 1\n", "discretisation:\n  ? {a: 1}\n  : 2\n"])
def test_a_key_that_is_not_a_name_is_refused_in_a_settings_file(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=r"; keys must be names \(key: value\)$"):
        load_settings_file(path)


def test_a_key_that_is_not_a_name_is_refused_in_a_study_file(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("manifest: m.csv\n" + TAG + "? [a]\n: 1\n")
    with pytest.raises(SettingsError, match=r"a key is a list; keys must be names"):
        load_study(path)


def test_a_key_that_is_not_a_name_exits_2_in_one_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("? [a]\n: 1\n")
    proc = run_cli("extract", str(tmp_path / "i.nii.gz"), str(tmp_path / "m.nii.gz"),
                   "--config", str(path), "--out", str(tmp_path / "o.csv"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "keys must be names" in proc.stderr


@pytest.mark.parametrize("where", ["discretisation", "response_maps.discretisation"])
@pytest.mark.parametrize("step", [{"method": "fbn", "bins": None}, {"bins": None}])
def test_null_bins_for_fbn_is_refused(where, step):
    data: dict = {}
    node = data
    for part in where.split(".")[:-1]:
        node = node.setdefault(part, {})
    node["discretisation"] = step
    with pytest.raises(SettingsError, match=rf"^{where.replace('.', r'[.]')}\.bins is null; "
                                            r"give the number of bins of fbn"):
        settings_from_dict(data)


def test_unset_bins_are_still_accepted():
    assert settings_from_dict({"discretisation": {"method": "fbn"}}).discretisation.bins == 32
    # a mapping written from fbs settings holds bins: null (unset)
    s = settings_from_dict({"discretisation": {"method": "fbs", "bin_width": 25,
                                               "bins": None}})
    assert s.discretisation.bins is None
    assert load_settings("ibsi-C", discretisation__method="fbn").discretisation.bins == 32


def test_a_study_override_to_fbn_over_an_fbs_preset_still_reads(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("manifest: m.csv\ntags:\n  ct:\n    preset: ibsi-C\n"
                    "    settings: {discretisation: {method: fbn}}\n")
    assert load_study(path).extraction["ct"].discretisation.bins == 32


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "---\n"])
def test_a_settings_file_without_settings_is_refused(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=r"^settings file s\.yaml holds no settings \(it "
                                            r"is empty or only comments\); write at least "
                                            r"one key .*or drop --config"):
        load_settings_file(path)


def test_a_tags_settings_file_without_settings_is_refused(tmp_path):
    (tmp_path / "ct.yaml").write_text("# to do\n")
    path = tmp_path / "study.yaml"
    path.write_text("manifest: m.csv\ntags:\n  ct:\n    settings: ct.yaml\n")
    with pytest.raises(SettingsError, match=r"^tags\.ct\.settings: settings file .*ct\.yaml "
                                            r"holds no settings"):
        load_study(path)


def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    (home / "data" / "ct.yaml").write_text("discretisation: {method: fbs, bin_width: 10}\n")
    monkeypatch.setenv("HOME", str(home))
    return home


def test_tilde_is_expanded_in_the_study_files_paths(tmp_path, monkeypatch):
    home = _home(tmp_path, monkeypatch)
    study = tmp_path / "study" / "study.yaml"
    study.parent.mkdir()
    study.write_text(
        "manifest: ~/data/m.csv\ndata_root: ~/images\n"
        "tags:\n  ct:\n    settings: ~/data/ct.yaml\n"
        "analysis:\n"
        "  outcomes: [{name: y, kind: binary, column: y}]\n"
        "  clinical: ~/data/clinical.csv\n"
        "  arms: [{name: r, blocks: [radiomic], stability: ~/data/stab.parquet}]\n")
    loaded = load_study(study)
    assert loaded.manifest == home / "data" / "m.csv"
    assert loaded.data_root == home / "images"
    assert loaded.extraction["ct"].discretisation.bin_width == 10.0
    spec = loaded.settings.analysis
    assert spec.clinical == str(home / "data" / "clinical.csv")
    assert spec.arms[0].stability == str(home / "data" / "stab.parquet")


def test_relative_study_paths_still_start_from_the_study_folder(tmp_path, monkeypatch):
    _home(tmp_path, monkeypatch)
    study = tmp_path / "study.yaml"
    (tmp_path / "ct.yaml").write_text("discretisation: {method: fbs, bin_width: 5}\n")
    study.write_text("manifest: m.csv\ntags:\n  ct:\n    settings: ct.yaml\n"
                     "analysis:\n  outcomes: [{name: y, kind: binary, column: y}]\n"
                     "  clinical: clinical.csv\n")
    loaded = load_study(study)
    assert loaded.manifest == tmp_path / "m.csv"
    assert loaded.extraction["ct"].discretisation.bin_width == 5.0
    assert loaded.settings.analysis.clinical == "clinical.csv"


@pytest.mark.parametrize(("data", "message"), [
    ({"response_maps": {"filters": "mean"}},
     r"^response_maps\.filters must be a list of mappings \(one '- key: value' entry each\); "
     r"got the text 'mean'$"),
    ({"response_maps": {"filters": [{"kind": "wavelet", "wavelet": "db2", "subband": "LLH",
                                      "level": 1, "riesz_order_xyz": "12"}]}},
     r"riesz_order_xyz must be a list of numbers, e.g\. \[12\]; got the text '12'"),
])
def test_text_for_a_list_of_numbers_or_mappings_is_refused(data, message):
    with pytest.raises(SettingsError, match=message):
        settings_from_dict(data)


def test_text_for_registration_levels_is_refused(tmp_path):
    from radiomix.settings.steps import RegistrationSettings

    with pytest.raises(SettingsError, match=r"^shrink_factors must be a list of numbers, "
                                            r"e\.g\. \[4, 2\]; got the text '4,2'$"):
        settings_from_dict({"shrink_factors": "4,2"}, cls=RegistrationSettings)


def test_text_for_the_deep_tags_is_refused(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("manifest: m.csv\n" + TAG + "deep: {tags: ct}\n")
    with pytest.raises(SettingsError, match=r"^deep\.tags must be a list, e\.g\. \[ct\]; got "
                                            r"the text 'ct'$"):
        load_study(path)
