"""ResNet backbones against published layouts and an independent functional forward pass.

Oracles (none taken from our own ``state_dict``):

- torchvision's published ResNet-18 parameter names and shapes, written out below as they
  appear in ``resnet18-f37072fd.pth`` (102 tensors; no ``num_batches_tracked``), and the
  published parameter counts of torchvision's ResNet-18/34/50 (11 689 512, 21 797 672,
  25 557 032);
- MedicalNet's 3D ResNet-10 checkpoint layout (``module.``-prefixed keys inside a
  ``state_dict`` entry, plus its segmentation head ``conv_seg``);
- a forward pass written by hand with ``torch.nn.functional`` (convolution, batch norm in
  inference form, ReLU, max-pool, residual additions, global average pool) and compared
  with the network at the output of the stem and of each of the four stages; in 3D it is
  MedicalNet's (stride 1 and dilation 2 and 4 in layer3 and layer4).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("monai")

import torch.nn.functional as F  # noqa: E402

from radiomix.deep.errors import CheckpointMismatchError  # noqa: E402
from radiomix.deep.networks import build_resnet, load_backbone, unwrap_checkpoint  # noqa: E402

# torchvision resnet18 (IMAGENET1K_V1 file resnet18-f37072fd.pth): name, shape
TORCHVISION_RESNET18 = (
    ("conv1.weight", (64, 3, 7, 7)),
    ("bn1.weight", (64,)),
    ("bn1.bias", (64,)),
    ("bn1.running_mean", (64,)),
    ("bn1.running_var", (64,)),
    ("layer1.0.conv1.weight", (64, 64, 3, 3)),
    ("layer1.0.bn1.weight", (64,)),
    ("layer1.0.bn1.bias", (64,)),
    ("layer1.0.bn1.running_mean", (64,)),
    ("layer1.0.bn1.running_var", (64,)),
    ("layer1.0.conv2.weight", (64, 64, 3, 3)),
    ("layer1.0.bn2.weight", (64,)),
    ("layer1.0.bn2.bias", (64,)),
    ("layer1.0.bn2.running_mean", (64,)),
    ("layer1.0.bn2.running_var", (64,)),
    ("layer1.1.conv1.weight", (64, 64, 3, 3)),
    ("layer1.1.bn1.weight", (64,)),
    ("layer1.1.bn1.bias", (64,)),
    ("layer1.1.bn1.running_mean", (64,)),
    ("layer1.1.bn1.running_var", (64,)),
    ("layer1.1.conv2.weight", (64, 64, 3, 3)),
    ("layer1.1.bn2.weight", (64,)),
    ("layer1.1.bn2.bias", (64,)),
    ("layer1.1.bn2.running_mean", (64,)),
    ("layer1.1.bn2.running_var", (64,)),
    ("layer2.0.conv1.weight", (128, 64, 3, 3)),
    ("layer2.0.bn1.weight", (128,)),
    ("layer2.0.bn1.bias", (128,)),
    ("layer2.0.bn1.running_mean", (128,)),
    ("layer2.0.bn1.running_var", (128,)),
    ("layer2.0.conv2.weight", (128, 128, 3, 3)),
    ("layer2.0.bn2.weight", (128,)),
    ("layer2.0.bn2.bias", (128,)),
    ("layer2.0.bn2.running_mean", (128,)),
    ("layer2.0.bn2.running_var", (128,)),
    ("layer2.0.downsample.0.weight", (128, 64, 1, 1)),
    ("layer2.0.downsample.1.weight", (128,)),
    ("layer2.0.downsample.1.bias", (128,)),
    ("layer2.0.downsample.1.running_mean", (128,)),
    ("layer2.0.downsample.1.running_var", (128,)),
    ("layer2.1.conv1.weight", (128, 128, 3, 3)),
    ("layer2.1.bn1.weight", (128,)),
    ("layer2.1.bn1.bias", (128,)),
    ("layer2.1.bn1.running_mean", (128,)),
    ("layer2.1.bn1.running_var", (128,)),
    ("layer2.1.conv2.weight", (128, 128, 3, 3)),
    ("layer2.1.bn2.weight", (128,)),
    ("layer2.1.bn2.bias", (128,)),
    ("layer2.1.bn2.running_mean", (128,)),
    ("layer2.1.bn2.running_var", (128,)),
    ("layer3.0.conv1.weight", (256, 128, 3, 3)),
    ("layer3.0.bn1.weight", (256,)),
    ("layer3.0.bn1.bias", (256,)),
    ("layer3.0.bn1.running_mean", (256,)),
    ("layer3.0.bn1.running_var", (256,)),
    ("layer3.0.conv2.weight", (256, 256, 3, 3)),
    ("layer3.0.bn2.weight", (256,)),
    ("layer3.0.bn2.bias", (256,)),
    ("layer3.0.bn2.running_mean", (256,)),
    ("layer3.0.bn2.running_var", (256,)),
    ("layer3.0.downsample.0.weight", (256, 128, 1, 1)),
    ("layer3.0.downsample.1.weight", (256,)),
    ("layer3.0.downsample.1.bias", (256,)),
    ("layer3.0.downsample.1.running_mean", (256,)),
    ("layer3.0.downsample.1.running_var", (256,)),
    ("layer3.1.conv1.weight", (256, 256, 3, 3)),
    ("layer3.1.bn1.weight", (256,)),
    ("layer3.1.bn1.bias", (256,)),
    ("layer3.1.bn1.running_mean", (256,)),
    ("layer3.1.bn1.running_var", (256,)),
    ("layer3.1.conv2.weight", (256, 256, 3, 3)),
    ("layer3.1.bn2.weight", (256,)),
    ("layer3.1.bn2.bias", (256,)),
    ("layer3.1.bn2.running_mean", (256,)),
    ("layer3.1.bn2.running_var", (256,)),
    ("layer4.0.conv1.weight", (512, 256, 3, 3)),
    ("layer4.0.bn1.weight", (512,)),
    ("layer4.0.bn1.bias", (512,)),
    ("layer4.0.bn1.running_mean", (512,)),
    ("layer4.0.bn1.running_var", (512,)),
    ("layer4.0.conv2.weight", (512, 512, 3, 3)),
    ("layer4.0.bn2.weight", (512,)),
    ("layer4.0.bn2.bias", (512,)),
    ("layer4.0.bn2.running_mean", (512,)),
    ("layer4.0.bn2.running_var", (512,)),
    ("layer4.0.downsample.0.weight", (512, 256, 1, 1)),
    ("layer4.0.downsample.1.weight", (512,)),
    ("layer4.0.downsample.1.bias", (512,)),
    ("layer4.0.downsample.1.running_mean", (512,)),
    ("layer4.0.downsample.1.running_var", (512,)),
    ("layer4.1.conv1.weight", (512, 512, 3, 3)),
    ("layer4.1.bn1.weight", (512,)),
    ("layer4.1.bn1.bias", (512,)),
    ("layer4.1.bn1.running_mean", (512,)),
    ("layer4.1.bn1.running_var", (512,)),
    ("layer4.1.conv2.weight", (512, 512, 3, 3)),
    ("layer4.1.bn2.weight", (512,)),
    ("layer4.1.bn2.bias", (512,)),
    ("layer4.1.bn2.running_mean", (512,)),
    ("layer4.1.bn2.running_var", (512,)),
    ("fc.weight", (1000, 512)),
    ("fc.bias", (1000,)),
)

# MedicalNet 3D ResNet-10 backbone ("B" shortcuts without bias, one input channel)
MEDICALNET_RESNET10 = (
    ("conv1.weight", (64, 1, 7, 7, 7)),
    ("bn1.weight", (64,)),
    ("bn1.bias", (64,)),
    ("bn1.running_mean", (64,)),
    ("bn1.running_var", (64,)),
    ("layer1.0.conv1.weight", (64, 64, 3, 3, 3)),
    ("layer1.0.bn1.weight", (64,)),
    ("layer1.0.bn1.bias", (64,)),
    ("layer1.0.bn1.running_mean", (64,)),
    ("layer1.0.bn1.running_var", (64,)),
    ("layer1.0.conv2.weight", (64, 64, 3, 3, 3)),
    ("layer1.0.bn2.weight", (64,)),
    ("layer1.0.bn2.bias", (64,)),
    ("layer1.0.bn2.running_mean", (64,)),
    ("layer1.0.bn2.running_var", (64,)),
    ("layer2.0.conv1.weight", (128, 64, 3, 3, 3)),
    ("layer2.0.bn1.weight", (128,)),
    ("layer2.0.bn1.bias", (128,)),
    ("layer2.0.bn1.running_mean", (128,)),
    ("layer2.0.bn1.running_var", (128,)),
    ("layer2.0.conv2.weight", (128, 128, 3, 3, 3)),
    ("layer2.0.bn2.weight", (128,)),
    ("layer2.0.bn2.bias", (128,)),
    ("layer2.0.bn2.running_mean", (128,)),
    ("layer2.0.bn2.running_var", (128,)),
    ("layer2.0.downsample.0.weight", (128, 64, 1, 1, 1)),
    ("layer2.0.downsample.1.weight", (128,)),
    ("layer2.0.downsample.1.bias", (128,)),
    ("layer2.0.downsample.1.running_mean", (128,)),
    ("layer2.0.downsample.1.running_var", (128,)),
    ("layer3.0.conv1.weight", (256, 128, 3, 3, 3)),
    ("layer3.0.bn1.weight", (256,)),
    ("layer3.0.bn1.bias", (256,)),
    ("layer3.0.bn1.running_mean", (256,)),
    ("layer3.0.bn1.running_var", (256,)),
    ("layer3.0.conv2.weight", (256, 256, 3, 3, 3)),
    ("layer3.0.bn2.weight", (256,)),
    ("layer3.0.bn2.bias", (256,)),
    ("layer3.0.bn2.running_mean", (256,)),
    ("layer3.0.bn2.running_var", (256,)),
    ("layer3.0.downsample.0.weight", (256, 128, 1, 1, 1)),
    ("layer3.0.downsample.1.weight", (256,)),
    ("layer3.0.downsample.1.bias", (256,)),
    ("layer3.0.downsample.1.running_mean", (256,)),
    ("layer3.0.downsample.1.running_var", (256,)),
    ("layer4.0.conv1.weight", (512, 256, 3, 3, 3)),
    ("layer4.0.bn1.weight", (512,)),
    ("layer4.0.bn1.bias", (512,)),
    ("layer4.0.bn1.running_mean", (512,)),
    ("layer4.0.bn1.running_var", (512,)),
    ("layer4.0.conv2.weight", (512, 512, 3, 3, 3)),
    ("layer4.0.bn2.weight", (512,)),
    ("layer4.0.bn2.bias", (512,)),
    ("layer4.0.bn2.running_mean", (512,)),
    ("layer4.0.bn2.running_var", (512,)),
    ("layer4.0.downsample.0.weight", (512, 256, 1, 1, 1)),
    ("layer4.0.downsample.1.weight", (512,)),
    ("layer4.0.downsample.1.bias", (512,)),
    ("layer4.0.downsample.1.running_mean", (512,)),
    ("layer4.0.downsample.1.running_var", (512,)),
)

# MedicalNet segmentation head (ConvTranspose3d, BN, Conv3d, BN, Conv3d): not part of the
# embedding network, dropped on load and reported
MEDICALNET_HEAD = (
    ("conv_seg.0.weight", (512, 32, 2, 2, 2)),
    ("conv_seg.0.bias", (32,)),
    ("conv_seg.1.weight", (32,)),
    ("conv_seg.3.weight", (32, 32, 3, 3, 3)),
    ("conv_seg.6.weight", (2, 32, 1, 1, 1)),
)


def _random_state(layout, seed: int) -> dict:
    """Tensors of the given layout with plausible values (positive running variances)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, shape in layout:
        if name.endswith("running_var"):
            t = 0.5 + torch.rand(shape, generator=g)
        elif name.endswith("running_mean") or name.endswith("bias"):
            t = 0.1 * torch.randn(shape, generator=g)
        elif len(shape) == 1:  # batch-norm weight
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        else:
            fan_in = 1
            for s in shape[1:]:
                fan_in *= s
            t = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
        state[name] = t
    return state


