"""Filter response maps feed intensity statistics (IBSI 2 phase 2) on the IBSI CT phantom.

The oracle is an independent computation: the filter applied to the whole image (no crop),
the response read in the intensity mask and summarised with numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
import yaml
from typer.testing import CliRunner

from _data import require_data
from radiomix.check import check_case
from radiomix.cli import app
from radiomix.errors import SettingsError
from radiomix.extraction import extract, response_map_features
from radiomix.process.filters import apply_filter
from radiomix.process.pipeline import process_case
from radiomix.settings import FilterSettings, settings_from_dict

LOG_2D = {"kind": "log", "sigma_mm": 1.5, "dimensionality": "2d"}
LOG_3D = {"kind": "log", "sigma_mm": 1.5}


@pytest.fixture(scope="module")
def phantom():
    folder = require_data("ibsi1", "ct_phantom", "nifti")
    return folder / "image.nii.gz", folder / "mask.nii.gz"


def test_2d_log_on_the_original_grid(phantom):
    settings = settings_from_dict(
        {
            "dimensionality": "2d",
            "resegmentation": {"range": [-1000, 400]},
            "features": {"families": ["stat"]},
            "response_maps": {"filters": [LOG_2D]},
        }
    )
    got = extract(*phantom, settings=settings, tag="ct").features
    image = sitk.GetArrayFromImage(sitk.ReadImage(str(phantom[0]))).astype(float)
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(phantom[1]))) > 0
    mask &= (image >= -1000) & (image <= 400)
    sp = sitk.ReadImage(str(phantom[0])).GetSpacing()
    response = apply_filter(
        image, spacing=(sp[2], sp[1], sp[0]), settings=FilterSettings(**LOG_2D)
    )[mask]
    tag = FilterSettings(**LOG_2D).tag
    assert tag == "log_s1p5mm_2d"
    assert got[f"ct.{tag}.stat.mean"] == pytest.approx(response.mean(), rel=1e-9)
    assert got[f"ct.{tag}.stat.variance"] == pytest.approx(response.var(), rel=1e-9)
    assert got[f"ct.{tag}.stat.maximum"] == pytest.approx(response.max(), rel=1e-12)
    # the response map is not the image: its statistics differ from the original ones
    assert got[f"ct.{tag}.stat.mean"] != pytest.approx(got["ct.original.stat.mean"], rel=0.1)


def test_3d_log_at_1mm_is_independent_of_the_crop(phantom):
    base = {
        "dimensionality": "3d",
        "interpolation": {
            "spacing": [1.0, 1.0, 1.0],
            "method": "linear",
            "round_intensities": True,
        },
        "resegmentation": {"range": [-1000, 400]},
        "features": {"families": ["stat"]},
    }
    cropped = settings_from_dict({**base, "response_maps": {"filters": [LOG_3D]}})
    whole = settings_from_dict(
        {**base, "response_maps": {"filters": [LOG_3D], "margin_mm": 1000.0}}
    )
    image, mask = sitk.ReadImage(str(phantom[0])), sitk.ReadImage(str(phantom[1]))
    case = check_case(sitk.Cast(image, sitk.sitkFloat64), mask)
    a = response_map_features(
        process_case(case, cropped).context, cropped, FilterSettings(**LOG_3D), tag="ct"
    )
    ctx = process_case(case, whole).context
    b = response_map_features(ctx, whole, FilterSettings(**LOG_3D), tag="ct")
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-9), key
    response = apply_filter(ctx.image, spacing=ctx.spacing, settings=FilterSettings(**LOG_3D))
    values = response[ctx.int_mask]
    assert b["ct.log_s1p5mm.stat.mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert ctx.spacing == (1.0, 1.0, 1.0)


def test_filters_from_the_cli_config(tmp_path, phantom):
    cfg = tmp_path / "s.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "dimensionality": "2d",
                "features": {"families": ["stat"]},
                "response_maps": {
                    "filters": [LOG_2D, {"kind": "mean", "support": 5, "dimensionality": "2d"}]
                },
            }
        )
    )
    out = tmp_path / "f.csv"
    res = CliRunner().invoke(
        app, ["extract", str(phantom[0]), str(phantom[1]), "--config", str(cfg), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    header = out.read_text().splitlines()[0]
    assert "image.log_s1p5mm_2d.stat.mean" in header
    assert "image.mean_d5_2d.stat.mean" in header


def test_response_map_settings_errors():
    with pytest.raises(SettingsError, match="supports stat, ih, glcm"):
        settings_from_dict({"response_maps": {"families": ["morph"]}})
    with pytest.raises(SettingsError, match="repeat a filter"):
        settings_from_dict({"response_maps": {"filters": [LOG_3D, LOG_3D]}})
    with pytest.raises(SettingsError,
                       match=r"unknown setting 'response_maps\.filters\[0\]\.sigma'"):
        settings_from_dict({"response_maps": {"filters": [{"kind": "log", "sigma": 1.0}]}})


def _glcm_2p5d_merged(levels: np.ndarray, n: int) -> np.ndarray:
    """Brute-force symmetric GLCM of the 4 in-plane directions at distance 1, all slices and
    directions merged into one matrix (IBSI aggregation ZW7Z, 2.5D merged)."""
    m = np.zeros((n, n))
    for z, y, x in np.argwhere(levels > 0):
        for dy, dx in ((0, 1), (1, 1), (1, 0), (1, -1)):
            q = (z, y + dy, x + dx)
            if 0 <= q[1] < levels.shape[1] and 0 <= q[2] < levels.shape[2] and levels[q] > 0:
                i, j = levels[z, y, x] - 1, levels[q] - 1
                m[i, j] += 1
                m[j, i] += 1
    return m / m.sum()


def test_texture_families_on_a_discretised_response(phantom):
    """Texture of a response map: the 2D LoG response in the intensity mask on the original
    grid, binned with a fixed bin number of 16 (numpy), its histogram and GLCM computed
    independently."""
    settings = settings_from_dict(
        {
            "dimensionality": "2d",
            "resegmentation": {"range": [-1000, 400]},
            "features": {"families": ["stat"]},
            "response_maps": {
                "filters": [LOG_2D],
                "families": ["stat", "ih", "glcm"],
                "discretisation": {"method": "fbn", "bins": 16},
            },
        }
    )
    got = extract(*phantom, settings=settings, tag="ct").features
    image = sitk.GetArrayFromImage(sitk.ReadImage(str(phantom[0]))).astype(float)
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(phantom[1]))) > 0
    mask &= (image >= -1000) & (image <= 400)
    sp = sitk.ReadImage(str(phantom[0])).GetSpacing()
    response = apply_filter(image, spacing=(sp[2], sp[1], sp[0]), settings=FilterSettings(**LOG_2D))
    r = response[mask]
    grey = np.minimum(np.floor(16 * (r - r.min()) / (r.max() - r.min())).astype(int) + 1, 16)
    tag = FilterSettings(**LOG_2D).tag
    assert got[f"ct.{tag}.ih.mean"] == pytest.approx(grey.mean(), rel=1e-9)
    assert got[f"ct.{tag}.ih.variance"] == pytest.approx(grey.var(), rel=1e-9)
    assert got[f"ct.{tag}.stat.mean"] == pytest.approx(r.mean(), rel=1e-9)
    levels = np.zeros(image.shape, dtype=int)
    levels[mask] = grey
    zs, ys, xs = np.nonzero(mask)
    box = levels[zs.min() : zs.max() + 1, ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    p = _glcm_2p5d_merged(box, 16)
    ii = np.arange(1, 17)[:, None] * np.ones((1, 16))
    assert got[f"ct.{tag}.glcm.joint_max.2p5d_merged"] == pytest.approx(p.max(), rel=1e-12)
    assert got[f"ct.{tag}.glcm.joint_average.2p5d_merged"] == pytest.approx(
        (ii * p).sum(), rel=1e-12
    )
    assert "ct.original.glcm.joint_max.2p5d_merged" not in got  # stat only on the image


def test_response_map_discretisation_none_is_refused():
    with pytest.raises(SettingsError, match="not integer grey levels"):
        settings_from_dict(
            {"response_maps": {"filters": [LOG_3D], "discretisation": {"method": "none"}}}
        )
