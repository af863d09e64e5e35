"""Round 22, outside tester 22d: MedicalNet's forward pass, crops of fill, damaged weights.

Oracles, none taken from radiomix's own network or messages:

- MedicalNet's 3D ResNet written out here in ``torch.nn.functional`` from the reference
  code (Chen, Ma & Zheng 2019, "Med3D: Transfer Learning for 3D Medical Image Analysis",
  arXiv:1904.00625; github.com/Tencent/MedicalNet ``models/resnet.py``): 7×7×7 stem with
  stride 2, 3×3×3 max-pool with stride 2, ``layer1`` stride 1, ``layer2`` stride 2,
  ``layer3`` stride 1 and dilation 2, ``layer4`` stride 1 and dilation 4 (every 3×3×3
  convolution of those stages with ``dilation=d, padding=d``); basic blocks (ResNet-10/18/
  34) or bottlenecks (ResNet-50, stride and dilation on the 3×3×3 ``conv2``); shortcut
  "A" (``avg_pool3d`` with kernel 1, then zero channels) or "B" (1×1×1 convolution and
  batch norm), created where ``stride != 1`` or the channel count changes. Its parameter
  names and shapes are generated here from the same description, in the checkpoint form
  the released files take (``module.`` prefix, ``state_dict`` entry, ``conv_seg`` head);
- interpolation's definition for the crops of fill: a position beyond the outermost voxel
  centres of an axis takes the fill value, so an image of one slice cannot give more than
  one real value along z;
- batch norm's inference form :math:`(x - \\mu) / \\sqrt{\\sigma^2 + \\epsilon}` for
  negative variances (NaN for every input);
- the file contents written by each test for the weight-file messages.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("monai")

import torch.nn.functional as F  # noqa: E402

from _data import run_cli  # noqa: E402
from radiomix.deep import DeepSettings, check_weights, deep_provenance, embed_arrays  # noqa: E402
from radiomix.deep.errors import CheckpointMismatchError, WeightsError  # noqa: E402
from radiomix.deep.inputs import sample_lesion  # noqa: E402
from radiomix.deep.networks import for_inference, load_backbone, unwrap_checkpoint  # noqa: E402
from radiomix.deep.settings import FLOAT32_TOLERANCE  # noqa: E402
from radiomix.errors import InputError  # noqa: E402

# ---- MedicalNet, written out from models/resnet.py ----------------------------------

# depth -> (bottleneck?, blocks per stage, shortcut type of the released checkpoint)
MEDICALNET = {
    "resnet10": (False, (1, 1, 1, 1), "B"),
    "resnet18": (False, (2, 2, 2, 2), "A"),
    "resnet34": (False, (3, 4, 6, 3), "A"),
    "resnet50": (True, (3, 4, 6, 3), "B"),
}
STAGES = ((64, 1, 1), (128, 2, 1), (256, 1, 2), (512, 1, 4))
"""(planes, stride, dilation) of layer1..layer4: ``_make_layer(block, 256, layers[2],
shortcut_type, stride=1, dilation=2)`` and ``(..., 512, ..., stride=1, dilation=4)``."""


def _bn_names(prefix, n):
    return [(f"{prefix}.{t}", (n,)) for t in ("weight", "bias", "running_mean", "running_var")]


def medicalnet_layout(model):
    """Parameter names and shapes of MedicalNet's ``model`` (its ``state_dict`` order)."""
    bottleneck, blocks, shortcut = MEDICALNET[model]
    expansion = 4 if bottleneck else 1
    names = [("conv1.weight", (64, 1, 7, 7, 7)), *_bn_names("bn1", 64)]
    inplanes = 64
    for stage, ((planes, stride, _), n) in enumerate(zip(STAGES, blocks, strict=True), 1):
        for b in range(n):
            p = f"layer{stage}.{b}"
            if bottleneck:
                names += [(f"{p}.conv1.weight", (planes, inplanes, 1, 1, 1)),
                          *_bn_names(f"{p}.bn1", planes),
                          (f"{p}.conv2.weight", (planes, planes, 3, 3, 3)),
                          *_bn_names(f"{p}.bn2", planes),
                          (f"{p}.conv3.weight", (planes * 4, planes, 1, 1, 1)),
                          *_bn_names(f"{p}.bn3", planes * 4)]
            else:
                names += [(f"{p}.conv1.weight", (planes, inplanes, 3, 3, 3)),
                          *_bn_names(f"{p}.bn1", planes),
                          (f"{p}.conv2.weight", (planes, planes, 3, 3, 3)),
                          *_bn_names(f"{p}.bn2", planes)]
            if b == 0 and shortcut == "B" and (stride != 1 or inplanes != planes * expansion):
                names += [(f"{p}.downsample.0.weight", (planes * expansion, inplanes, 1, 1, 1)),
                          *_bn_names(f"{p}.downsample.1", planes * expansion)]
            inplanes = planes * expansion
    return names