@pytest.fixture(scope="module")
def tv_state():
    """Random tensors in torchvision's ResNet-18 layout (copy the dict before editing it)."""
    return _random_state(TORCHVISION_RESNET18, 0)


def test_literal_layout_has_the_published_parameter_count():
    # torchvision documents 11,689,512 parameters for resnet18 (running stats excluded)
    n = 0
    for name, shape in TORCHVISION_RESNET18:
        if not name.endswith(("running_mean", "running_var")):
            size = 1
            for s in shape:
                size *= s
            n += size
    assert len(TORCHVISION_RESNET18) == 102
    assert n == 11_689_512


@pytest.mark.parametrize(
    ("model", "published"),
    [("resnet18", 11_689_512), ("resnet34", 21_797_672), ("resnet50", 25_557_032)],
)
def test_2d_parameter_counts_match_torchvision(model, published):
    net = build_resnet(model, spatial_dims=2, num_classes=1000)
    assert sum(p.numel() for p in net.parameters()) == published


def test_torchvision_layout_loads_strictly_and_drops_the_classifier(tv_state):
    state = dict(tv_state)
    net, report = load_backbone("resnet18", state, spatial_dims=2, source="tv.pth")
    assert net.fc is None
    assert report.classifier_classes == 1000
    assert report.n_tensors == 102
    assert not report.stripped_prefix
    # every loaded tensor sits in the network under the torchvision name
    sd = net.state_dict()
    for name, shape in TORCHVISION_RESNET18:
        if name.startswith("fc."):
            assert name not in sd
            continue
        assert tuple(sd[name].shape) == shape
        assert torch.equal(sd[name], state[name])
    out = net(torch.zeros(2, 3, 64, 64))
    assert out.shape == (2, 512)


