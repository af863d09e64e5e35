"""End to end on real CT: STS cohort cases through SimpleITK arrays to embedding rows.

Random weights (no network here); the oracle is the data itself: one row per ROI slice
counted from the mask file, ids on every row, finite values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("monai")
sitk = pytest.importorskip("SimpleITK")

from radiomix.deep import DeepEmbedder, DeepSettings, aggregate_slices  # noqa: E402

CASES = ("STS_001", "STS_002")


def _load(folder):
    img = sitk.ReadImage(str(folder / "image.nii.gz"))
    msk = sitk.ReadImage(str(folder / "mask.nii.gz"))
    image = sitk.GetArrayFromImage(img).astype(np.float64)
    mask = sitk.GetArrayFromImage(msk) > 0
    spacing = tuple(float(s) for s in reversed(img.GetSpacing()))
    return image, mask, spacing


@pytest.mark.data
def test_sts_ct_embeds_per_lesion_and_per_slice(shared_data):
    lesion = DeepEmbedder(
        DeepSettings(mode="2.5d", weights="random", intensity="ct_soft_tissue", input_size=96)
    )
    slices = DeepEmbedder(
        DeepSettings(mode="slices", weights="random", intensity="ct_soft_tissue", input_size=64)
    )
    rows, slice_rows = [], []
    for case in CASES:
        image, mask, spacing = _load(shared_data / "sts" / "nifti" / case / "ct")
        ids = {"patient_id": case}
        rows.append(lesion.embed_arrays(image, mask, spacing, ids=ids, tag="ct"))
        df = slices.embed_arrays(image, mask, spacing, ids=ids, tag="ct")
        assert df["slice_index"].tolist() == list(np.flatnonzero(mask.any(axis=(1, 2))))
        slice_rows.append(df)
    table = pd.concat(rows, ignore_index=True)
    assert table["patient_id"].tolist() == list(CASES)
    assert table.shape == (2, 1 + 512)
    assert table.columns[1] == "ct.deep.resnet18_2p5d.f000"
    assert np.isfinite(table.iloc[:, 1:].to_numpy()).all()
    per_slice = pd.concat(slice_rows, ignore_index=True)
    assert set(per_slice["patient_id"]) == set(CASES)
    agg = aggregate_slices(per_slice)
    assert agg["patient_id"].tolist() == list(CASES)
    counts = [len(d) for d in slice_rows]
    assert agg["ct.deep.resnet18_slices.n_slices"].tolist() == counts
