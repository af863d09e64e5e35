"""Settings: strict loading, range checks, presets from the IBSI configurations."""

from __future__ import annotations

import pytest
import yaml

from _data import require_data
from radiomix.errors import SettingsError
from radiomix.settings import (
    PRESETS,
    ExtractionSettings,
    load_preset,
    load_settings_file,
    settings_from_dict,
    settings_hash,
)


def test_unknown_key_suggests_nearest():
    with pytest.raises(
        SettingsError, match=r"unknown setting 'resegmentation.rnage'; did you mean 'range'\?"
    ):
        settings_from_dict({"resegmentation": {"rnage": [0, 1]}})
    with pytest.raises(SettingsError, match=r"'interpolaton'; did you mean 'interpolation'"):
        settings_from_dict({"interpolaton": {}})


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"discretisation": {"method": "fbn", "bins": 0}}, "bins must be an integer >= 1"),
        ({"discretisation": {"method": "fbs", "bin_width": None}}, "bin_width must be > 0"),
        ({"discretisation": {"method": "equal"}}, "must be none, fbn or fbs"),
        (
            {"resegmentation": {"range": [400, -1000]}},
            "lower bound 400.0 exceeds upper bound -1000.0",
        ),
        ({"mask_interpolation": {"partial_volume_threshold": 1.5}}, r"must be in \(0, 1\]"),
        ({"interpolation": {"spacing": [2, 0, 2]}}, "must be > 0 mm"),
        (
            {"dimensionality": "2d", "interpolation": {"spacing": [2, 2, 2]}},
            r"give spacing as \[null, y, x\]",
        ),
        (
            {"features": {"families": ["glcm", "glrm"]}},
            "unknown feature family 'glrm'; did you mean 'glrlm'",
        ),
        ({"interpolation": {"spacing": [2, 2]}}, "needs 3 values"),
    ],
)
def test_out_of_range_values(data, match):
    with pytest.raises(SettingsError, match=match):
        settings_from_dict(data)


def test_unknown_preset():
    with pytest.raises(SettingsError, match="unknown preset 'ibsi-c'; did you mean 'ibsi-C'"):
        load_preset("ibsi-c")


def test_settings_file_round_trip(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"discretisation": {"method": "fbs", "bin_width": 25}}))
    s = load_settings_file(path)
    assert s.discretisation.bin_width == 25.0
    assert settings_hash(s) == settings_hash(
        settings_from_dict({"discretisation": {"method": "fbs", "bin_width": 25.0}})
    )
    assert settings_hash(s) != settings_hash(ExtractionSettings())


def test_presets_follow_the_ibsi_configurations():
    """Every preset agrees with ../shared/data/ibsi1/configurations.yaml."""
    conf = yaml.safe_load(require_data("ibsi1", "configurations.yaml").read_text())
    methods = {"bilinear": "linear", "trilinear": "linear", "tricubic spline": "cubic"}
    assert {"ibsi-digital", "ibsi-A", "ibsi-B", "ibsi-C", "ibsi-D", "ibsi-E"} <= set(PRESETS)
    for key in ("A", "B", "C", "D", "E"):
        c = conf[f"config_{key}"]
        s = load_preset(f"ibsi-{key}")
        assert s.dimensionality == c["dimensionality"].lower()
        if c["interpolation"]:
            sp = c["resampled_spacing_mm"]
            expected = (None, *map(float, sp)) if len(sp) == 2 else tuple(map(float, sp))
            assert s.interpolation.spacing == expected
            assert s.interpolation.method == methods[c["interpolation_method"]]
            assert s.interpolation.round_intensities
            assert s.mask_interpolation.method == methods[c["roi_interpolation_method"]]
            assert (
                s.mask_interpolation.partial_volume_threshold == c["roi_partial_volume_threshold"]
            )
        else:
            assert s.interpolation.spacing is None
        rng = c["resegmentation_range_hu"]
        assert s.resegmentation.range == (tuple(map(float, rng)) if rng else None)
        assert s.resegmentation.outlier_sigma == c["outlier_filtering_sigma"]
        d = c["discretisation_texture_ih"]
        if d["method"] == "fixed_bin_size":
            assert (s.discretisation.method, s.discretisation.bin_width) == ("fbs", d["bin_width"])
        else:
            assert (s.discretisation.method, s.discretisation.bins) == ("fbn", d["bins"])
        ivh = c["discretisation_ivh"]
        if ivh is None:
            assert s.ivh.method == "none"
        elif ivh["method"] == "fixed_bin_size":
            assert (s.ivh.method, s.ivh.bin_width) == ("fbs", ivh["bin_width"])
        else:
            assert (s.ivh.method, s.ivh.bins) == ("fbn", ivh["bins"])
        f = s.features
        assert (
            f.glcm_distance
            == f.ngtdm_distance
            == f.ngldm_distance
            == c["glcm_ngtdm_ngldm_distance"]
        )
        assert f.linkage_distance == c["glszm_gldzm_linkage_distance"]
        assert f.ngldm_coarseness == c["ngldm_coarseness"]
        assert f.glcm_symmetric is c["glcm_symmetric"]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (
            {"discretisation": {"method": "fbs", "bin_width": "25"}},
            r"bin_width must be a number; got '25' \(str\)",
        ),
        ({"discretisation": {"bins": 32.5}}, r"\.bins must be an integer; got 32\.5"),
        ({"discretisation": {"bins": True}}, r"bins must be an integer; got True \(bool\)"),
        ({"interpolation": {"round_intensities": "yes please"}}, "must be true or false"),
        ({"interpolation": {"spacing": 2}}, r"interpolation\.spacing must be a list"),
        ({"interpolation": {"spacing": [2, "a", 2]}}, r"interpolation\.spacing must be a number"),
        ({"crop": {"margin_mm": [1]}}, r"margin_mm must be a number; got \[1\] \(list\)"),
        ({"preprocess": {"organ_roi_name": 5.5}},
         r"organ_roi_name must be text; got 5\.5 \(float\)"),
        ({"discretisation": "fbs"}, "discretisation must be a mapping"),
    ],
)
def test_wrong_types_are_named(data, match):
    with pytest.raises(SettingsError, match=match) as err:
        settings_from_dict(data)
    assert "not supported between" not in str(err.value)


def test_integral_float_for_an_integer_is_accepted():
    assert settings_from_dict({"discretisation": {"bins": 16.0}}).discretisation.bins == 16


def test_unreadable_settings_files(tmp_path):
    with pytest.raises(SettingsError, match="is a folder; pass a YAML settings file"):
        load_settings_file(tmp_path)
    latin1 = tmp_path / "latin1.yaml"
    text = "discretisation: {method: fbs, bin_width: 25}  # r\xe9sum\xe9\n"
    latin1.write_bytes(text.encode("latin-1"))
    at = text.index("\xe9")
    with pytest.raises(SettingsError, match=rf"is not UTF-8 text \(byte 0xe9 at position {at}\)"):
        load_settings_file(latin1)
    broken = tmp_path / "broken.yaml"
    broken.write_text("discretisation: {method: fbs\n  bin_width: [25\n")
    with pytest.raises(SettingsError, match=r"not valid YAML at line \d+, column \d+") as err:
        load_settings_file(broken)
    assert "\n" not in str(err.value)
    with pytest.raises(SettingsError, match=r"did you mean the preset 'ibsi-C' \(--preset"):
        load_settings_file("ibsi-c")


def test_preset_case_hint():
    with pytest.raises(SettingsError, match=r"unknown preset 'ibsi-c'; did you mean 'ibsi-C'\?"):
        load_preset("ibsi-c")