def test_torchvision_layout_with_batch_counters_loads(tv_state):
    state = dict(tv_state)
    for name in list(state):
        if name.endswith("running_var"):
            state[name.replace("running_var", "num_batches_tracked")] = torch.tensor(7)
    _, report = load_backbone("resnet18", state, spatial_dims=2, source="tv.pth")
    assert report.filled == ()


def test_missing_key_is_named(tv_state):
    state = dict(tv_state)
    del state["layer3.1.bn2.running_var"]
    with pytest.raises(
        CheckpointMismatchError, match=r"missing keys \[layer3\.1\.bn2\.running_var\]"
    ):
        load_backbone("resnet18", state, spatial_dims=2, source="tv.pth")


def test_extra_key_and_wrong_shape_are_named(tv_state):
    state = dict(tv_state)
    state["layer5.0.conv1.weight"] = torch.zeros(1)
    with pytest.raises(
        CheckpointMismatchError, match=r"unexpected keys \[layer5\.0\.conv1\.weight\]"
    ):
        load_backbone("resnet18", state, spatial_dims=2, source="tv.pth")
    state = dict(tv_state)
    state["layer1.0.conv1.weight"] = torch.zeros(64, 64, 5, 5)
    with pytest.raises(
        CheckpointMismatchError, match=r"layer1\.0\.conv1\.weight: file \(64, 64, 5, 5\)"
    ):
        load_backbone("resnet18", state, spatial_dims=2, source="tv.pth")


