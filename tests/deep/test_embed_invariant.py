"""Embedding rows: determinism, batch-size invariance, ids and naming, aggregation, laziness.

Oracles: repeated runs (bit identity), the same images in different batch sizes, numpy
means/maxima over hand-built slice tables, hashlib for weight-file hashes, and a network
loaded here by hand with torch for the weights-from-file path.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("monai")

from radiomix.deep import (  # noqa: E402
    DeepEmbedder,
    DeepSettings,
    aggregate_slices,
    deep_provenance,
    embed_arrays,
    parse_deep_spec,
)
from radiomix.deep.networks import build_resnet  # noqa: E402
from radiomix.deep.settings import FLOAT32_TOLERANCE  # noqa: E402

SPACING = (2.5, 0.8, 0.8)


@pytest.fixture(scope="module")
def lesion():
    rng = np.random.default_rng(11)
    image = rng.normal(40.0, 30.0, size=(12, 40, 40))
    mask = np.zeros(image.shape, bool)
    zz, yy, xx = np.ogrid[:12, :40, :40]
    mask[:] = ((zz - 6) / 4.0) ** 2 + ((yy - 20) / 9.0) ** 2 + ((xx - 19) / 7.0) ** 2 <= 1.0
    return image, mask


def small(**kw):
    base = {"weights": "random", "input_size": 64, "margin_mm": 5.0, "intensity": "ct_soft_tissue"}
    return DeepSettings(**{**base, **kw})


def test_slice_rows_carry_ids_and_slice_index(lesion):
    image, mask = lesion
    df = DeepEmbedder(small()).embed_arrays(
        image, mask, SPACING, ids={"patient_id": "STS_042", "lesion_id": 2}, tag="ct"
    )
    zs = [int(z) for z in np.flatnonzero(mask.any(axis=(1, 2)))]
    assert len(df) == len(zs)
    assert list(df.columns[:4]) == [
        "patient_id",
        "lesion_id",
        "slice_index",
        "ct.deep.resnet18_slices.f000",
    ]
    assert df.columns[-1] == "ct.deep.resnet18_slices.f511"
    assert df.shape[1] == 3 + 512
    assert (df["patient_id"] == "STS_042").all()
    assert (df["lesion_id"] == 2).all()
    assert df["slice_index"].tolist() == zs
    assert np.isfinite(df.iloc[:, 3:].to_numpy()).all()
    assert df.attrs["radiomix.deep"]["random_weights"] is True


def test_bit_identical_across_runs(lesion):
    image, mask = lesion
    a = DeepEmbedder(small(mode="slices")).embed_arrays(image, mask, SPACING)
    b = DeepEmbedder(small(mode="slices")).embed_arrays(image, mask, SPACING)
    assert np.array_equal(a.to_numpy(), b.to_numpy())
    c = embed_arrays(
        image, mask, SPACING, mode="2.5d", weights="random", input_size=64, margin_mm=5.0
    )
    d = embed_arrays(
        image, mask, SPACING, mode="2.5d", weights="random", input_size=64, margin_mm=5.0
    )
    assert np.array_equal(c.to_numpy(), d.to_numpy())


def _rel_l2(a, b):
    """Largest relative L2 difference between corresponding embedding rows."""
    return float((np.linalg.norm(a - b, axis=1) / np.linalg.norm(a, axis=1)).max())


def test_float64_batch_size_changes_nothing_beyond_1e_12(lesion):
    image, mask = lesion
    ref = DeepEmbedder(small(batch_size=1, precision="float64")).embed_arrays(image, mask, SPACING)
    a = ref.iloc[:, 1:].to_numpy()
    assert len(a) >= 4
    for bs in (3, 16):
        got = DeepEmbedder(small(batch_size=bs, precision="float64")).embed_arrays(
            image, mask, SPACING
        )
        b = got.iloc[:, 1:].to_numpy()
        # float64 inference: each image's arithmetic does not depend on the batch
        assert _rel_l2(a, b) <= 1e-12
        assert np.abs(a - b).max() <= 1e-6 * np.abs(a).max()


def test_float32_is_reproducible_and_close_across_batch_sizes(lesion):
    image, mask = lesion
    one = DeepEmbedder(small(batch_size=1, precision="float32"))
    a = one.embed_arrays(image, mask, SPACING).iloc[:, 1:].to_numpy()
    again = DeepEmbedder(small(batch_size=1, precision="float32"))
    assert np.array_equal(a, again.embed_arrays(image, mask, SPACING).iloc[:, 1:].to_numpy())
    assert np.array_equal(a, a.astype(np.float32).astype(np.float64))  # float32 values
    many = DeepEmbedder(small(batch_size=16, precision="float32"))
    b = many.embed_arrays(image, mask, SPACING).iloc[:, 1:].to_numpy()
    # oneDNN picks kernels by batch size: float32 rounding differences only
    assert _rel_l2(a, b) <= 5e-6
    ref = DeepEmbedder(small(batch_size=16, precision="float64")).embed_arrays(image, mask, SPACING)
    assert _rel_l2(ref.iloc[:, 1:].to_numpy(), b) <= FLOAT32_TOLERANCE


def test_different_seeds_differ_and_are_recorded(lesion):
    image, mask = lesion
    e0 = DeepEmbedder(small(mode="max_slice", seed=0))
    e1 = DeepEmbedder(small(mode="max_slice", seed=1))
    a = e0.embed_arrays(image, mask, SPACING).to_numpy()
    b = e1.embed_arrays(image, mask, SPACING).to_numpy()
    assert not np.array_equal(a, b)
    assert e1.provenance["settings"]["seed"] == 1


def test_threads_and_rng_state_are_restored(lesion):
    image, mask = lesion
    threads = torch.get_num_threads()
    rng = torch.random.get_rng_state()
    DeepEmbedder(small(mode="max_slice", num_threads=1)).embed_arrays(image, mask, SPACING)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), rng)


def test_three_d_rows(lesion):
    image, mask = lesion
    df = embed_arrays(
        image,
        mask,
        SPACING,
        model="resnet10",
        mode="3d",
        weights="random",
        input_size=32,
        ids={"patient_id": "P1"},
        tag="ct",
    )
    assert df.shape == (1, 1 + 512)
    assert df.columns[1] == "ct.deep.resnet10_3d.f000"
    assert "MedicalNet" in df.attrs["radiomix.deep"]["architecture"]


def test_weights_from_a_file(tmp_path, lesion):
    image, mask = lesion
    torch.manual_seed(3)
    net = build_resnet("resnet18", spatial_dims=2, num_classes=1000)
    path = tmp_path / "my_resnet18.pth"
    torch.save(net.state_dict(), path)
    emb = DeepEmbedder(small(mode="2.5d", weights=str(path), precision="float64"))
    prov = emb.provenance
    assert prov["weights_kind"] == "file"
    assert prov["random_weights"] is False
    assert prov["weights_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert prov["checkpoint_load"]["classifier_classes"] == 1000
    batch, _ = emb.inputs(image, mask, SPACING)
    assert batch.dtype == np.float64
    # the same weights loaded here by hand, classifier bypassed
    ref_net = build_resnet("resnet18", spatial_dims=2, num_classes=1000)
    ref_net.load_state_dict(torch.load(path, weights_only=True))
    ref_net.fc = torch.nn.Identity()
    ref_net = ref_net.double()
    with torch.inference_mode():
        expected = ref_net(torch.from_numpy(batch)).numpy()
    got = emb.embed_arrays(image, mask, SPACING).to_numpy()
    # float64 both ways, but the embedder and this hand pass may run different batch shapes
    # and so different CPU kernels (oneDNN/MKL choose by shape and by machine): the sums are
    # reordered, which moves the last bits (~1e-15 relative). rtol 1e-10 leaves 5 orders of
    # margin over that and still catches any wrong weight, layer or input (>= 1e-3).
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())
    # the default float32 path (batch norm folded, float32 inputs): within the tolerance
    fast = DeepEmbedder(small(mode="2.5d", weights=str(path)))
    assert fast.provenance["settings"]["precision"] == "float32"
    assert fast.inputs(image, mask, SPACING)[0].dtype == np.float32
    fast_rows = fast.embed_arrays(image, mask, SPACING).to_numpy()
    assert _rel_l2(expected, fast_rows) <= FLOAT32_TOLERANCE


def test_provenance_without_building(tmp_path):
    p = deep_provenance(small(mode="2.5d"))
    assert p["random_weights"] is True
    assert p["weights"] == "random"
    assert p["settings"]["input_size"] == 64
    assert p["embedding_dim"] == 512
    assert p["versions"]["torch"].startswith("2.")


def test_column_names_follow_the_design():
    assert DeepSettings(mode="2.5d").columns("ct")[0] == "ct.deep.resnet18_2p5d.f000"
    cols = DeepSettings(model="resnet50", mode="max_slice").columns("pet")
    assert len(cols) == 2048
    assert cols[0] == "pet.deep.resnet50_max_slice.f000"
    assert cols[-1] == "pet.deep.resnet50_max_slice.f2047"
    assert DeepSettings(model="resnet34", mode="3d").column_prefix() == "image.deep.resnet34_3d"
    assert parse_deep_spec("resnet18:2.5d") == ("resnet18", "2.5d")
    assert parse_deep_spec("resnet18") == ("resnet18", "slices")


def _slice_table():
    rng = np.random.default_rng(5)
    rows = []
    for pid, lid, n in (("A", 1, 3), ("B", 1, 1), ("A", 2, 2)):
        for z in range(n):
            rows.append({"patient_id": pid, "lesion_id": lid, "slice_index": z})
    feats = rng.normal(size=(len(rows), 4))
    df = pd.DataFrame(rows)
    for j in range(4):
        df[f"ct.deep.resnet18_slices.f{j:03d}"] = feats[:, j]
    return df, feats


def test_aggregation_mean_max_and_count():
    df, feats = _slice_table()
    out = aggregate_slices(df)
    assert out["patient_id"].tolist() == ["A", "B", "A"]
    assert out["lesion_id"].tolist() == [1, 1, 2]
    assert out["ct.deep.resnet18_slices.n_slices"].tolist() == [3, 1, 2]
    groups = [feats[0:3], feats[3:4], feats[4:6]]
    for g, rows in enumerate(groups):
        for j in range(4):
            col = f"ct.deep.resnet18_slices.f{j:03d}"
            assert out.loc[g, col + ".mean"] == pytest.approx(rows[:, j].mean(), abs=1e-15)
            assert out.loc[g, col + ".max"] == rows[:, j].max()
    assert list(out.columns[:3]) == ["patient_id", "lesion_id", "ct.deep.resnet18_slices.n_slices"]
    assert out.shape[1] == 3 + 2 * 4


def test_aggregation_of_one_lesion_without_ids():
    df, feats = _slice_table()
    one = df.drop(columns=["patient_id", "lesion_id"]).iloc[:3]
    out = aggregate_slices(one, stats=("max",))
    assert len(out) == 1
    assert out["ct.deep.resnet18_slices.n_slices"].tolist() == [3]
    np.testing.assert_array_equal(
        out[[f"ct.deep.resnet18_slices.f{j:03d}.max" for j in range(4)]].to_numpy()[0],
        feats[:3].max(axis=0),
    )


def test_import_radiomix_does_not_import_torch():
    code = (
        "import sys, radiomix, radiomix.deep; "
        "from radiomix.deep import embed_arrays, aggregate_slices, DeepSettings; "
        "DeepSettings(mode='2.5d'); "
        "print('torch' in sys.modules, 'monai' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["False", "False"]


def test_embed_checked_case_equals_arrays(lesion):
    import SimpleITK as sitk

    from radiomix.check import check_case
    from radiomix.deep import embed

    image, mask = lesion
    img = sitk.GetImageFromArray(image)
    img.SetSpacing(tuple(reversed(SPACING)))
    msk = sitk.GetImageFromArray(mask.astype(np.uint8))
    msk.CopyInformation(img)
    case = check_case(img, msk, case_id="P9")
    emb = DeepEmbedder(small(mode="max_slice"))
    got = embed(case, embedder=emb, ids={"patient_id": "P9"}, tag="ct")
    ref = emb.embed_arrays(image, mask, SPACING, ids={"patient_id": "P9"}, tag="ct")
    pd.testing.assert_frame_equal(got, ref)
