"""Deep features: CNN embeddings of a lesion as table rows.

An embedding is the global-average-pooled output of the last stage of a ResNet whose
classifier is removed (512 values for ResNet-10/18/34, 2048 for ResNet-50), computed on
tumour-centred crops (:mod:`radiomix.deep.inputs`). Columns are named
``<tag>.deep.<model>_<mode>.fNNN`` (``ct.deep.resnet18_2p5d.f000``; the mode ``2.5d`` is
written ``2p5d``), so they join the radiomic columns of the same lesion.

Rows: one per ROI slice for ``mode="slices"`` (carrying the ids and ``slice_index``, the
study's design; :func:`aggregate_slices` turns them into one row per lesion), one per
lesion for ``max_slice``, ``2.5d`` and ``3d``.

Inference is deterministic on CPU: evaluation mode, ``torch.inference_mode``, a fixed
number of threads (restored afterwards) and seeded random initialisation; the same inputs
and settings give bit-identical vectors. It runs in float32 by default, within a stated
relative tolerance (1e-5, L2 per vector) of float64, which is kept for bit-exact
reproduction (``precision="float64"``; see :class:`DeepSettings`). The network runs
``batch_size`` images at a time: the slices of a lesion, or the lesions of a cohort with
:meth:`DeepEmbedder.embed_batch`. Embeddings are float64 arrays in both precisions.

torch is imported only when an embedder is built, never by ``import radiomix`` or
``import radiomix.deep``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from radiomix.deep.inputs import Intensity, Mode, sample_lesion, to_network_input
from radiomix.deep.settings import SLICE_STATS, DeepSettings
from radiomix.errors import InputError, WeightsError
from radiomix.types import BoolArray, FloatArray, Spacing

if TYPE_CHECKING:
    import pandas as pd

    from radiomix.deep.weights import WeightsSource

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

SLICE_INDEX = "slice_index"
_COLUMN = re.compile(r"^(?P<prefix>[A-Za-z0-9_]+\.deep\.[A-Za-z0-9_]+)\.f(?P<i>\d+)$")


def deep_provenance(settings: DeepSettings) -> dict[str, Any]:
    """Provenance of an embedding: settings, arithmetic, weights source and hash, versions.

    ``settings`` holds ``precision``, and ``arithmetic`` says what that runs. Resolves
    (and checks the hash of) the weight file without building the network.
    ``random_weights`` is True for untrained networks.
    """
    from radiomix.deep.weights import resolve_weights

    source = resolve_weights(
        settings.weights,
        model=settings.model,
        spatial_dims=settings.spatial_dims,
        download=settings.download,
    )
    return _provenance(settings, source.to_dict(), None)


def _provenance(
    settings: DeepSettings, weights: dict[str, Any], load: dict[str, Any] | None
) -> dict[str, Any]:
    from importlib import metadata

    versions = {}
    for name in ("torch", "monai"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    arch = (
        f"{settings.model} 2D, torchvision layout (MONAI ResNet)"
        if settings.spatial_dims == 2
        else f"{settings.model} 3D, MedicalNet network: layer3/layer4 stride 1, dilation 2/4 "
        "(MONAI ResNet)"
    )
    arithmetic = (
        "float64, torch native kernels, batch norm unfolded"
        if settings.precision == "float64"
        else "float32, batch norm folded into the convolutions, channels-last (oneDNN)"
    )
    recorded = settings.to_dict()
    if recorded["weights"] not in ("imagenet", "medicalnet", "random"):
        # a file's name only (its folder may name a person or differ between machines):
        # the SHA-256 identifies its content
        recorded["weights"] = os.path.basename(recorded["weights"])
    return {
        "settings": recorded,
        "architecture": arch,
        "arithmetic": arithmetic,
        "embedding_dim": settings.embedding_dim,
        **weights,
        "checkpoint_load": load,
        "versions": versions,
    }


def _load_network(settings: DeepSettings) -> tuple[WeightsSource, Any, dict[str, Any] | None]:
    """The weights source, the backbone with its weights (before
    :func:`~radiomix.deep.networks.for_inference`) and the checkpoint-load report (``None``
    for random weights)."""
    from radiomix.deep import networks
    from radiomix.deep.weights import read_state_dict, resolve_weights

    source = resolve_weights(
        settings.weights,
        model=settings.model,
        spatial_dims=settings.spatial_dims,
        download=settings.download,
    )
    if source.kind == "random":
        net = networks.random_backbone(
            settings.model, spatial_dims=settings.spatial_dims, seed=settings.seed
        )
        return source, net, None
    state = read_state_dict(source)  # refuses NaN or infinite tensors
    assert source.path is not None
    net, report = networks.load_backbone(
        settings.model, state, spatial_dims=settings.spatial_dims, source=source.path.name
    )
    return source, net, report.to_dict()


def check_weights(settings: DeepSettings) -> WeightsSource:
    """Check the weights of ``settings`` as an embedding would read them, once, before a
    cohort computes any case: the file is found (downloaded when allowed and missing), its
    hash checked, its tensors read, all finite and loaded strictly into the network.

    Returns
    -------
    WeightsSource
        Where the weights come from.

    Raises
    ------
    WeightsError
        The first problem, in the words :class:`DeepEmbedder` would fail every case with.
    DependencyError
        torch or MONAI is not installed.

    Examples
    --------
    >>> check_weights(DeepSettings(mode="2.5d", weights="random")).kind
    'random'
    """
    from radiomix.deep.weights import WeightsSource

    if settings.weights == "random":  # nothing to read
        return WeightsSource("random", "random", None, None, None, "not-applicable")
    try:
        import torch  # noqa: F401

        import radiomix.deep.networks  # noqa: F401  (MONAI, lean where wanted)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from radiomix.errors import DependencyError

        raise DependencyError(
            f"deep features need torch and MONAI ({exc}); install radiomix[deep]"
        ) from exc
    return _load_network(settings)[0]


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class DeepEmbedder:
    """A loaded embedding network with its input settings; reuse it across a cohort.

    Parameters
    ----------
    settings : DeepSettings
        Model, mode, weights and input handling.

    Raises
    ------
    DependencyError
        torch or MONAI is not installed (``pip install radiomix[deep]``).
    WeightsError
        Weights not found, wrong hash, or a checkpoint that does not match the network
        (see :mod:`radiomix.deep.weights`, :func:`radiomix.deep.networks.load_backbone`).

    Examples
    --------
    >>> import numpy as np
    >>> emb = DeepEmbedder(DeepSettings(mode="2.5d", weights="random", input_size=32))
    >>> image = np.zeros((8, 8, 8)); mask = np.zeros((8, 8, 8), bool); mask[3:5, 3:5, 3:5] = True
    >>> row = emb.embed_arrays(image, mask, (1.0, 1.0, 1.0), ids={"patient_id": "P1"}, tag="ct")
    >>> row.shape, list(row.columns[:2])
    ((1, 513), ['patient_id', 'ct.deep.resnet18_2p5d.f000'])
    >>> emb.provenance["random_weights"]
    True
    """

    def __init__(self, settings: DeepSettings) -> None:
        try:
            import torch

            from radiomix.deep import networks
        except ImportError as exc:  # pragma: no cover - depends on the environment
            from radiomix.errors import DependencyError

            raise DependencyError(
                f"deep features need torch and MONAI ({exc}); install radiomix[deep]"
            ) from exc
        self.settings = settings
        dims = settings.spatial_dims
        source, self._net, load = _load_network(settings)
        if source.kind == "random":
            log.warning(
                "deep features from an UNTRAINED %s (random weights, seed %d): flagged in the "
                "provenance",
                settings.model,
                settings.seed,
            )
        self._net = networks.for_inference(self._net, precision=settings.precision)
        self._dtype: type[np.floating[Any]] = (
            np.float64 if settings.precision == "float64" else np.float32
        )
        self._layout: torch.memory_format | None = None  # float32: channels-last inputs
        if settings.precision == "float32":
            self._layout = torch.channels_last if dims == 2 else torch.channels_last_3d
        self._provenance = _provenance(settings, source.to_dict(), load)
        self._weights_name = source.path.name if source.path is not None else "random"

    @property
    def provenance(self) -> dict[str, Any]:
        """Settings, weights source and SHA-256, checkpoint-load report, versions."""
        return dict(self._provenance)

    def forward(self, batch: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float64]:
        """Embeddings of a network-ready batch, computed ``batch_size`` images at a time.

        Parameters
        ----------
        batch : ndarray of float
            ``(N, 3, n, n)`` (2D) or ``(N, 1, n, n, n)`` (3D); cast to the settings'
            precision (and to channels-last memory format for float32).

        Returns
        -------
        (N, D) ndarray of float64
            The network outputs (float32 ones widened exactly).
        """
        import torch

        out = np.empty((batch.shape[0], self.settings.embedding_dim), dtype=np.float64)
        bs = self.settings.batch_size
        with _torch_threads(self.settings.num_threads), torch.inference_mode():
            for start in range(0, batch.shape[0], bs):
                chunk = np.ascontiguousarray(batch[start : start + bs], dtype=self._dtype)
                x = torch.from_numpy(chunk)
                if self._layout is not None:
                    x = x.contiguous(memory_format=self._layout)
                out[start : start + bs] = self._net(x).numpy()
        if not np.isfinite(out).all():
            # finite weights (checked on reading) and finite inputs can still overflow
            raise WeightsError(
                f"the network's output holds {int((~np.isfinite(out)).sum())} NaN or infinite "
                f"values of {out.size}: the weights ({self._weights_name}) overflow on this "
                "input; no deep feature is written for it: use another checkpoint"
            )
        return out

    def inputs(
        self, image: FloatArray, mask: BoolArray, spacing: Spacing
    ) -> tuple[npt.NDArray[np.floating[Any]], list[int] | None]:
        """Network-ready batch of one lesion and the slice index of each image (slice modes)."""
        s = self.settings
        crops, slices = sample_lesion(
            image,
            mask,
            spacing,
            mode=s.mode,
            size=s.size,
            margin_mm=s.margin_mm,
            intensity=s.intensity,
            mask_background=s.mask_background,
        )
        batch = to_network_input(crops, mode=s.mode, intensity=s.intensity, dtype=self._dtype)
        return batch, slices

    def embed_arrays(
        self,
        image: FloatArray,
        mask: BoolArray,
        spacing: Spacing,
        *,
        ids: Mapping[str, Any] | None = None,
        tag: str = "image",
    ) -> pd.DataFrame:
        """Embedding rows of one lesion (see :func:`embed_arrays`)."""
        columns = self._columns(tag, ids)
        batch, slices = self.inputs(image, mask, spacing)
        vectors = self.forward(batch)
        return self._rows(vectors, [slices], [dict(ids or {})], [len(batch)], columns)

    def embed_batch(
        self,
        lesions: Iterable[tuple[FloatArray, BoolArray, Spacing]],
        *,
        ids: Sequence[Mapping[str, Any]] | None = None,
        tag: str = "image",
    ) -> pd.DataFrame:
        """Embedding rows of many lesions, the network run on batches across lesions.

        The inputs of each lesion are sampled in turn and the network runs on
        ``batch_size`` images at a time whatever lesion they come from (one image per
        lesion in ``2.5d``, ``max_slice`` and ``3d``); only the inputs of one batch are
        held beside the lesion being sampled.

        Parameters
        ----------
        lesions : iterable of (image, mask, spacing)
            As for :meth:`embed_arrays`; may be a generator (read lesion by lesion).
        ids : sequence of mapping, optional
            Identifier columns of each lesion, in the same order, all with the same keys.
        tag : str
            Image tag of the column names.

        Returns
        -------
        pandas.DataFrame
            The rows of :meth:`embed_arrays` of each lesion, concatenated in order (index
            0 .. n-1). ``float64``: equal to them. ``float32``: within about 1e-6 relative
            of them, as oneDNN kernels differ between batch shapes (see
            :class:`DeepSettings`); the same lesions in the same order and batch size give
            bit-identical rows.

        Raises
        ------
        InputError
            ``ids`` does not hold one mapping per lesion, or their keys differ; and the
            errors of :meth:`embed_arrays`.
        """
        id_list = [dict(i) for i in ids] if ids is not None else None
        if id_list and any(i.keys() != id_list[0].keys() for i in id_list):
            raise InputError("every lesion's ids must have the same keys")
        columns = self._columns(tag, id_list[0] if id_list else None)
        bs = self.settings.batch_size
        pending: list[npt.NDArray[np.floating[Any]]] = []
        n_pending = 0
        outputs: list[npt.NDArray[np.float64]] = []
        slice_lists: list[list[int] | None] = []
        counts: list[int] = []
        for image, mask, spacing in lesions:
            if id_list is not None and len(counts) >= len(id_list):
                raise InputError(f"more lesions than ids ({len(id_list)})")
            batch, slices = self.inputs(image, mask, spacing)
            slice_lists.append(slices)
            counts.append(len(batch))
            pending.append(batch)
            n_pending += len(batch)
            if n_pending >= bs:  # run the full batches, keep the rest for the next lesion
                stacked = np.concatenate(pending)
                full = n_pending - n_pending % bs
                outputs.append(self.forward(stacked[:full]))
                pending, n_pending = [stacked[full:]], n_pending - full
        if id_list is not None and len(counts) != len(id_list):
            raise InputError(f"{len(id_list)} ids for {len(counts)} lesions")
        if n_pending:
            outputs.append(self.forward(np.concatenate(pending)))
        dim = self.settings.embedding_dim
        vectors = np.concatenate(outputs) if outputs else np.empty((0, dim))
        id_rows = id_list if id_list is not None else [{} for _ in counts]
        return self._rows(vectors, slice_lists, id_rows, counts, columns)

    def _columns(self, tag: str, ids: Mapping[str, Any] | None) -> list[str]:
        columns = self.settings.columns(tag)
        clash = [k for k in (ids or {}) if k in columns or k == SLICE_INDEX]
        if clash:
            raise InputError(f"id columns {clash} clash with embedding columns")
        return columns

    def _rows(
        self,
        vectors: npt.NDArray[np.float64],
        slices: Sequence[list[int] | None],
        ids: Sequence[Mapping[str, Any]],
        counts: Sequence[int],
        columns: list[str],
    ) -> pd.DataFrame:
        """Table of embedding rows: ids (repeated per row), ``slice_index``, features."""
        import pandas as pd

        keys = list(ids[0]) if ids else []
        head: dict[str, Any] = {
            k: [i[k] for i, n in zip(ids, counts, strict=True) for _ in range(n)] for k in keys
        }
        if self.settings.mode == "slices":
            head[SLICE_INDEX] = np.asarray([z for zs in slices for z in zs or []], dtype=np.int64)
        feats = pd.DataFrame(vectors, columns=columns)
        df = pd.concat([pd.DataFrame(head, index=feats.index), feats], axis=1)
        df.attrs["radiomix.deep"] = self.provenance
        return df


def embed_arrays(
    image: FloatArray,
    mask: BoolArray,
    spacing: Spacing,
    *,
    model: str = "resnet18",
    mode: Mode = "slices",
    weights: str | os.PathLike[str] = "imagenet",
    intensity: Intensity = "minmax",
    margin_mm: float = 10.0,
    mask_background: bool = False,
    input_size: int | None = None,
    batch_size: int = 16,
    num_threads: int = 1,
    seed: int = 0,
    download: bool = True,
    precision: Literal["float32", "float64"] = "float32",
    ids: Mapping[str, Any] | None = None,
    tag: str = "image",
) -> pd.DataFrame:
    """Deep-feature rows of one lesion: CNN embeddings of tumour-centred crops.

    Parameters
    ----------
    image : (Z, Y, X) ndarray of float64
        Intensities (HU for CT). Not modified.
    mask : (Z, Y, X) ndarray of bool
        The lesion's ROI on the image grid.
    spacing : tuple of 3 float
        Voxel spacing in mm, (z, y, x).
    model, mode, weights, intensity, margin_mm, mask_background, input_size, batch_size, \