def test_resnet18_file_into_resnet34_names_the_missing_blocks(tv_state):
    state = dict(tv_state)
    with pytest.raises(
        CheckpointMismatchError, match=r"missing keys \[layer1\.2\.bn1\.bias.*number of blocks"
    ):
        load_backbone("resnet34", state, spatial_dims=2, source="tv.pth")


def test_medicalnet_checkpoint_with_module_prefix_loads():
    backbone = _random_state(MEDICALNET_RESNET10, 2)
    head = _random_state(MEDICALNET_HEAD, 3)
    ckpt = {"state_dict": {"module." + k: v for k, v in {**backbone, **head}.items()}}
    state = unwrap_checkpoint(ckpt, source="resnet_10.pth")
    net, report = load_backbone("resnet10", state, spatial_dims=3, source="resnet_10.pth")
    assert report.stripped_prefix
    assert report.ignored == tuple(sorted(k for k, _ in MEDICALNET_HEAD))
    assert report.classifier_classes is None
    sd = net.state_dict()
    for name, shape in MEDICALNET_RESNET10:
        assert tuple(sd[name].shape) == shape
        assert torch.equal(sd[name], backbone[name])
    assert net(torch.zeros(1, 1, 32, 32, 32)).shape == (1, 512)


def test_medicalnet_checkpoint_missing_key_is_named():
    state = {"module." + k: v for k, v in _random_state(MEDICALNET_RESNET10, 2).items()}
    del state["module.layer4.0.downsample.0.weight"]
    with pytest.raises(
        CheckpointMismatchError, match=r"missing keys \[layer4\.0\.downsample\.0\.weight\]"
    ):
        load_backbone("resnet10", state, spatial_dims=3, source="resnet_10.pth")