def seeded_state(layout, seed):
    """Plausible tensors of ``layout``: He-scaled convolutions, batch norms with non-trivial
    statistics (positive variances)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in layout:
        if name.endswith("running_var"):
            t = 0.5 + torch.rand(shape, generator=g)
        elif name.endswith(("running_mean", "bias")):
            t = 0.1 * torch.randn(shape, generator=g)
        elif len(shape) == 1:
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        else:
            t = torch.randn(shape, generator=g) * (2.0 / float(np.prod(shape[1:]))) ** 0.5
        state[name] = t
    return state


def medicalnet_checkpoint(model, seed):
    """The backbone's tensors as the released files hold them: ``module.`` prefix inside a
    ``state_dict`` entry, with the segmentation head ``conv_seg``."""
    backbone = seeded_state(medicalnet_layout(model), seed)
    head = seeded_state([("conv_seg.0.weight", (512 * (4 if model == "resnet50" else 1), 32,
                                                 2, 2, 2)),
                         ("conv_seg.0.bias", (32,)), *_bn_names("conv_seg.1", 32),
                         ("conv_seg.3.weight", (32, 32, 3, 3, 3)), *_bn_names("conv_seg.4", 32),
                         ("conv_seg.6.weight", (2, 32, 1, 1, 1))], seed + 1)
    return backbone, {"state_dict": {"module." + k: v for k, v in {**backbone, **head}.items()}}


def medicalnet_forward(x, s, model):
    """MedicalNet's forward pass up to the last stage, then the global average pool."""
    bottleneck, blocks, shortcut = MEDICALNET[model]
    expansion = 4 if bottleneck else 1

    def bn(y, p):
        return F.batch_norm(y, s[p + ".running_mean"], s[p + ".running_var"], s[p + ".weight"],
                            s[p + ".bias"], training=False, eps=1e-5)

    def conv3(y, w, stride, d):  # conv3x3x3(in, out, stride, dilation): padding=dilation
        return F.conv3d(y, w, stride=stride, padding=d, dilation=d)

    y = F.relu(bn(F.conv3d(x, s["conv1.weight"], stride=2, padding=3), "bn1"))
    y = F.max_pool3d(y, kernel_size=3, stride=2, padding=1)
    inplanes = 64
    for stage, ((planes, stride, d), n) in enumerate(zip(STAGES, blocks, strict=True), 1):
        for b in range(n):
            p, st = f"layer{stage}.{b}", (stride if b == 0 else 1)
            if bottleneck:
                out = F.relu(bn(F.conv3d(y, s[p + ".conv1.weight"]), p + ".bn1"))
                out = F.relu(bn(conv3(out, s[p + ".conv2.weight"], st, d), p + ".bn2"))
                out = bn(F.conv3d(out, s[p + ".conv3.weight"]), p + ".bn3")
            else:
                out = F.relu(bn(conv3(y, s[p + ".conv1.weight"], st, d), p + ".bn1"))
                out = bn(conv3(out, s[p + ".conv2.weight"], 1, d), p + ".bn2")
            residual = y
            if b == 0 and (st != 1 or inplanes != planes * expansion):
                if shortcut == "A":  # downsample_basic_block
                    pooled = F.avg_pool3d(y, kernel_size=1, stride=st)
                    zeros = torch.zeros(pooled.shape[0], planes * expansion - pooled.shape[1],
                                        *pooled.shape[2:], dtype=pooled.dtype)
                    residual = torch.cat([pooled, zeros], dim=1)
                else:
                    residual = bn(F.conv3d(y, s[p + ".downsample.0.weight"], stride=st),
                                  p + ".downsample.1")
            y = F.relu(out + residual)
            inplanes = planes * expansion
    return y, y.mean(dim=(2, 3, 4))


def _rel(a, b):
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))