num_threads, seed, download, precision
        See :class:`DeepSettings`.
    ids : mapping, optional
        Identifier columns put first in every row (``{"patient_id": ..., "lesion_id": ...}``).
    tag : str
        Image tag, the first part of the column names (``ct``, ``pet``; ``image`` by default).

    Returns
    -------
    pandas.DataFrame
        ``slices``: one row per axial ROI slice, columns ids, ``slice_index``,
        ``<tag>.deep.<model>_slices.f000`` ...; other modes: one row, ids then features.
        ``df.attrs["radiomix.deep"]`` holds the provenance (:func:`deep_provenance` plus the
        checkpoint-load report).

    Raises
    ------
    SettingsError
        Invalid settings.
    InputError, EmptyRoiError, InvalidIntensityError
        Bad arrays (shape, dtype, empty ROI, NaN).
    WeightsError
        Weights unavailable or not matching (see :class:`DeepEmbedder`).

    Notes
    -----
    Each call builds the network (and reads its weights); for a cohort build one
    :class:`DeepEmbedder` and call its ``embed_arrays``.
    """
    settings = DeepSettings(
        model=model,
        mode=mode,
        weights=os.fspath(weights),
        intensity=intensity,
        margin_mm=margin_mm,
        mask_background=mask_background,
        input_size=input_size,
        batch_size=batch_size,
        num_threads=num_threads,
        seed=seed,
        download=download,
        precision=precision,
    )
    return DeepEmbedder(settings).embed_arrays(image, mask, spacing, ids=ids, tag=tag)


def embed(
    case: Any,
    *,
    embedder: DeepEmbedder,
    ids: Mapping[str, Any] | None = None,
    tag: str = "image",
) -> pd.DataFrame:
    """Deep-feature rows of a checked case (:class:`radiomix.check.CheckedCase`).

    The image and mask volumes are read as (Z, Y, X) arrays (the image as a float64 copy)
    with spacing reversed to (z, y, x); see :func:`embed_arrays` for the rows.
    """
    image = np.array(case.image.array, dtype=np.float64)
    mask = case.mask.array > 0
    return embedder.embed_arrays(image, mask, case.image.spacing_zyx, ids=ids, tag=tag)


def aggregate_slices(
    df: pd.DataFrame,
    *,
    stats: Sequence[str] = SLICE_STATS,
    by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Lesion-level rows from slice embeddings: mean and/or max over slices, with the count.

    Parameters
    ----------
    df : pandas.DataFrame
        Slice rows from :func:`embed_arrays` (``mode="slices"``), possibly concatenated over
        lesions and patients.
    stats : sequence of {"mean", "max"}
        Statistics to compute per embedding dimension.
    by : sequence of str, optional
        Columns identifying a lesion; by default every column that is neither an embedding
        column nor ``slice_index`` (the ids). Without any, the whole table is one lesion.

    Returns
    -------
    pandas.DataFrame
        One row per lesion (in order of first appearance): the ``by`` columns,
        ``<prefix>.n_slices``, then ``<prefix>.fNNN.<stat>`` for each statistic, where
        ``<prefix>`` is ``<tag>.deep.<model>_slices``.

    Raises
    ------
    InputError
        No slice-embedding columns, an unknown statistic or an unknown ``by`` column.
    """
    import pandas as pd

    bad = [s for s in stats if s not in SLICE_STATS]
    if bad or not stats:
        raise InputError(f"stats must be a non-empty subset of {SLICE_STATS}, got {list(stats)}")
    prefixes: dict[str, list[str]] = {}
    for c in df.columns:
        m = _COLUMN.match(str(c))
        if m and m.group("prefix").endswith("_slices"):
            prefixes.setdefault(m.group("prefix"), []).append(str(c))
    if not prefixes:
        raise InputError("no slice-embedding columns (<tag>.deep.<model>_slices.fNNN) in the table")
    feature_cols = [c for cols in prefixes.values() for c in cols]
    if by is None:
        by = [c for c in df.columns if c not in feature_cols and c != SLICE_INDEX]
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise InputError(f"grouping columns {missing} are not in the table")
    by = list(by)
    if by:
        codes = df.groupby(by, sort=False, dropna=False).ngroup().to_numpy()
        first = pd.Series(np.arange(len(df))).groupby(codes, sort=True).min().to_numpy()
    else:
        codes = np.zeros(len(df), dtype=np.int64)
        first = np.array([0]) if len(df) else np.array([], dtype=np.int64)
    n_groups = len(first)
    out: dict[str, Any] = {c: df[c].to_numpy()[first] for c in by}
    for prefix, cols in prefixes.items():
        values = df[cols].to_numpy(dtype=np.float64)
        counts = np.bincount(codes, minlength=n_groups)
        out[f"{prefix}.n_slices"] = counts.astype(np.int64)
        for stat in stats:
            agg = np.empty((n_groups, len(cols)))
            for g in range(n_groups):
                rows = values[codes == g]
                agg[g] = rows.mean(axis=0) if stat == "mean" else rows.max(axis=0)
            for j, c in enumerate(cols):
                out[f"{c}.{stat}"] = agg[:, j]
    return pd.DataFrame(out)
