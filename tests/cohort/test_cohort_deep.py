"""Deep features through the cohort runner: columns joined to the lesion rows, provenance,
resume, and equality with the single-case embedding (the oracle)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from cohort_helpers import SMALL, lesion, sts_root, write_study

from radiomix.check import check_case
from radiomix.cohort import run_study
from radiomix.deep import DeepEmbedder, DeepSettings, embed
from radiomix.io import load_image, load_mask
from radiomix.table import read_provenance


def test_deep_columns_join_the_lesion_rows(tmp_path):
    rows = [lesion(p, tags=("pet",)) for p in SMALL[:2]]
    study = write_study(
        tmp_path,
        rows,
        tags=("pet",),
        deep={"model": "resnet18", "mode": "2.5d", "weights": "random"},
    )
    result = run_study(study, tmp_path / "out")
    assert result.ok
    df = pd.read_parquet(result.features_path).set_index("patient_id")
    deep_cols = [c for c in df.columns if ".deep." in c]
    assert len(deep_cols) == 512
    assert deep_cols[0] == "pet.deep.resnet18_2p5d.f000"
    assert any(c.startswith("pet.original.") for c in df.columns)  # radiomics beside it
    prov = read_provenance(result.features_path)
    assert prov["deep"]["requested"]["weights"] == "random"
    # oracle: the deep module on the same case
    patient = SMALL[0]
    folder = sts_root() / "nifti" / patient / "pet"
    image = load_image(folder / "image.nii.gz")
    case = check_case(image, load_mask(folder / "mask.nii.gz", image))
    expected = embed(
        case, embedder=DeepEmbedder(DeepSettings(mode="2.5d", weights="random")), tag="pet"
    )
    np.testing.assert_array_equal(
        df.loc[patient, deep_cols].to_numpy(float), expected[deep_cols].to_numpy(float)[0]
    )
    again = run_study(study, tmp_path / "out")
    assert again.n_computed == 0  # resumed: deep features are part of the cached cases


def test_keep_slices_writes_the_slice_embeddings_behind_the_lesion_mean(tmp_path):
    rows = [lesion(p, tags=("pet",)) for p in SMALL[:2]]
    study = write_study(
        tmp_path,
        rows,
        tags=("pet",),
        deep={"model": "resnet18", "mode": "slices", "weights": "random", "keep_slices": True},
    )
    result = run_study(study, tmp_path / "out")
    assert result.ok
    lesions = pd.read_parquet(result.features_path).set_index("patient_id")
    slices = pd.read_parquet(tmp_path / "out" / "deep_slices.parquet")
    assert list(slices.columns[:4]) == ["patient_id", "lesion_id", "tag", "slice_index"]
    cols = [c for c in slices.columns if c.startswith("pet.deep.resnet18_slices.f")]
    assert len(cols) == 512
    for patient in SMALL[:2]:
        mine = slices[slices["patient_id"] == patient]
        # one row per ROI slice, each slice once, and the lesion row is their mean
        assert len(mine) == lesions.loc[patient, "pet.deep.resnet18_slices.n_slices"] > 1
        assert mine["slice_index"].is_unique
        np.testing.assert_allclose(
            mine[cols].mean().to_numpy(),
            lesions.loc[patient, [f"{c}.mean" for c in cols]].to_numpy(float),
            rtol=1e-12, atol=1e-12,
        )


def test_keep_slices_needs_the_slices_mode(tmp_path):
    import pytest

    from radiomix.errors import InputError

    rows = [lesion(p, tags=("pet",)) for p in SMALL[:1]]
    study = write_study(
        tmp_path, rows, tags=("pet",),
        deep={"model": "resnet18", "mode": "2.5d", "weights": "random", "keep_slices": True},
    )
    with pytest.raises(InputError, match="keep_slices needs mode: slices"):
        run_study(study, tmp_path / "out")


def test_a_weight_file_replaced_at_its_path_is_embedded_again(tmp_path):
    """Round 16: the case key held the weights' path, not their content, so a fine-tuned
    file written over the old one left every deep case "current" with the old network's
    features. The key now holds the file's SHA-256 (also in the table's provenance)."""
    import torch

    from radiomix.deep.networks import random_backbone
    from radiomix.deep.weights import sha256_file

    weights = tmp_path / "model.pth"
    torch.save(random_backbone("resnet18", spatial_dims=2, seed=1).state_dict(), weights)
    rows = [lesion(p, tags=("pet",)) for p in SMALL[:1]]
    study = write_study(tmp_path, rows, tags=("pet",),
                        deep={"model": "resnet18", "mode": "2.5d", "weights": str(weights)})
    first = run_study(study, tmp_path / "out")
    assert first.ok
    before = pd.read_parquet(first.features_path)
    assert read_provenance(first.features_path)["deep"]["weights_sha256"] == sha256_file(weights)
    assert run_study(study, tmp_path / "out").n_computed == 0  # same file: reused
    torch.save(random_backbone("resnet18", spatial_dims=2, seed=2).state_dict(), weights)
    second = run_study(study, tmp_path / "out")
    assert second.n_computed == 1
    after = pd.read_parquet(second.features_path)
    deep_cols = [c for c in before.columns if ".deep." in c]
    assert not np.array_equal(before[deep_cols].to_numpy(float), after[deep_cols].to_numpy(float))
    assert read_provenance(second.features_path)["deep"]["weights_sha256"] == sha256_file(weights)


def test_a_run_without_keep_slices_removes_an_earlier_runs_slices(tmp_path):
    """A nineteenth-round finding: turned off between runs into one folder, keep_slices left
    the earlier deep_slices.parquet, which the leakage audit then read as this table's
    (another network's embeddings: STS_002 f000 0.376 against 0.612 in the table)."""
    rows = [lesion(p, tags=("pet",)) for p in SMALL[:1]]
    deep = {"model": "resnet18", "mode": "slices", "weights": "random", "keep_slices": True}
    study = write_study(tmp_path / "keep", rows, tags=("pet",), deep=deep)
    run_study(study, tmp_path / "out")
    assert (tmp_path / "out" / "deep_slices.parquet").is_file()
    study = write_study(tmp_path / "drop", rows, tags=("pet",),
                        deep={**deep, "keep_slices": False})
    run_study(study, tmp_path / "out")
    assert not (tmp_path / "out" / "deep_slices.parquet").exists()
