"""float32 embeddings against float64 ones, batch-norm folding, batches across lesions.

Oracles: the same network run in float64 (layer by layer as built, batch norm unfolded)
for the float32 path on real STS CT, with seeded random weights and with a weight file
written here whose batch norms hold statistics calibrated on the crops (as a trained
network's do; published files cannot be downloaded here); the unfolded network for the
folding (an exact identity, so float64 agrees to rounding); :meth:`embed_arrays` per
lesion for :meth:`embed_batch`. The bound tested is the stated
:data:`radiomix.deep.settings.FLOAT32_TOLERANCE` (1e-5 relative L2 per embedding; measured
at most 1.4e-6). Determinism is asserted only within one precision.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("monai")

from radiomix.deep import DeepEmbedder, DeepSettings  # noqa: E402
from radiomix.deep.networks import build_resnet, fold_batch_norm, for_inference  # noqa: E402
from radiomix.deep.settings import FLOAT32_TOLERANCE  # noqa: E402
from radiomix.settings.loader import settings_to_dict  # noqa: E402
from radiomix.settings.study import DeepOptions  # noqa: E402

SPACING = (2.5, 0.8, 0.8)


def _rel_l2(a, b):
    """Largest relative L2 difference of a row of ``a`` from the row of ``b``."""
    return float((np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)).max())


def _set_batch_norms(net, seed):
    """Non-trivial batch-norm statistics and affine parameters (fresh ones are 0/1)."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.2)


@pytest.mark.parametrize(
    ("model", "dims"),
    [("resnet18", 2), ("resnet50", 2), ("resnet18", 3), ("resnet10", 3)],
)
def test_folding_batch_norm_keeps_the_function(model, dims):
    torch.manual_seed(0)
    net = build_resnet(model, spatial_dims=dims)
    _set_batch_norms(net, 1)
    ref = copy.deepcopy(net).double()
    folded = fold_batch_norm(copy.deepcopy(net).double())
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in folded.modules())
    shape = (2, 3, 64, 64) if dims == 2 else (2, 1, 32, 32, 32)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    with torch.inference_mode():
        a, b = folded(x).numpy(), ref(x).numpy()
    # the same affine maps composed in another order: float64 rounding only
    assert _rel_l2(a, b) <= 1e-12


def test_for_inference_float64_is_the_network_widened():
    torch.manual_seed(0)
    net = build_resnet("resnet18", spatial_dims=2)
    wide = for_inference(copy.deepcopy(net), precision="float64")
    for (name, p), q in zip(net.state_dict().items(), wide.state_dict().values(), strict=True):
        if p.is_floating_point():
            assert q.dtype == torch.float64, name
            assert torch.equal(q, p.double()), name  # float32 -> float64 is exact
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in wide.modules())  # not folded


def _load(folder):
    sitk = pytest.importorskip("SimpleITK")
    img = sitk.ReadImage(str(folder / "image.nii.gz"))
    msk = sitk.ReadImage(str(folder / "mask.nii.gz"))
    image = sitk.GetArrayFromImage(img).astype(np.float64)
    mask = sitk.GetArrayFromImage(msk) > 0
    return image, mask, tuple(float(s) for s in reversed(img.GetSpacing()))


@pytest.fixture(scope="module")
def sts_ct(shared_data):
    return [_load(shared_data / "sts" / "nifti" / c / "ct") for c in ("STS_001", "STS_002")]


def _calibrated_weight_file(path, model, mode, lesions):
    """A weight file whose batch norms hold the statistics of these lesions' crops."""
    dims = 3 if mode == "3d" else 2
    sampler = DeepEmbedder(
        DeepSettings(
            model=model,
            mode=mode,
            weights="random",
            intensity="ct_soft_tissue",
            precision="float64",
        )
    )
    crops = np.concatenate([sampler.inputs(*lesion)[0] for lesion in lesions])
    torch.manual_seed(5)
    net = build_resnet(model, spatial_dims=dims, num_classes=1000 if dims == 2 else None)
    _set_batch_norms(net, 6)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # cumulative average over the calibration pass
            m.reset_running_stats()
    net.train()
    with torch.no_grad():
        net(torch.from_numpy(crops.astype(np.float32)))
    torch.save(net.state_dict(), path)
    return str(path)