@pytest.mark.parametrize("model", ["resnet10", "resnet18", "resnet34", "resnet50"])
def test_3d_network_is_medicalnets_forward(model):
    backbone, ckpt = medicalnet_checkpoint(model, seed=11)
    state = unwrap_checkpoint(ckpt, source=f"resnet_{model[6:]}_23dataset.pth")
    net, report = load_backbone(model, state, spatial_dims=3, source="mn.pth")
    assert report.n_tensors == len(backbone)
    net = for_inference(net, precision="float64")
    ref_state = {k: v.double() for k, v in backbone.items()}
    x = torch.randn(1, 1, 21, 26, 30, generator=torch.Generator().manual_seed(4),
                    dtype=torch.float64)
    seen = {}
    hook = net.layer4.register_forward_hook(lambda _m, _i, o: seen.setdefault("layer4", o))
    with torch.inference_mode():
        got = net(x)
        ref_map, ref = medicalnet_forward(x, ref_state, model)
    hook.remove()
    # layer3 and layer4 keep layer2's resolution (a strided network would halve it twice)
    assert tuple(seen["layer4"].shape[2:]) == tuple(ref_map.shape[2:]) == (3, 4, 4)
    assert got.shape == ref.shape == (1, 512 * (4 if model == "resnet50" else 1))
    assert _rel(got, ref) < 1e-12
    assert _rel(seen["layer4"], ref_map) < 1e-12


def test_3d_float32_path_is_medicalnets_forward_within_the_stated_tolerance():
    backbone, ckpt = medicalnet_checkpoint("resnet18", seed=12)
    net, _ = load_backbone("resnet18", unwrap_checkpoint(ckpt, source="r18.pth"), spatial_dims=3,
                           source="r18.pth")
    net = for_inference(net, precision="float32")  # batch norm folded, channels-last
    x = torch.rand(2, 1, 32, 32, 32, generator=torch.Generator().manual_seed(5),
                   dtype=torch.float64)
    with torch.inference_mode():
        got = net(x.float().contiguous(memory_format=torch.channels_last_3d)).double()
        _, ref = medicalnet_forward(x, {k: v.double() for k, v in backbone.items()}, "resnet18")
    for i in range(2):
        assert _rel(got[i], ref[i]) <= FLOAT32_TOLERANCE


def test_3d_embedding_from_a_medicalnet_file_end_to_end(tmp_path):
    """``embed_arrays`` in mode 3d with a MedicalNet-form file: the crop (sampled as the
    module documents, tested against map_coordinates elsewhere) through MedicalNet."""
    backbone, ckpt = medicalnet_checkpoint("resnet18", seed=13)
    path = tmp_path / "resnet_18_23dataset_own.pth"
    torch.save(ckpt, path)
    rng = np.random.default_rng(1)
    image = rng.normal(40.0, 60.0, (14, 30, 30))
    mask = np.zeros(image.shape, bool)
    mask[4:10, 8:20, 10:22] = True
    spacing = (2.5, 0.9, 0.9)
    kw = {"margin_mm": 5.0, "intensity": "ct_soft_tissue", "mask_background": False}
    rows = embed_arrays(image, mask, spacing, model="resnet18", mode="3d", weights=path,
                        input_size=32, precision="float64", **kw)
    got = torch.from_numpy(rows.filter(like=".deep.").to_numpy()[0])
    crop, _ = sample_lesion(image, mask, spacing, mode="3d", size=32, **kw)
    _, ref = medicalnet_forward(torch.from_numpy(crop)[None, None],
                                {k: v.double() for k, v in backbone.items()}, "resnet18")
    assert _rel(got, ref[0]) < 1e-12
    assert "dilation 2/4" in rows.attrs["radiomix.deep"]["architecture"]


def test_provenance_names_medicalnets_dilated_stages():
    """The recorded architecture changed with the network (the deep source files are part
    of every case key through the case code, so cached 3d embeddings are recomputed)."""
    arch = deep_provenance(DeepSettings(model="resnet10", mode="3d", weights="random"))
    assert arch["architecture"] == ("resnet10 3D, MedicalNet network: layer3/layer4 stride 1, "
                                    "dilation 2/4 (MONAI ResNet)")


# ---- crops of fill ---------------------------------------------------------------------


def _one_slice_lesion(shift=0):
    rng = np.random.default_rng(2)
    image = rng.normal(40.0, 60.0, (1, 48, 48))
    mask = np.zeros(image.shape, bool)
    mask[0, 14 + shift : 30 + shift, 16:34] = True
    return image, mask, (3.0, 0.8, 0.8)


