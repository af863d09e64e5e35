"""A periodic boundary wraps the whole image around, not the crop around the ROI (round 18).

With ``padding: periodic`` the response next to an image border reads the opposite side of
the image. The crop around the ROI wrapped around its own faces instead: on STS_022's CT
(tumour on the last slice) a 5-voxel periodic mean filter gave a response variance of 53.98
instead of 64.20, and the value changed with ``crop.margin_mm``. The crop now holds the
whole axis along which a periodic filter's reach meets an image border.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import ndimage as ndi

import radiomix
from radiomix.process.filters.margin import wrap_reach_mm
from radiomix.settings.filters import FilterSettings

SHAPE = (30, 40, 44)
SPACING = (1.5, 1.5, 1.5)


def _image() -> np.ndarray:
    rng = np.random.default_rng(11)
    noise = ndi.gaussian_filter(rng.normal(0.0, 1.0, SHAPE), 1.0) * 100.0
    ramp = np.linspace(0.0, 300.0, SHAPE[2])[None, None, :]  # opposite x faces differ
    return np.round(noise + ramp)


def _mask(where: str) -> np.ndarray:
    m = np.zeros(SHAPE, dtype=np.uint8)
    x = {"centre": slice(18, 26), "touching": slice(0, 6), "near": slice(3, 9)}[where]
    m[12:18, 15:25, x] = 1
    return m


def _response_stats(filt: dict, mask: np.ndarray, margin: float | None = None) -> np.ndarray:
    maps: dict = {"filters": [filt], "families": ["stat"]}
    settings: dict = {"features": {"families": ["stat"]}, "response_maps": maps}
    if margin is not None:
        maps["margin_mm"] = margin
        settings["crop"] = {"margin_mm": margin}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = radiomix.extract(_image(), mask, settings, spacing=SPACING).iloc[0]
    cols = [c for c in row.index if ".stat." in c and ".original." not in c]
    names = ("mean", "variance", "minimum", "maximum")
    return np.array([row[next(c for c in cols if c.endswith(f".stat.{n}"))] for n in names])


@pytest.mark.parametrize("where", ["touching", "near", "centre"])
def test_periodic_mean_filter_matches_the_whole_image_wrapped(where):
    """Independent: scipy's uniform filter with mode 'wrap' on the whole image."""
    mask = _mask(where)
    response = ndi.uniform_filter(_image(), size=5, mode="wrap")[mask.astype(bool)]
    expected = [response.mean(), response.var(), response.min(), response.max()]
    got = _response_stats({"kind": "mean", "support": 5, "padding": "periodic"}, mask)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


FILTERS = [
    {"kind": "log", "sigma_mm": 2.0},
    {"kind": "laws", "laws_kernel": "L5E5S5", "energy_distance": 3},
    {"kind": "wavelet", "wavelet": "db2", "subband": "LHL", "level": 2},
    {"kind": "gabor", "sigma_mm": 3.0, "wavelength_mm": 4.0, "gamma": 0.5, "theta_deg": 30,
     "dimensionality": "2d"},
]


@pytest.mark.parametrize("filt", FILTERS, ids=lambda f: f["kind"])
@pytest.mark.parametrize("where", ["touching", "near"])
def test_periodic_responses_do_not_depend_on_the_crop(filt, where):
    """The default margin gives the values of a crop that holds the whole image."""
    mask = _mask(where)
    periodic = {**filt, "padding": "periodic"}
    default = _response_stats(periodic, mask)
    whole = _response_stats(periodic, mask, margin=1000.0)
    np.testing.assert_allclose(default, whole, rtol=1e-12, atol=1e-12)
    if where == "touching":  # the boundary matters there (an even wavelet reaches one side)
        mirror = _response_stats({**filt, "padding": "mirror"}, mask)
        assert not np.allclose(default, mirror, rtol=1e-6)


def test_wrap_reach_only_along_an_axis_the_reach_meets():
    f = FilterSettings(kind="mean", support=5, padding="periodic")
    gaps = ((0.0, 40.0), (30.0, 50.0), (30.0, 30.0))
    assert wrap_reach_mm(f, (1.0, 1.0, 1.0), gaps) == 40.0
    assert wrap_reach_mm(f, (1.0, 1.0, 1.0), ((2.0, 40.0), (30.0, 50.0), (30.0, 30.0))) == 40.0
    assert wrap_reach_mm(f, (1.0, 1.0, 1.0), ((2.5, 40.0), (30.0, 50.0), (30.0, 30.0))) == 0.0
    assert wrap_reach_mm(f, (1.0, 1.0, 1.0), ((2.5, 40.0), (0, 50.0), (30.0, 30.0)), 1.0) == 51.0
    mirror = FilterSettings(kind="mean", support=5, padding="mirror")
    assert wrap_reach_mm(mirror, (1.0, 1.0, 1.0), gaps) == 0.0
    flat = FilterSettings(kind="mean", support=5, padding="periodic", dimensionality="2d")
    assert wrap_reach_mm(flat, (1.0, 1.0, 1.0), gaps) == 0.0  # z is not filtered in 2D


def test_sts_022_ct_on_its_last_slice(shared_data):
    """The reported case: STS_022's CT tumour reaches the last slice (field of view)."""
    import SimpleITK as sitk

    folder = shared_data / "sts" / "nifti" / "STS_022" / "ct"
    image = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "image.nii.gz")))
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "mask.nii.gz"))) > 0
    z = np.flatnonzero(mask.any(axis=(1, 2)))
    assert z[-1] == mask.shape[0] - 1 or z[0] == 0  # the premise of the case
    response = ndi.uniform_filter(image.astype(np.float64), size=5, mode="wrap")[mask]
    settings = {"features": {"families": ["stat"]},
                "response_maps": {"families": ["stat"], "filters": [
                    {"kind": "mean", "support": 5, "padding": "periodic"}]}}
    row = radiomix.extract(folder / "image.nii.gz", folder / "mask.nii.gz", settings).iloc[0]
    prefix = next(c for c in row.index if c.endswith(".stat.variance") and "periodic" in c)
    prefix = prefix[: -len("variance")]
    np.testing.assert_allclose(
        [row[prefix + "mean"], row[prefix + "variance"], row[prefix + "maximum"]],
        [response.mean(), response.var(), response.max()],
        rtol=1e-10,
    )
