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
    assert set(PRESETS) == {"ibsi-digital", "ibsi-A", "ibsi-B", "ibsi-C", "ibsi-D", "ibsi-E"}
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