@pytest.mark.parametrize(("mode", "size", "found"),
                         [("3d", 32, "none"), ("3d", 33, "only one"), ("2.5d", 32, "none")])
def test_one_slice_image_is_refused_where_the_mode_samples_z(mode, size, found):
    image, mask, spacing = _one_slice_lesion()
    with pytest.raises(InputError) as info:
        sample_lesion(image, mask, spacing, mode=mode, size=size, margin_mm=10.0,
                      intensity="minmax", mask_background=False)
    msg = str(info.value)
    assert "\n" not in msg
    assert f"deep mode {mode!r} samples {size} positions along z" in msg
    assert "the image has one voxel along z (a 2D image)" in msg
    assert f": {found} of them lies inside it" in msg
    assert "use mode 'slices' or 'max_slice'" in msg


@pytest.mark.parametrize("mode", ["slices", "max_slice"])
def test_one_slice_image_is_embedded_in_the_slice_modes(mode):
    """The modes the message suggests read the slice, and two lesions differ."""
    crops = []
    for shift in (0, 6):
        image, mask, spacing = _one_slice_lesion(shift)
        crop, slices = sample_lesion(image, mask, spacing, mode=mode, size=32, margin_mm=10.0,
                                     intensity="minmax", mask_background=False)
        assert slices == [0]
        assert np.ptp(crop) > 0.5
        crops.append(crop)
    assert not np.array_equal(*crops)


def test_thin_slab_is_refused_and_a_lesion_at_the_border_is_not():
    rng = np.random.default_rng(3)
    # two slices 0.5 mm apart under a 40 mm field of view: at most one position in 64 inside
    image = rng.normal(0.0, 50.0, (2, 60, 60))
    mask = np.zeros(image.shape, bool)
    mask[:, 10:50, 10:50] = True
    with pytest.raises(InputError, match=r"has 2 voxels along z, spanning 0\.5 mm: "):
        sample_lesion(image, mask, (0.5, 0.8, 0.8), mode="3d", size=64, margin_mm=2.0,
                      intensity="minmax", mask_background=False)
    # a lesion in the first slices of a thick image: half the field of view is fill, as at
    # any border, and the crop is computed
    image = rng.normal(0.0, 50.0, (30, 40, 40))
    mask = np.zeros(image.shape, bool)
    mask[0:3, 10:20, 10:20] = True
    crop, _ = sample_lesion(image, mask, (1.0, 1.0, 1.0), mode="3d", size=32, margin_mm=5.0,
                            intensity="minmax", mask_background=False)
    assert crop.shape == (32, 32, 32)


def test_one_voxel_wide_image_names_the_axis_and_no_slice_mode():
    image = np.zeros((5, 1, 40))
    image[:, 0, 10:20] = 100.0
    mask = image > 0
    with pytest.raises(InputError, match=r"along y .* has one voxel along y: none .* \(Z, Y, X\)"):
        sample_lesion(image, mask, (1.0, 1.0, 1.0), mode="max_slice", size=32, margin_mm=5.0,
                      intensity="minmax", mask_background=False)


def test_an_image_of_one_row_and_one_slice_suggests_no_slice_mode():
    """A 1 x 1 x N image in 3d was told to use 'slices', which fails too (tester 22h)."""
    image = np.zeros((1, 1, 40))
    image[0, 0, 10:20] = 100.0
    with pytest.raises(InputError, match=r"along z .*\(Z, Y, X\)") as err:
        sample_lesion(image, image > 0, (1.0, 1.0, 1.0), mode="3d", size=32, margin_mm=5.0,
                      intensity="minmax", mask_background=False)
    assert "slices" not in str(err.value)


# ---- weight files ----------------------------------------------------------------------


def _tv18_state():
    """A torchvision-layout ResNet-18 state dict with seeded values."""
    from radiomix.deep.networks import random_backbone

    return {k: v.clone() for k, v in random_backbone("resnet18", spatial_dims=2,
                                                      seed=3).state_dict().items()}


def _check(path):
    return check_weights(DeepSettings(model="resnet18", mode="2.5d", weights=str(path)))


@pytest.mark.parametrize("value", [-1.0, -1e-7])
def test_negative_running_variance_is_refused_before_any_case(tmp_path, value):
    state = _tv18_state()
    state["layer2.1.bn1.running_var"][5] = value
    state["layer2.1.bn1.running_var"][9] = value * 2
    path = tmp_path / "negvar.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=(
            r"^negvar\.pth: batch-norm variance layer2\.1\.bn1\.running_var holds 2 negative "
            rf"values \(lowest {value * 2:.6g}\); .* damaged")):
        _check(path)


