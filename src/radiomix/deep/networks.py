"""ResNet backbones for deep features: 2D (torchvision layout) and 3D (MedicalNet layout).

Both are MONAI :class:`monai.networks.nets.ResNet` instances configured so that their
parameter names and shapes are those of the published weight files:

- **2D** ResNet-18/34/50 with torchvision's layout: 7×7 stem convolution with stride 2,
  3×3 max-pool, "B" shortcuts (1×1 convolution + batch norm) *without* bias, stride on the
  3×3 convolution of the bottleneck (ResNet v1.5). MONAI's defaults differ (stem stride 1,
  downsample bias), so they are overridden here. The official ImageNet files
  (``resnet18-f37072fd.pth`` ...) load with ``strict=True`` into the full network
  (classifier ``fc`` included); the classifier is then removed.
- **3D** ResNet-10/18/34/50 with MedicalNet's parameter layout *and* forward pass (Chen, Ma
  & Zheng 2019): one input channel, 7×7×7 stem with stride 2, "A" shortcuts (no parameters)
  for depths 18 and 34 and "B" shortcuts without bias for 10 and 50, as the released
  MedicalNet checkpoints hold them; ``layer3`` and ``layer4`` keep the resolution (stride 1)
  and dilate their 3×3×3 convolutions by 2 and 4 (:func:`dilate_like_medicalnet`), where
  MONAI's network, like torchvision's, halves it twice more.

The classifier removed, the network returns the global-average-pooled output of the last
stage: 512 values (basic blocks) or 2048 (bottleneck blocks).

References
----------
.. [1] S. Chen, K. Ma, Y. Zheng, "Med3D: Transfer Learning for 3D Medical Image Analysis",
   arXiv:1904.00625, 2019; reference code github.com/Tencent/MedicalNet,
   ``models/resnet.py``.
.. [2] K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition",
   CVPR 2016 (shortcut options "A" and "B", section 3.3).

This module imports torch and MONAI at import time; nothing outside :mod:`radiomix.deep`
imports it, so ``import radiomix`` stays free of torch. In the processes radiomix starts
itself, MONAI is imported without the optional packages it would load and these networks
never use (:mod:`radiomix._monai`: 0.6 instead of 2.1 s of CPU).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from radiomix._monai import import_lean
from radiomix.deep.settings import MODELS_2D, MODELS_3D
from radiomix.errors import CheckpointMismatchError

import_lean()  # MONAI without its unused optional packages, in processes radiomix runs
from monai.networks.nets.resnet import ResNet  # noqa: E402

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

# depth -> (block, blocks per stage)
_ARCH: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "resnet10": ("basic", (1, 1, 1, 1)),
    "resnet18": ("basic", (2, 2, 2, 2)),
    "resnet34": ("basic", (3, 4, 6, 3)),
    "resnet50": ("bottleneck", (3, 4, 6, 3)),
}
_MEDICALNET_SHORTCUT: dict[str, str] = {
    "resnet10": "B",
    "resnet18": "A",
    "resnet34": "A",
    "resnet50": "B",
}
HEAD_PREFIXES_3D: tuple[str, ...] = ("conv_seg.",)
"""Checkpoint keys of MedicalNet's segmentation head, dropped (and reported) on load."""


def embedding_dim(model: str) -> int:
    """Length of the pooled embedding of ``model`` (512 for basic blocks, 2048 bottleneck)."""
    return 2048 if _ARCH[model][0] == "bottleneck" else 512


