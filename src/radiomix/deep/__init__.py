"""Deep features: ResNet embeddings (2D ImageNet, 3D MedicalNet) of the tumour.

Public API (none of it imports torch until a network is built):

- :func:`embed_arrays` — rows of one lesion from (Z, Y, X) arrays;
- :class:`DeepEmbedder` — a loaded network reused across a cohort; :func:`embed` for a
  :class:`radiomix.check.CheckedCase`;
- :func:`aggregate_slices` — lesion rows (mean, max, slice count) from slice rows;
- :func:`deep_provenance` — settings, weights source and hash (``random_weights`` flag);
- :class:`DeepSettings`, :func:`parse_deep_spec` (``resnet18:2.5d``).
"""

from __future__ import annotations

from radiomix.deep.embed import (
    DeepEmbedder,
    aggregate_slices,
    deep_provenance,
    embed,
    embed_arrays,
)
from radiomix.deep.errors import CheckpointMismatchError, WeightsError, WeightsNotFoundError
from radiomix.deep.settings import DeepSettings, parse_deep_spec

__all__ = [
    "CheckpointMismatchError",
    "DeepEmbedder",
    "DeepSettings",
    "WeightsError",
    "WeightsNotFoundError",
    "aggregate_slices",
    "deep_provenance",
    "embed",
    "embed_arrays",
    "parse_deep_spec",
]