def test_negative_running_variance_is_exit_2_in_extract(tmp_path):
    import SimpleITK as sitk

    state = _tv18_state()
    state["layer1.0.bn1.running_var"][3] = -1.0
    torch.save(state, tmp_path / "negvar.pth")
    image = np.random.default_rng(0).normal(40, 20, (6, 40, 40)).astype(np.float32)
    mask = np.zeros(image.shape, np.uint8)
    mask[2:5, 12:26, 14:28] = 1
    for name, arr in (("img", image), ("mask", mask)):
        sitk.WriteImage(sitk.GetImageFromArray(arr), str(tmp_path / f"{name}.nii.gz"))
    res = run_cli("extract", str(tmp_path / "img.nii.gz"), str(tmp_path / "mask.nii.gz"),
                  "--out", str(tmp_path / "f.csv"), "--preset", "ibsi-digital",
                  "--deep", "resnet18:2.5d", "--deep-weights", str(tmp_path / "negvar.pth"))
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "running_var holds 1 negative value" in lines[0]
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.parametrize(("edit", "named"), [
    (lambda s: s.pop("layer3.0.conv1.weight"), r"missing keys \[layer3\.0\.conv1\.weight\]$"),
    (lambda s: s.pop("layer4.1.bn2.running_var"),
     r"missing keys \[layer4\.1\.bn2\.running_var\]$"),
    (lambda s: s.__setitem__("layer5.0.conv1.weight", torch.zeros(3, 3)),
     r"unexpected keys \[layer5\.0\.conv1\.weight\]$"),
    (lambda s: s.__setitem__("layer2.0.downsample.2.weight", torch.zeros(3)),
     r"unexpected keys \[layer2\.0\.downsample\.2\.weight\]$"),
])
def test_one_missing_or_extra_tensor_is_named_without_a_wrong_cause(edit, named):
    state = _tv18_state()
    edit(state)
    with pytest.raises(CheckpointMismatchError, match=named) as info:
        load_backbone("resnet18", state, spatial_dims=2, source="one.pth")
    assert "number of blocks" not in str(info.value)
    assert "shortcut" not in str(info.value)


def test_another_depth_says_the_blocks_per_stage():
    from radiomix.deep.networks import random_backbone

    r34 = random_backbone("resnet34", spatial_dims=2, seed=1).state_dict()
    with pytest.raises(CheckpointMismatchError, match=(
            r"the number of blocks differs \(the file has 3, 4, 6, 3 per stage, the resnet18 "
            r"2, 2, 2, 2\): is the file really a resnet18\?$")):
        load_backbone("resnet18", dict(r34), spatial_dims=2, source="r34.pth")
    with pytest.raises(CheckpointMismatchError, match=(
            r"\(the file has 2, 2, 2, 2 per stage, the resnet34 3, 4, 6, 3\)")):
        load_backbone("resnet34", _tv18_state(), spatial_dims=2, source="r18.pth")


def test_a_state_dict_of_another_kind_of_network_says_so():
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    with pytest.raises(CheckpointMismatchError,
                       match=r"holds no residual block .*: it is not a ResNet's checkpoint$"):
        load_backbone("resnet18", dict(mlp.state_dict()), spatial_dims=2, source="mlp.pth")


@pytest.mark.parametrize("zipped", [True, False])
def test_a_whole_pickled_network_says_to_save_its_state_dict(tmp_path, zipped):
    from radiomix.deep.networks import random_backbone

    path = tmp_path / "whole.pth"
    torch.save(random_backbone("resnet18", spatial_dims=2, seed=0), path,
               _use_new_zipfile_serialization=zipped)
    with pytest.raises(WeightsError) as info:
        _check(path)
    msg = str(info.value)
    assert msg.startswith("whole.pth: holds a whole pickled network "
                          "(monai.networks.nets.resnet.ResNet), not a state dict of tensors")
    assert "torch.save(net.state_dict(), PATH)" in msg
    assert "download" not in msg


def test_a_cut_file_is_still_a_damaged_download(tmp_path):
    path = tmp_path / "cut.pth"
    torch.save(_tv18_state(), path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(WeightsError, match="damaged or partial download"):
        _check(path)
