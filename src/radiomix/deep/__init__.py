"""Deep features: ResNet embeddings (2D ImageNet, 3D MedicalNet) of the tumour.

Public API (none of it imports torch until a network is built):

- :func:`embed_arrays` — rows of one lesion from (Z, Y, X) arrays;
- :class:`DeepEmbedder` — a loaded network reused across a cohort; :func:`embed` for a
  :class:`radiomix.check.CheckedCase`;
- :func:`aggregate_slices` — lesion rows (mean, max, slice count) from slice rows;
- :func:`deep_provenance` — settings, weights source and hash (``random_weights`` flag);
- :func:`check_weights` — the weights read and checked once, before a cohort runs;
- :class:`DeepSettings`, :func:`parse_deep_spec` (``resnet18:2.5d``);
- :class:`DeepLinearHead` — the "ResNet alone" arm: a linear head trained on frozen
  embeddings inside the evaluation folds (imported on first use).
"""

from __future__ import annotations

from radiomix.deep.embed import (
    DeepEmbedder,
    aggregate_slices,
    check_weights,
    deep_provenance,
    embed,
    embed_arrays,
)
from radiomix.deep.errors import CheckpointMismatchError, WeightsError, WeightsNotFoundError
from radiomix.deep.settings import DeepSettings, parse_deep_spec

__all__ = [
    "CheckpointMismatchError",
    "DeepEmbedder",
    "DeepLinearHead",
    "DeepSettings",
    "WeightsError",
    "WeightsNotFoundError",
    "aggregate_slices",
    "check_weights",
    "deep_provenance",
    "embed",
    "embed_arrays",
    "parse_deep_spec",
]


def __getattr__(name: str) -> object:
    # DeepLinearHead pulls in scikit-learn: import it only when asked for.
    if name == "DeepLinearHead":
        from radiomix.deep.head import DeepLinearHead

        return DeepLinearHead
    raise AttributeError(f"module 'radiomix.deep' has no attribute {name!r}")