@pytest.mark.data
@pytest.mark.parametrize("weights", ["random", "file"])
@pytest.mark.parametrize(
    ("model", "mode"),
    [("resnet18", "2.5d"), ("resnet18", "max_slice"), ("resnet18", "slices"), ("resnet10", "3d")],
)
def test_float32_is_within_the_stated_tolerance_on_sts_ct(tmp_path, sts_ct, model, mode, weights):
    if weights == "file":
        weights = _calibrated_weight_file(tmp_path / f"{model}.pth", model, mode, sts_ct)
    rows = {}
    for precision in ("float32", "float64"):
        emb = DeepEmbedder(
            DeepSettings(
                model=model,
                mode=mode,
                weights=weights,
                intensity="ct_soft_tissue",
                precision=precision,
                seed=3,
            )
        )
        assert emb.provenance["settings"]["precision"] == precision
        assert emb.provenance["arithmetic"].startswith(precision)
        rows[precision] = emb.embed_batch(sts_ct).to_numpy(float)[:, -512:]
    a, b = rows["float32"], rows["float64"]
    assert a.dtype == np.float64
    assert a.shape == b.shape
    assert len(a) == (
        sum(int(m.any(axis=(1, 2)).sum()) for _, m, _ in sts_ct)
        if mode == "slices"
        else len(sts_ct)
    )
    assert np.array_equal(a, a.astype(np.float32).astype(np.float64))  # float32 arithmetic
    assert np.isfinite(a).all()
    assert (np.abs(b).max(axis=1) > 0).all()
    assert _rel_l2(a, b) <= FLOAT32_TOLERANCE
    # element-wise too: no coordinate off by more than the tolerance of the vector's scale
    assert (np.abs(a - b).max(axis=1) / np.abs(b).max(axis=1)).max() <= FLOAT32_TOLERANCE


@pytest.fixture(scope="module")
def lesions():
    rng = np.random.default_rng(21)
    out = []
    for k in range(3):
        image = rng.normal(40.0, 30.0, size=(10, 36, 36))
        zz, yy, xx = np.ogrid[:10, :36, :36]
        r = (3.0 + k, 6.0 + k, 5.0 + k)
        mask = ((zz - 5) / r[0]) ** 2 + ((yy - 18) / r[1]) ** 2 + ((xx - 17) / r[2]) ** 2 <= 1
        out.append((image, mask, SPACING))
    return out


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("mode", ["slices", "2.5d"])
def test_embed_batch_gives_the_rows_of_each_lesion(lesions, mode, precision):
    settings = DeepSettings(
        mode=mode,
        weights="random",
        input_size=64,
        margin_mm=5.0,
        intensity="ct_soft_tissue",
        batch_size=4,
        precision=precision,
    )
    emb = DeepEmbedder(settings)
    ids = [{"patient_id": f"P{k}", "lesion_id": k} for k in range(len(lesions))]
    got = emb.embed_batch(lesions, ids=ids, tag="ct")
    ref = pd.concat(
        [emb.embed_arrays(*les, ids=i, tag="ct") for les, i in zip(lesions, ids, strict=True)],
        ignore_index=True,
    )
    assert list(got.columns) == list(ref.columns)
    n_id = 3 if mode == "slices" else 2
    pd.testing.assert_frame_equal(got.iloc[:, :n_id], ref.iloc[:, :n_id])
    a, b = got.iloc[:, n_id:].to_numpy(), ref.iloc[:, n_id:].to_numpy()
    # other batch compositions: float64 kernels treat each image alike; float32 (oneDNN)
    # kernels are chosen by batch shape
    assert _rel_l2(a, b) <= (1e-12 if precision == "float64" else FLOAT32_TOLERANCE)
    assert got.attrs["radiomix.deep"]["settings"]["precision"] == precision
    # same precision, same lesions, order and batch size: bit-identical, also from a generator
    again = DeepEmbedder(settings).embed_batch((les for les in lesions), ids=ids, tag="ct")
    pd.testing.assert_frame_equal(got, again, check_exact=True)


def test_study_deep_precision_reaches_the_settings_and_the_case_key():
    default = DeepOptions(weights="random")
    assert default.deep_settings().precision == "float32"
    assert settings_to_dict(default)["precision"] == "float32"  # part of the case key
    exact = DeepOptions(weights="random", precision="float64")
    assert exact.deep_settings().precision == "float64"
    assert settings_to_dict(exact) != settings_to_dict(default)
    assert DeepSettings().precision == "float32"
