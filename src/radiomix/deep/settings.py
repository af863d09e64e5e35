"""Settings of a deep-feature embedding (no torch needed).

Frozen, validated at construction; :meth:`DeepSettings.to_dict` goes into the provenance.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from radiomix.deep.inputs import MODES, Intensity, Mode, parse_intensity
from radiomix.errors import SettingsError

SLICE_STATS: tuple[str, ...] = ("mean", "max")
"""Statistics over a lesion's slices of a slice-mode deep embedding, the last field of its
columns ``<tag>.deep.<model>_slices.fNNN.<stat>``
(:func:`radiomix.deep.embed.aggregate_slices`)."""

MODELS_2D: tuple[str, ...] = ("resnet18", "resnet34", "resnet50")
MODELS_3D: tuple[str, ...] = ("resnet10", "resnet18", "resnet34", "resnet50")
MODE_TOKENS: dict[str, str] = {
    "slices": "slices",
    "max_slice": "max_slice",
    "2.5d": "2p5d",
    "3d": "3d",
}
"""Mode as written in column names (no dots)."""
DEFAULT_SIZE: dict[int, int] = {2: 224, 3: 64}
"""Default input size per spatial dimensionality (pixels per side)."""
FLOAT32_TOLERANCE: float = 1e-5
"""Stated bound on the relative L2 difference of a float32 embedding from the float64 one
(see :class:`DeepSettings`, Notes)."""
_TAG = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True, kw_only=True, slots=True)
class DeepSettings:
    """Settings of a deep-feature embedding.

    Parameters
    ----------
    model : str
        ``resnet18``, ``resnet34``, ``resnet50`` (2D modes); also ``resnet10`` in 3D.
    mode : {"slices", "max_slice", "2.5d", "3d"}
        Input kind (see :mod:`radiomix.deep.inputs`).
    weights : str
        ``"imagenet"`` (2D), ``"medicalnet"`` (3D), ``"random"`` or a checkpoint path
        (see :mod:`radiomix.deep.weights`).
    intensity : str or (float, float)
        ``ct_lung``, ``ct_soft_tissue``, ``ct_liver``, ``minmax``, ``zscore`` or a
        ``(level, width)`` window.
    margin_mm : float
        Margin around the tumour's bounding box, in mm (>= 0).
    mask_background : bool
        Set positions outside the ROI to the lowest intensity.
    input_size : int, optional
        Pixels per side of the network input (default 224 in 2D, 64 in 3D; >= 32).
    batch_size : int
        Images per forward pass (>= 1).
    num_threads : int
        torch CPU threads during inference (>= 1); restored afterwards.
    seed : int
        Seed of the random initialisation (``weights="random"``).
    download : bool
        Allow downloading a published weight file missing from the cache.
    precision : {"float32", "float64"}
        Arithmetic of inference (see Notes). ``float32`` (default) is the fast path;
        ``float64`` reproduces earlier float64 embeddings bit for bit.

    Notes
    -----
    **float32** (default): batch norm folded into the convolutions and channels-last
    oneDNN kernels (:func:`radiomix.deep.networks.for_inference`), inputs rounded to
    float32; the embeddings are returned widened (exactly) to float64. Their difference
    from the float64 embeddings, per embedding vector :math:`e`, is

    .. math:: \\max \\lVert e_{32} - e_{64} \\rVert_2 / \\lVert e_{64} \\rVert_2 \\le 10^{-5}

    (:data:`FLOAT32_TOLERANCE`, tested). Measured on STS CT (``ct_soft_tissue``, default
    input sizes; 20 lesions in ``2.5d``, ``max_slice`` and ``3d``, the 271 ROI slices of 8
    lesions in ``slices``; ResNet-18 2D, ResNet-10 3D): at most 3.7e-7 with seeded random
    weights and 1.4e-6 with a weight file whose batch norms hold statistics calibrated on
    the crops (as a trained network's do); no element differed by more than 2.8e-6 of its
    vector's largest element. oneDNN chooses kernels by batch shape, so the same image in
    another batch moves by about 1e-6 relative too.
    **float64**: torch's native kernels on the network as built, batch norm unfolded; the
    vectors do not depend on the batch size (no difference measured between batch sizes 1,
    2 and 16). Measured CPU time per lesion (``benchmarks/bench_deep.py``, one thread, 5
    and 16 STS CT lesions), float64 over float32: ``slices`` 4.0x; ``2.5d`` 2.0-2.1x one
    lesion at a time (one image per pass) and 2.4x (5 lesions) to 3.1x (16 lesions) with
    :meth:`~radiomix.deep.DeepEmbedder.embed_batch`, whose batches help float32 only
    (float64 0.18 s batched against 0.15 s one at a time: 2.5x from best to best).
    Both precisions give bit-identical vectors across runs with the same settings, inputs
    and batch composition on the same machine. Weight files are float32 and are widened
    exactly for ``float64``.
    """

    model: str = "resnet18"
    mode: Mode = "slices"
    weights: str = "imagenet"
    intensity: Intensity = "minmax"
    margin_mm: float = 10.0
    mask_background: bool = False
    input_size: int | None = None
    batch_size: int = 16
    num_threads: int = 1
    seed: int = 0
    download: bool = True
    precision: Literal["float32", "float64"] = "float32"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SettingsError(
                f"unknown deep input mode {self.mode!r}; expected one of {list(MODES)}"
            )
        models = MODELS_3D if self.mode == "3d" else MODELS_2D
        if self.model not in models:
            raise SettingsError(
                f"model {self.model!r} is not available for mode {self.mode!r}; expected one of "
                f"{list(models)}"
            )
        if not isinstance(self.weights, str | os.PathLike):
            raise SettingsError(f"weights must be a keyword or a path, got {self.weights!r}")
        object.__setattr__(self, "weights", os.fspath(self.weights))
        if not isinstance(self.intensity, str):
            object.__setattr__(self, "intensity", tuple(float(v) for v in self.intensity))
        parse_intensity(self.intensity)
        if not (math.isfinite(self.margin_mm) and self.margin_mm >= 0):
            raise SettingsError(f"margin_mm must be a finite number >= 0, got {self.margin_mm}")
        if self.input_size is not None and (
            not isinstance(self.input_size, int) or self.input_size < 32
        ):
            raise SettingsError(f"input_size must be an integer >= 32, got {self.input_size!r}")
        if self.precision not in ("float64", "float32"):
            raise SettingsError(f"precision must be 'float32' or 'float64', got {self.precision!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise SettingsError(f"seed must be an integer >= 0, got {self.seed!r}")
        for name in ("batch_size", "num_threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SettingsError(f"{name} must be an integer >= 1, got {value!r}")

    @property
    def spatial_dims(self) -> int:
        """3 for ``mode="3d"``, else 2."""
        return 3 if self.mode == "3d" else 2

    @property
    def size(self) -> int:
        """Input pixels per side."""
        return self.input_size if self.input_size is not None else DEFAULT_SIZE[self.spatial_dims]

    @property
    def embedding_dim(self) -> int:
        """Length of the embedding (512 or 2048)."""
        return 2048 if self.model == "resnet50" else 512

    def column_prefix(self, tag: str = "image") -> str:
        """``<tag>.deep.<model>_<mode>`` (``ct.deep.resnet18_2p5d``)."""
        _check_tag(tag)
        return f"{tag}.deep.{self.model}_{MODE_TOKENS[self.mode]}"

    def columns(self, tag: str = "image") -> list[str]:
        """Feature column names ``<prefix>.f000`` ... in order."""
        prefix = self.column_prefix(tag)
        return [f"{prefix}.f{i:03d}" for i in range(self.embedding_dim)]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists) for provenance."""
        d = asdict(self)
        if isinstance(d["intensity"], tuple):
            d["intensity"] = list(d["intensity"])
        d["input_size"] = self.size
        return d


def _check_tag(tag: str) -> None:
    if not isinstance(tag, str) or not _TAG.match(tag):
        raise SettingsError(
            f"image tag must be letters, digits and underscores (no dots), got {tag!r}"
        )


def parse_deep_spec(spec: str, *, default_mode: Mode = "slices") -> tuple[str, Mode]:
    """Parse a CLI value ``MODEL[:MODE]`` (``resnet18``, ``resnet18:2.5d``, ``resnet18:2p5d``).

    Returns
    -------
    (model, mode)

    Raises
    ------
    SettingsError
        Unknown model or mode.

    Examples
    --------
    >>> parse_deep_spec("resnet18:2p5d")
    ('resnet18', '2.5d')
    >>> parse_deep_spec("resnet50", default_mode="max_slice")
    ('resnet50', 'max_slice')
    """
    model, _, mode = spec.strip().partition(":")
    mode = mode or default_mode
    by_token = {v: k for k, v in MODE_TOKENS.items()}
    mode = by_token.get(mode, mode)
    if mode not in MODES:
        raise SettingsError(
            f"unknown deep input mode {mode!r} in {spec!r}; expected MODEL[:MODE] with MODE one "
            f"of {list(MODES)}"
        )
    models = MODELS_3D if mode == "3d" else MODELS_2D
    if model not in models:
        raise SettingsError(
            f"unknown deep model {model!r} in {spec!r} for mode {mode!r}; expected one of "
            f"{list(models)}"
        )
    return model, mode  # type: ignore[return-value]