def test_medicalnet_resnet18_uses_parameter_free_shortcuts():
    # MedicalNet's ResNet-18/34 checkpoints hold no downsample tensors ("A" shortcuts)
    names = build_resnet("resnet18", spatial_dims=3).state_dict()
    assert not [k for k in names if "downsample" in k]
    state = {"module." + k: v for k, v in _random_state(MEDICALNET_RESNET10, 2).items()}
    with pytest.raises(CheckpointMismatchError, match="shortcut"):
        load_backbone("resnet18", state, spatial_dims=3, source="resnet_10.pth")


def test_not_a_state_dict():
    with pytest.raises(CheckpointMismatchError, match="not a state dict"):
        unwrap_checkpoint([1, 2], source="x.pth")
    with pytest.raises(CheckpointMismatchError, match="not tensors: \\[epoch\\]"):
        unwrap_checkpoint({"epoch": 3, "conv1.weight": torch.zeros(1)}, source="x.pth")


# ---- independent forward pass -------------------------------------------------------


def _bn(x, s, p):
    return F.batch_norm(
        x,
        s[p + ".running_mean"],
        s[p + ".running_var"],
        s[p + ".weight"],
        s[p + ".bias"],
        training=False,
        eps=1e-5,
    )


def _basic_block(x, s, p, stride, conv, shortcut, dilation=1):
    out = conv(x, s[p + ".conv1.weight"], stride=stride, padding=dilation, dilation=dilation)
    out = F.relu(_bn(out, s, p + ".bn1"))
    out = conv(out, s[p + ".conv2.weight"], stride=1, padding=dilation, dilation=dilation)
    out = _bn(out, s, p + ".bn2")
    if p + ".downsample.0.weight" in s:  # "B": 1x1 convolution with stride + batch norm
        identity = _bn(
            conv(x, s[p + ".downsample.0.weight"], stride=stride), s, p + ".downsample.1"
        )
    elif shortcut == "A" and (stride != 1 or out.shape[1] != x.shape[1]):
        # "A": subsample by the stride, pad the new channels with zeros
        sub = x[(slice(None), slice(None)) + (slice(None, None, stride),) * (x.dim() - 2)]
        pad = torch.zeros((x.shape[0], out.shape[1] - x.shape[1], *sub.shape[2:]), dtype=x.dtype)
        identity = torch.cat([sub, pad], dim=1)
    else:
        identity = x
    return F.relu(out + identity)


