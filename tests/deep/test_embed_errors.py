"""Bad input to deep features raises a typed error with a clear message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radiomix.deep import DeepSettings, aggregate_slices, parse_deep_spec
from radiomix.deep.inputs import parse_intensity, sample_lesion
from radiomix.errors import EmptyRoiError, InputError, InvalidIntensityError, SettingsError


def _arrays():
    image = np.zeros((4, 10, 10))
    mask = np.zeros((4, 10, 10), bool)
    mask[1:3, 3:6, 3:6] = True
    return image, mask


def _sample(image, mask, spacing=(1.0, 1.0, 1.0), **kw):
    args = {
        "mode": "2.5d",
        "size": 32,
        "margin_mm": 2.0,
        "intensity": "minmax",
        "mask_background": False,
    }
    return sample_lesion(image, mask, spacing, **{**args, **kw})


def test_empty_mask():
    image, mask = _arrays()
    with pytest.raises(EmptyRoiError, match="holds no voxel"):
        _sample(image, np.zeros_like(mask))


def test_shape_mismatch():
    image, mask = _arrays()
    with pytest.raises(InputError, match=r"mask shape \(4, 10, 9\) differs from image shape"):
        _sample(image, mask[:, :, :9])


def test_two_d_image():
    with pytest.raises(InputError, match=r"\(Z, Y, X\) array, got shape \(10, 10\)"):
        _sample(np.zeros((10, 10)), np.ones((10, 10), bool))


def test_mask_must_be_boolean():
    image, mask = _arrays()
    with pytest.raises(InputError, match="boolean array, got dtype uint8"):
        _sample(image, mask.astype(np.uint8))


@pytest.mark.parametrize("spacing", [(1.0, 0.0, 1.0), (1.0, 1.0), (1.0, float("nan"), 1.0)])
def test_bad_spacing(spacing):
    image, mask = _arrays()
    with pytest.raises(InputError, match="spacing must be three positive numbers"):
        _sample(image, mask, spacing)


def test_nan_near_the_roi():
    image, mask = _arrays()
    image[2, 4, 4] = np.nan
    with pytest.raises(InvalidIntensityError, match="NaN or infinite"):
        _sample(image, mask)


def test_unknown_intensity_suggests():
    with pytest.raises(SettingsError, match=r"'ct_lungs' \(did you mean 'ct_lung'\?\)"):
        parse_intensity("ct_lungs")


@pytest.mark.parametrize("window", [(40.0, 0.0), (40.0, -5.0), (float("inf"), 400.0)])
def test_bad_window(window):
    with pytest.raises(SettingsError, match="width > 0"):
        parse_intensity(window)


def test_window_not_a_pair():
    with pytest.raises(SettingsError, match=r"preset name or a \(level, width\) pair"):
        parse_intensity((1.0, 2.0, 3.0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "2d"}, r"unknown deep input mode '2d'; expected one of \['slices'"),
        ({"model": "resnet10", "mode": "slices"}, r"'resnet10' is not available for mode 'slices'"),
        ({"model": "resnet101"}, "not available"),
        ({"margin_mm": -1.0}, "margin_mm must be a finite number >= 0"),
        ({"input_size": 16}, "input_size must be an integer >= 32"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"num_threads": 0}, "num_threads must be an integer >= 1"),
        ({"intensity": "hu"}, "unknown intensity scheme 'hu'"),
        ({"precision": "float16"}, "precision must be 'float32' or 'float64'"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(SettingsError, match=message):
        DeepSettings(**kwargs)


def test_bad_tag():
    with pytest.raises(SettingsError, match=r"no dots\), got 'ct.a'"):
        DeepSettings().columns("ct.a")


@pytest.mark.parametrize(
    ("spec", "message"),
    [("resnet18:4d", "unknown deep input mode '4d'"), ("vgg16", "unknown deep model 'vgg16'")],
)
def test_bad_spec(spec, message):
    with pytest.raises(SettingsError, match=message):
        parse_deep_spec(spec)


def test_aggregation_errors():
    df = pd.DataFrame({"patient_id": ["A"], "ct.original.stat.mean": [1.0]})
    with pytest.raises(InputError, match="no slice-embedding columns"):
        aggregate_slices(df)
    df["ct.deep.resnet18_slices.f000"] = [0.5]
    with pytest.raises(InputError, match=r"subset of \('mean', 'max'\)"):
        aggregate_slices(df, stats=("median",))
    with pytest.raises(InputError, match=r"grouping columns \['lesion_id'\]"):
        aggregate_slices(df, by=["lesion_id"])


def test_ids_must_not_clash():
    pytest.importorskip("torch")
    pytest.importorskip("monai")
    from radiomix.deep import DeepEmbedder

    image, mask = _arrays()
    emb = DeepEmbedder(DeepSettings(weights="random", input_size=32))
    with pytest.raises(InputError, match=r"id columns \['slice_index'\] clash"):
        emb.embed_arrays(image, mask, (1.0, 1.0, 1.0), ids={"slice_index": 1})


def test_embed_batch_ids_must_match_the_lesions():
    pytest.importorskip("torch")
    pytest.importorskip("monai")
    from radiomix.deep import DeepEmbedder

    image, mask = _arrays()
    lesion = (image, mask, (1.0, 1.0, 1.0))
    emb = DeepEmbedder(DeepSettings(mode="2.5d", weights="random", input_size=32))
    with pytest.raises(InputError, match="more lesions than ids"):
        emb.embed_batch([lesion, lesion], ids=[{"patient_id": "A"}])
    with pytest.raises(InputError, match="2 ids for 1 lesions"):
        emb.embed_batch([lesion], ids=[{"patient_id": "A"}, {"patient_id": "B"}])
    with pytest.raises(InputError, match="same keys"):
        emb.embed_batch([lesion, lesion], ids=[{"patient_id": "A"}, {"lesion_id": 1}])
    with pytest.raises(InputError, match=r"id columns \['slice_index'\] clash"):
        emb.embed_batch([lesion], ids=[{"slice_index": 1}])


def test_study_deep_precision_is_checked():
    from radiomix.settings.study import DeepOptions

    with pytest.raises(
        SettingsError,
        match=r"deep.precision must be one of float32, float64; "
        r"got 'float33'; did you mean 'float32'\?",
    ):
        DeepOptions(precision="float33")