def build_resnet(model: str, *, spatial_dims: int, num_classes: int | None = None) -> ResNet:
    """Build an (untrained) ResNet backbone with the published parameter layout.

    Parameters
    ----------
    model : str
        ``resnet18``, ``resnet34`` or ``resnet50`` (2D); also ``resnet10`` in 3D.
    spatial_dims : {2, 3}
        2: torchvision layout, 3 input channels. 3: MedicalNet layout and forward pass
        (dilated ``layer3``/``layer4``, :func:`dilate_like_medicalnet`), 1 input channel.
    num_classes : int, optional
        Size of the classifier ``fc``; ``None`` builds the network without it.

    Returns
    -------
    monai.networks.nets.ResNet
        The network in evaluation mode, initialised by MONAI (Kaiming-normal convolutions,
        unit batch-norm weights) from torch's current random state.

    Raises
    ------
    SettingsError
        Unknown model for this dimensionality.
    """
    from radiomix.errors import SettingsError

    if spatial_dims not in (2, 3):
        raise SettingsError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
    allowed = MODELS_2D if spatial_dims == 2 else MODELS_3D
    if model not in allowed:
        raise SettingsError(
            f"unknown {spatial_dims}D deep model {model!r}; expected one of {list(allowed)}"
        )
    block, layers = _ARCH[model]
    if spatial_dims == 2:
        shortcut, bias_downsample, channels = "B", False, 3
    else:
        shortcut, bias_downsample, channels = _MEDICALNET_SHORTCUT[model], False, 1
    net = ResNet(
        block=block,
        layers=list(layers),
        block_inplanes=[64, 128, 256, 512],
        spatial_dims=spatial_dims,
        n_input_channels=channels,
        conv1_t_size=7,
        conv1_t_stride=2,
        no_max_pool=False,
        shortcut_type=shortcut,
        bias_downsample=bias_downsample,
        num_classes=num_classes if num_classes is not None else 1,
        feed_forward=num_classes is not None,
    )
    if spatial_dims == 3:
        dilate_like_medicalnet(net)
    return net.eval()


MEDICALNET_DILATION: dict[str, int] = {"layer3": 2, "layer4": 4}
"""Dilation of the 3×3×3 convolutions of MedicalNet's last two stages, which run with
stride 1 (``models/resnet.py``: ``_make_layer(..., stride=1, dilation=2)`` and ``dilation=4``)."""


def dilate_like_medicalnet(net: ResNet) -> ResNet:
    """Give a 3D MONAI ResNet MedicalNet's last two stages: stride 1, dilated convolutions.

    MedicalNet (Chen, Ma & Zheng 2019, ``models/resnet.py``) builds ``layer3`` with stride 1
    and dilation 2 and ``layer4`` with stride 1 and dilation 4: in every block of those
    stages each 3×3×3 convolution (``conv1`` and ``conv2`` of a basic block, ``conv2`` of a
    bottleneck) has ``dilation=d, padding=d`` and stride 1, and the shortcut of a stage's
    first block keeps the resolution: "A" is an average pool with kernel 1 and stride 1
    (the identity) followed by zero channels, "B" a 1×1×1 convolution with stride 1 and a
    batch norm. MONAI's :class:`~monai.networks.nets.ResNet` (and torchvision's) instead
    halve the resolution in both stages with stride-2 convolutions and no dilation. The
    parameters are the same (a dilation has none), so the released checkpoints load into
    either, but only this forward pass is MedicalNet's: with the same weights the embedding
    of the MONAI network differs from MedicalNet's by 27 % (relative L2, seeded ResNet-18
    weights on a sarcoma CT crop).

    Parameters
    ----------
    net : monai.networks.nets.ResNet
        A 3D network as :func:`build_resnet` constructs it; changed in place.

    Returns
    -------
    monai.networks.nets.ResNet
        ``net``: with a 64³ input the last stage's output is 8³ (not 2³).

    Raises
    ------
    InternalError
        A block whose convolutions are not those of MONAI's basic or bottleneck block.

    References
    ----------
    .. [1] S. Chen, K. Ma, Y. Zheng, "Med3D: Transfer Learning for 3D Medical Image
       Analysis", arXiv:1904.00625, 2019 (github.com/Tencent/MedicalNet).
    .. [2] F. Yu, V. Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions",
       ICLR 2016 (dilated convolutions keep the resolution and widen the receptive field).
    """
    import functools

    from radiomix.errors import InternalError

    for stage, d in MEDICALNET_DILATION.items():
        for block in getattr(net, stage):
            convs = ["conv2"] if hasattr(block, "conv3") else ["conv1", "conv2"]
            for name in convs:
                conv = getattr(block, name)
                if not isinstance(conv, torch.nn.Conv3d) or conv.kernel_size != (3, 3, 3):
                    raise InternalError(f"{stage}.{name} is not a 3×3×3 convolution: {conv}")
                conv.stride = (1, 1, 1)
                conv.dilation = (d, d, d)
                conv.padding = (d, d, d)
            block.stride = 1
            shortcut = block.downsample
            if isinstance(shortcut, torch.nn.Sequential):  # "B": 1×1×1 convolution + bn
                projection = shortcut[0]
                if not isinstance(projection, torch.nn.Conv3d):
                    raise InternalError(f"{stage} shortcut is not a convolution: {projection}")
                projection.stride = (1, 1, 1)
            elif isinstance(shortcut, functools.partial):  # "A": pool, then zero channels
                block.downsample = functools.partial(
                    shortcut.func, *shortcut.args, **{**shortcut.keywords, "stride": 1}
                )
            elif shortcut is not None:
                raise InternalError(f"unknown shortcut in {stage}: {shortcut!r}")
    return net


