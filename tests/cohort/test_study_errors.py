"""The study file: strict validation (unknown keys with suggestions), settings resolution,
paths and environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from radiomix.errors import SettingsError
from radiomix.settings import load_preset, settings_from_dict, settings_hash
from radiomix.settings.study import Study, expand_env, load_study, study_from_dict


def _study(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


BASE = {"manifest": "manifest.csv", "tags": {"ct": {"preset": "ibsi-C"}}}


def _with(**changes) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(BASE))
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        (_with(manifset="m.csv"), r"unknown setting 'manifset'; did you mean 'manifest'\?"),
        (
            _with(tags={"ct": {"setings": {}}}),
            r"unknown setting 'tags\.ct\.setings'; did you mean 'settings'\?",
        ),
        (
            _with(tags={"ct": {"settings": {"discretisaton": {"method": "fbs"}}}}),
            r"unknown setting 'tags\.ct\.settings\.discretisaton'; did you mean 'discretisation'\?",
        ),
        (
            _with(tags={"ct": {"settings": {"discretisation": {"bin_widht": 25}}}}),
            r"'tags\.ct\.settings\.discretisation\.bin_widht'; did you mean 'bin_width'\?",
        ),
        (
            _with(tags={"ct": {"roi": {"lable": 1}}}),
            r"'tags\.ct\.roi\.lable'; did you mean 'label'\?",
        ),
        (_with(columns={"lables": ["y"]}), r"'columns\.lables'; did you mean 'labels'\?"),
        (_with(deep={"modl": "resnet18"}), r"'deep\.modl'; did you mean 'model'\?"),
        (
            _with(deep={"model": "resnet19"}),
            r"deep\.model \(mode 2\.5d\) must be one of .*; did you mean 'resnet18'\?",
        ),
        (_with(deep={"mode": "2,5d"}), r"deep\.mode must be one of slices, max_slice, 2\.5d, 3d"),
        (_with(deep={"tags": ["pet"]}), r"deep\.tags entries must be one of ct"),
        (_with(tags={"CT": {}}), r"image tag 'CT' is not a lower-case identifier"),
        (_with(tags={"ct.a": {}}), r"image tag 'ct\.a' is not a lower-case identifier"),
        (_with(tags={}), r"tags must map at least one image tag"),
        (_with(tags={"ct": "ibsi-C"}), r"tags\.ct must be a mapping \(preset, settings, roi\)"),
        (_with(tags={"ct": {"preset": "ibsi-c"}}), r"did you mean preset 'ibsi-C'\?"),
        (_with(tags={"ct": {"preset": "ibsi-C", "settings": "ibsi-D"}}), r"give either preset"),
        (
            _with(tags={"ct": {"settings": ["fbs"]}}),
            r"settings must be a preset name, a settings file or a mapping",
        ),
        (
            _with(tags={"ct": {"settings": {"discretisation": {"method": "fbs"}}}}),
            r"discretisation\.bin_width must be > 0 for fbs",
        ),
        (_with(tags={"ct": {"roi": {"label": "one"}}}), r"roi\.label must be an integer"),
        (_with(columns={"labels": "lung_mets"}), r"columns\.labels must be a list of column names"),
        (_with(columns={"labels": ["patient_id"]}), r"'patient_id' is an identifier"),
        (_with(columns={"covariates": ["settings_hash"]}), r"reserved for the output table"),
        (_with(columns={"time": "t.days"}), r"contains a dot"),
        (_with(keep_partial="yes"), r"keep_partial must be true or false"),
        ({"tags": {"ct": {}}}, r"needs a 'manifest' entry"),
        ({"manifest": "m.csv"}, r"needs a 'tags' entry"),
        (
            _with(data_root="${RADIOMIX_TEST_UNSET_VARIABLE}/sts"),
            r"RADIOMIX_TEST_UNSET_VARIABLE is not set",
        ),
    ],
)
def test_invalid_study_file_is_refused(tmp_path, monkeypatch, doc, match):
    monkeypatch.delenv("RADIOMIX_TEST_UNSET_VARIABLE", raising=False)
    with pytest.raises(SettingsError, match=match):
        load_study(_study(tmp_path, doc))


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(SettingsError, match="study file not found"):
        load_study(tmp_path / "nope.yaml")
    with pytest.raises(SettingsError, match="is a folder"):
        load_study(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("tags: [unclosed\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_study(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="must hold a mapping"):
        load_study(bad)


def test_preset_with_overrides_merges_deeply(tmp_path):
    doc = _with(
        tags={
            "ct": {"preset": "ibsi-C", "settings": {"discretisation": {"bin_width": 10}}},
            "pet": {"settings": "ibsi-D"},
            "mr": {},
        }
    )
    study = load_study(_study(tmp_path, doc))
    c = load_preset("ibsi-C")
    ct = study.extraction["ct"]
    assert ct.discretisation.bin_width == 10.0
    assert ct.discretisation.method == c.discretisation.method == "fbs"  # kept from the preset
    assert ct.interpolation == c.interpolation
    assert ct.resegmentation == c.resegmentation
    assert study.extraction["pet"] == load_preset("ibsi-D")
    assert study.extraction["mr"] == settings_from_dict({})
    assert study.tags == ("ct", "pet", "mr")  # file order
    assert study.tag_hashes()["pet"] == settings_hash(load_preset("ibsi-D"))


def test_settings_file_relative_to_study(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "pet.yaml").write_text(
        "discretisation: {method: fbs, bin_width: 0.25}\n", encoding="utf-8"
    )
    study = load_study(_study(tmp_path, _with(tags={"pet": {"settings": "conf/pet.yaml"}})))
    assert study.extraction["pet"].discretisation.bin_width == 0.25
    (tmp_path / "conf" / "bad.yaml").write_text("discretisation: {methd: fbs}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"bad\.yaml\.discretisation\.methd"):
        load_study(_study(tmp_path, _with(tags={"pet": {"preset": "conf/bad.yaml"}})))


def test_paths_and_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("RADIOMIX_TEST_ROOT", raising=False)
    doc = _with(manifest="lists/m.csv", data_root="${RADIOMIX_TEST_ROOT:-../data}/sts")
    (tmp_path / "a").mkdir()
    path = _study(tmp_path / "a", doc)
    study = load_study(path)
    assert study.manifest == tmp_path / "a" / "lists" / "m.csv"
    assert study.data_root == tmp_path / "data" / "sts"
    monkeypatch.setenv("RADIOMIX_TEST_ROOT", str(tmp_path / "elsewhere"))
    assert load_study(path).data_root == tmp_path / "elsewhere" / "sts"
    # without data_root, manifest paths start from the manifest's folder
    no_root = study_from_dict(_with(manifest="lists/m.csv"), folder=tmp_path)
    assert isinstance(no_root, Study)
    assert no_root.data_root == tmp_path / "lists"


def test_expand_env(monkeypatch):
    monkeypatch.setenv("RADIOMIX_TEST_X", "/x")
    monkeypatch.delenv("RADIOMIX_TEST_Y", raising=False)
    assert expand_env("${RADIOMIX_TEST_X}/a") == "/x/a"
    assert expand_env("${RADIOMIX_TEST_Y:-rel}/a") == "rel/a"
    assert expand_env("no variables") == "no variables"


def test_study_hash_follows_settings_and_roi(tmp_path):
    a = load_study(_study(tmp_path, _with(tags={"ct": {"preset": "ibsi-C"}})))
    b = load_study(_study(tmp_path, _with(tags={"ct": {"preset": "ibsi-C", "roi": {"label": 2}}})))
    c = load_study(_study(tmp_path, _with(tags={"ct": {"preset": "ibsi-D"}})))
    assert a.settings_hash() == load_study(_study(tmp_path, _with())).settings_hash()
    assert len({a.settings_hash(), b.settings_hash(), c.settings_hash()}) == 3


def test_deep_options_are_validated_and_recorded(tmp_path):
    doc = _with(deep={"model": "resnet18", "mode": "2.5d", "weights": "imagenet", "tags": ["ct"]})
    study = load_study(_study(tmp_path, doc))
    assert study.settings.deep is not None
    assert study.settings.deep.tags == ("ct",)
    assert study.to_dict()["deep"] == {
        "model": "resnet18",
        "mode": "2.5d",
        "weights": "imagenet",
        "tags": ["ct"],
        "fallback": "none",  # the default (deep.fallback: random embeds without weights)
        "keep_slices": False,
        "precision": "float32",
    }


def test_a_study_takes_the_networks_the_command_line_takes(tmp_path):
    """Round 16: MedicalNet's resnet10, offered by ``radiomix weights list`` and taken by
    ``extract --deep resnet10:3d``, was refused in a study ("did you mean 'resnet50'")."""
    doc = _with(deep={"model": "resnet10", "mode": "3d", "weights": "random"})
    (tmp_path / "a").mkdir()
    assert load_study(_study(tmp_path / "a", doc)).settings.deep.model == "resnet10"
    doc = _with(deep={"model": "resnet10", "mode": "2.5d", "weights": "random"})
    (tmp_path / "b").mkdir()
    path = _study(tmp_path / "b", doc)
    with pytest.raises(SettingsError, match=r"deep.model \(mode 2.5d\) must be one of "
                                            r"resnet18, resnet34, resnet50; got 'resnet10'"):
        load_study(path)


def test_example_study_loads():
    root = Path(__file__).resolve().parents[2] / "examples" / "sts"
    study = load_study(root / "study.yaml")
    assert study.tags == ("ct", "pet", "mr_t1")
    assert study.manifest == root / "manifest.csv"
    ct, pet, mr = (study.extraction[t] for t in study.tags)
    assert (ct.discretisation.method, ct.discretisation.bin_width) == ("fbs", 25.0)
    assert (pet.discretisation.method, pet.discretisation.bin_width) == ("fbs", 0.25)
    assert (mr.discretisation.method, mr.discretisation.bins) == ("fbn", 32)
    assert pet.interpolation.spacing == (4.0, 4.0, 4.0)
    assert study.settings.columns.labels == ("lung_mets",)
