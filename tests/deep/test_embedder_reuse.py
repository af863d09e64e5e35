"""Extraction builds the embedding network once per process and weight-file state.

Oracle: a network built afresh for every lesion (what extraction did before): the reused
network gives the same embeddings bit for bit (same process, same inputs), and a weight file
changed on disk is read again.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

torch = pytest.importorskip("torch")

from radiomix import extraction  # noqa: E402
from radiomix.deep import DeepEmbedder, DeepSettings, embed  # noqa: E402
from radiomix.deep.networks import random_backbone  # noqa: E402


@pytest.fixture
def case(tmp_path):
    rng = np.random.default_rng(1)
    arr = rng.normal(40, 20, size=(10, 40, 40))
    z, y, x = np.mgrid[0:10, 0:40, 0:40]
    roi = ((x - 20) ** 2 + (y - 20) ** 2 <= 64) & (abs(z - 5) <= 3)
    paths = []
    for a, name in ((arr, "image.nii.gz"), (roi.astype(np.uint8), "mask.nii.gz")):
        img = sitk.GetImageFromArray(a)
        img.SetSpacing((1.0, 1.0, 2.0))
        sitk.WriteImage(img, str(tmp_path / name))
        paths.append(tmp_path / name)
    return paths


def _deep_cols(result):
    return {k: v for k, v in result.features.items() if ".deep." in k}


def test_reused_network_equals_a_fresh_one(case):
    image, mask = case
    deep = DeepSettings(model="resnet18", mode="2.5d", weights="random")
    settings = "ibsi-C"
    first = _deep_cols(extraction.extract(image, mask, settings=settings, deep=deep))
    built = extraction._EMBEDDERS.copy()
    second = _deep_cols(extraction.extract(image, mask, settings=settings, deep=deep))
    assert extraction._EMBEDDERS.keys() == built.keys()  # not rebuilt
    checked = extraction.load_case(image, mask)
    fresh = embed(checked, embedder=DeepEmbedder(deep), tag="image")
    assert first == second
    for k, v in first.items():
        assert fresh.iloc[0][k] == v, k


def test_changed_weight_file_is_read_again(case, tmp_path):
    image, mask = case
    path = tmp_path / "w.pt"
    torch.save(random_backbone("resnet18", spatial_dims=2, seed=1).state_dict(), path)
    deep = DeepSettings(model="resnet18", mode="2.5d", weights=str(path))
    a = _deep_cols(extraction.extract(image, mask, settings="ibsi-C", deep=deep))
    torch.save(random_backbone("resnet18", spatial_dims=2, seed=2).state_dict(), path)
    b = _deep_cols(extraction.extract(image, mask, settings="ibsi-C", deep=deep))
    assert a.keys() == b.keys()
    assert any(a[k] != b[k] for k in a)