@dataclass(frozen=True)
class LoadReport:
    """What a checkpoint load did.

    Attributes
    ----------
    n_tensors : int
        Tensors loaded into the network.
    stripped_prefix : bool
        Whether a ``module.`` prefix (``DataParallel`` checkpoints, MedicalNet) was removed.
    filled : tuple of str
        ``num_batches_tracked`` counters absent from the file and set to 0 (they do not
        take part in inference; torchvision's files predate them).
    ignored : tuple of str
        Keys deliberately dropped: a head that is not part of the embedding network
        (MedicalNet ``conv_seg.*``).
    classifier_classes : int or None
        Size of the classifier found in the file (loaded strictly, then removed).
    """

    n_tensors: int
    stripped_prefix: bool
    filled: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    classifier_classes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for provenance records."""
        return {
            "n_tensors": self.n_tensors,
            "stripped_prefix": self.stripped_prefix,
            "filled": list(self.filled),
            "ignored": list(self.ignored),
            "classifier_classes": self.classifier_classes,
        }


def unwrap_checkpoint(obj: Any, *, source: str) -> dict[str, torch.Tensor]:
    """Return the state dict held by a loaded checkpoint object.

    Accepts a plain mapping of tensors (torchvision) or a mapping with a ``state_dict``
    entry (MedicalNet, Lightning).

    Raises
    ------
    CheckpointMismatchError
        Neither form, or non-tensor values.
    """
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointMismatchError(
            f"{source}: not a state dict (expected a mapping of parameter names to tensors, "
            f"or a mapping with a 'state_dict' entry), got {type(obj).__name__}"
        )
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointMismatchError(f"{source}: entries that are not tensors: {_names(bad)}")
    return {str(k): v for k, v in obj.items()}


def _names(keys: list[str] | set[str], limit: int = 5, *, order: bool = True) -> str:
    """The first ``limit`` names and how many more: a file of another network differs by
    hundreds of keys, and the message must stay one readable line."""
    keys = sorted(keys) if order else list(keys)
    shown = ", ".join(keys[:limit])
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return f"[{shown}]{more}"


def load_backbone(
    model: str,
    state: Mapping[str, torch.Tensor],
    *,
    spatial_dims: int,
    source: str,
) -> tuple[ResNet, LoadReport]:
    """Build ``model`` and load a checkpoint into it strictly; then remove the classifier.

    Parameters
    ----------
    model : str
        Backbone name (see :func:`build_resnet`).
    state : mapping of str to Tensor
        State dict (see :func:`unwrap_checkpoint`). Keys may carry a ``module.`` prefix.
    spatial_dims : {2, 3}
        Layout to build.
    source : str
        File name or description, used in messages.

    Returns
    -------
    net : monai.networks.nets.ResNet
        Network with the loaded weights, in evaluation mode, classifier removed.
    report : LoadReport
        What was stripped, filled or ignored.

    Raises
    ------
    CheckpointMismatchError
        Missing keys, unexpected keys or shape differences; the message names them. Nothing
        is loaded partially.

    Notes
    -----
    A classifier ``fc.weight``/``fc.bias`` present in the file is loaded too (the network is
    built with the file's number of classes, so the load is strict over the whole network)
    and removed afterwards. Absent ``num_batches_tracked`` counters are set to 0. In 3D,
    MedicalNet's segmentation head (``conv_seg.*``) is dropped and reported.
    """
    keys = list(state)
    stripped = any(k.startswith("module.") for k in keys)
    sd = {k.removeprefix("module."): v for k, v in state.items()}
    if len(sd) != len(state):
        raise CheckpointMismatchError(
            f"{source}: keys collide once the 'module.' prefix is removed"
        )
    ignored: list[str] = []
    if spatial_dims == 3:
        ignored = [k for k in sd if k.startswith(HEAD_PREFIXES_3D)]
        for k in ignored:
            del sd[k]
    n_classes: int | None = None
    if "fc.weight" in sd:
        n_classes = int(sd["fc.weight"].shape[0])
    net = build_resnet(model, spatial_dims=spatial_dims, num_classes=n_classes)
    expected = net.state_dict()
    in_file = list(sd)
    filled = [k for k in expected if k.endswith("num_batches_tracked") and k not in sd]
    for k in filled:
        sd[k] = torch.zeros((), dtype=torch.long)
    missing = set(expected) - set(sd)
    unexpected = set(sd) - set(expected)
    wrong_shape = [
        f"{k}: file {tuple(sd[k].shape)} vs network {tuple(expected[k].shape)}"
        for k in expected
        if k in sd and tuple(sd[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or wrong_shape:
        parts = [f"{source} does not match the {spatial_dims}D {model} layout"]
        if missing:
            parts.append(f"missing keys {_names(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_names(unexpected)}")
        if wrong_shape:
            parts.append(f"shape differences {_names(wrong_shape, 3, order=False)}")
        hint = _layout_hint(model, expected, in_file)
        if hint:
            parts.append(hint)
        raise CheckpointMismatchError("; ".join(parts))
    net.load_state_dict(sd, strict=True)
    net.fc = None  # the classifier removed: forward returns the pooled embedding
    net.eval()
    if ignored:
        log.info("%s: ignored head tensors %s", source, _names(ignored))
    report = LoadReport(
        n_tensors=len(sd) - len(filled),
        stripped_prefix=stripped,
        filled=tuple(filled),
        ignored=tuple(sorted(ignored)),
        classifier_classes=n_classes,
    )
    return net, report


_BLOCK = re.compile(r"^(layer\d+)\.(\d+)\.(.+)$")


def _blocks(keys: Iterable[str]) -> dict[tuple[str, int], frozenset[str]]:
    """Residual blocks named by ``keys``: ``(stage, index)`` -> the tensor names inside it
    (batch counters left out: they are filled in when absent)."""
    out: dict[tuple[str, int], set[str]] = {}
    for k in keys:
        m = _BLOCK.match(k)
        if m and not k.endswith("num_batches_tracked"):
            out.setdefault((m.group(1), int(m.group(2))), set()).add(m.group(3))
    return {key: frozenset(names) for key, names in out.items()}


def _per_stage(blocks: Iterable[tuple[str, int]]) -> str:
    """Blocks per stage, ``"2, 2, 2, 2"``."""
    stages = [s for s, _ in blocks]
    return ", ".join(str(stages.count(s)) for s in sorted(set(stages), key=lambda s: int(s[5:])))


def _layout_hint(model: str, expected: Iterable[str], found: Iterable[str]) -> str:
    """Explain a mismatch that has one cause: another depth or another shortcut type.

    Said only where the file's structure differs, not where single tensors do (the message
    names those already): the number of blocks differs when the network has a block of
    which the file holds no tensor, or the file a whole block (every tensor of one of the
    network's blocks) where the network has none; the shortcut type differs when only one
    of the two holds shortcut (``downsample``) tensors; a file without any residual block
    is another network's.
    """
    expected, found = list(expected), list(found)
    net_blocks, file_blocks = _blocks(expected), _blocks(found)
    if not file_blocks:
        return "the file holds no residual block (layer1.0.* ...): it is not a ResNet's checkpoint"
    kinds = set(net_blocks.values())
    whole_missing = any(key not in file_blocks for key in net_blocks)
    whole_extra = any(
        key not in net_blocks and any(kind <= names for kind in kinds)
        for key, names in file_blocks.items()
    )
    hints = []
    if whole_missing or whole_extra:
        hints.append(
            f"the number of blocks differs (the file has {_per_stage(file_blocks)} per stage, "
            f"the {model} {_per_stage(net_blocks)}): is the file really a {model}?"
        )
    net_shortcut = any(".downsample." in k for k in expected)
    file_shortcut = any(".downsample." in k for k in found)
    if file_shortcut and not net_shortcut:
        hints.append(
            "the file has 'B' shortcut (downsample) tensors that this layout lacks: it was "
            "probably saved with another shortcut type or depth"
        )
    elif net_shortcut and not file_shortcut:
        hints.append(
            "the file lacks 'B' shortcut (downsample) tensors: another shortcut type or depth?"
        )
    return "; ".join(hints)


def random_backbone(model: str, *, spatial_dims: int, seed: int) -> ResNet:
    """A backbone with MONAI's random initialisation from ``torch.manual_seed(seed)``.

    The global torch random state is saved and restored around the initialisation.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_resnet(model, spatial_dims=spatial_dims, num_classes=None)
    return net.eval()


def fold_batch_norm(net: ResNet) -> ResNet:
    """Fold every batch norm of a ResNet into the convolution before it (in place).

    In evaluation mode batch norm is the affine map
    :math:`y = \\gamma (x - \\mu) / \\sqrt{\\sigma^2 + \\epsilon} + \\beta` per channel, so the
    pair conv → bn is one convolution with weights scaled by
    :math:`s = \\gamma / \\sqrt{\\sigma^2 + \\epsilon}` and bias :math:`\\beta + s (b - \\mu)`
    (:func:`torch.nn.utils.fusion.fuse_conv_bn_eval`). The function is unchanged; only the
    rounding differs (one pass over each activation map fewer). The folded batch norms are
    replaced by :class:`torch.nn.Identity`, so the module tree and ``forward`` are MONAI's.

    Raises
    ------
    InternalError
        A batch norm that does not follow a convolution of the known layout is left.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    from radiomix.errors import InternalError

    net.eval()
    pairs: list[tuple[torch.nn.Module, str, str]] = [(net, "conv1", "bn1")]
    for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
        for block in layer:
            pairs += [(block, f"conv{i}", f"bn{i}") for i in (1, 2, 3) if hasattr(block, f"bn{i}")]
            if isinstance(block.downsample, torch.nn.Sequential):  # "B": 1x1 conv + bn
                pairs.append((block.downsample, "0", "1"))
    for parent, conv, bn in pairs:
        fused = fuse_conv_bn_eval(getattr(parent, conv), getattr(parent, bn))
        setattr(parent, conv, fused)
        setattr(parent, bn, torch.nn.Identity())
    norms = torch.nn.modules.batchnorm._BatchNorm
    left = [n for n, m in net.named_modules() if isinstance(m, norms)]
    if left:
        raise InternalError(f"batch norms not folded (unknown ResNet layout): {_names(left)}")
    return net


def for_inference(net: ResNet, *, precision: str) -> ResNet:
    """The backbone made ready for inference in ``precision`` (in place).

    ``float64``: parameters widened exactly (``net.double()``); the arithmetic is torch's
    native float64 kernels, layer by layer as built. ``float32``: batch norm folded into the
    convolutions (:func:`fold_batch_norm`) and parameters in channels-last memory format,
    so that oneDNN runs its fastest float32 convolutions; inputs must be channels-last too
    (:func:`radiomix.deep.embed.DeepEmbedder.forward` converts them).
    """
    if precision == "float64":
        return net.double()
    net = fold_batch_norm(net)
    layout = torch.channels_last if _spatial_dims(net) == 2 else torch.channels_last_3d
    return net.to(memory_format=layout)  # type: ignore[call-overload]  # not in the stubs


def _spatial_dims(net: ResNet) -> int:
    return 3 if isinstance(net.conv1, torch.nn.Conv3d) else 2