def _reference_stages(x, s, blocks, dims, shortcut="B"):
    """torchvision's ResNet in 2D; MedicalNet's in 3D (Chen, Ma & Zheng 2019,
    ``models/resnet.py``: layer3 and layer4 with stride 1 and dilation 2 and 4)."""
    conv = F.conv2d if dims == 2 else F.conv3d
    stage_stride = {1: 1, 2: 2, 3: 2, 4: 2} if dims == 2 else {1: 1, 2: 2, 3: 1, 4: 1}
    stage_dilation = {1: 1, 2: 1, 3: 1, 4: 1} if dims == 2 else {1: 1, 2: 1, 3: 2, 4: 4}
    pool = F.max_pool2d if dims == 2 else F.max_pool3d
    out = {}
    y = conv(x, s["conv1.weight"], stride=2, padding=3)
    y = F.relu(_bn(y, s, "bn1"))
    y = pool(y, kernel_size=3, stride=2, padding=1)
    out["stem"] = y
    for stage in range(1, 5):
        for b in range(blocks[stage - 1]):
            stride = stage_stride[stage] if b == 0 else 1
            y = _basic_block(
                y, s, f"layer{stage}.{b}", stride, conv, shortcut, stage_dilation[stage]
            )
        out[f"layer{stage}"] = y
    out["pool"] = y.mean(dim=tuple(range(2, y.dim())))
    return out


def _network_stages(net, x):
    seen = {}
    hooks = [
        getattr(net, name).register_forward_hook(
            lambda _m, _i, o, name=name: seen.__setitem__(name, o.clone())
        )
        for name in ("maxpool", "layer1", "layer2", "layer3", "layer4")
    ]
    try:
        seen["pool"] = net(x)
    finally:
        for h in hooks:
            h.remove()
    seen["stem"] = seen.pop("maxpool")
    return seen


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_resnet18_forward_equals_functional_reference_at_every_stage(dtype, tv_state):
    state = dict(tv_state)
    net, _ = load_backbone("resnet18", state, spatial_dims=2, source="tv.pth")
    net = net.to(dtype)
    ref_state = {k: v.to(dtype) for k, v in state.items()}
    x = torch.randn(2, 3, 64, 48, generator=torch.Generator().manual_seed(5), dtype=dtype)
    with torch.inference_mode():
        got = _network_stages(net, x)
        ref = _reference_stages(x, ref_state, (2, 2, 2, 2), dims=2)
    expected_shapes = {
        "stem": (2, 64, 16, 12),
        "layer1": (2, 64, 16, 12),
        "layer2": (2, 128, 8, 6),
        "layer3": (2, 256, 4, 3),
        "layer4": (2, 512, 2, 2),
        "pool": (2, 512),
    }
    tol = {torch.float64: 1e-10, torch.float32: 1e-4}[dtype]
    for name, shape in expected_shapes.items():
        assert tuple(ref[name].shape) == shape
        scale = ref[name].abs().max()
        assert scale > 0
        err = (got[name] - ref[name]).abs().max() / scale
        assert err < tol, (name, float(err))


def test_medicalnet_resnet10_forward_equals_functional_reference():
    state = _random_state(MEDICALNET_RESNET10, 6)
    net, _ = load_backbone("resnet10", state, spatial_dims=3, source="mn.pth")
    net = net.double()
    ref_state = {k: v.double() for k, v in state.items()}
    x = torch.randn(
        1, 1, 32, 40, 36, generator=torch.Generator().manual_seed(7), dtype=torch.float64
    )
    with torch.inference_mode():
        got = _network_stages(net, x)
        ref = _reference_stages(x, ref_state, (1, 1, 1, 1), dims=3)
    for name in ("stem", "layer1", "layer2", "layer3", "layer4", "pool"):
        err = (got[name] - ref[name]).abs().max() / ref[name].abs().max()
        assert err < 1e-10, (name, float(err))


def test_resnet18_3d_shortcut_a_forward_equals_functional_reference():
    torch.manual_seed(8)
    net = build_resnet("resnet18", spatial_dims=3).double()
    for m in net.modules():  # non-trivial batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm3d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    x = torch.randn(
        1, 1, 32, 32, 32, generator=torch.Generator().manual_seed(9), dtype=torch.float64
    )
    with torch.inference_mode():
        got = _network_stages(net, x)
        ref = _reference_stages(x, state, (2, 2, 2, 2), dims=3, shortcut="A")
    for name in ("stem", "layer1", "layer2", "layer3", "layer4", "pool"):
        err = (got[name] - ref[name]).abs().max() / ref[name].abs().max()
        assert err < 1e-10, (name, float(err))
