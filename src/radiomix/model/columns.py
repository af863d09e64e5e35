"""Feature-table column names and the blocks they belong to.

Feature columns are named ``<tag>.<filter>.<family>.<feature>[.<aggregation>]``
(``ct.original.glcm.contrast.3d_merged``, ``ct.deep.resnet18_2p5d.f000``); identifiers
(``patient_id``, ``lesion_id``) and clinical covariates (``age``, ``grade``) are plain names
without dots. The modelling layer groups columns into three *blocks*:

``radiomic``
    a feature name whose filter field is not ``deep``;
``deep``
    a feature name whose filter field is ``deep`` (deep CNN embeddings);
``clinical``
    every other column (no feature-name structure).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Literal, TypeAlias

from radiomix.errors import InputError

Block: TypeAlias = Literal["radiomic", "deep", "clinical"]
BLOCKS: tuple[Block, ...] = ("radiomic", "deep", "clinical")
ID_COLUMNS: tuple[str, ...] = ("patient_id", "lesion_id")

_FIELD = r"[A-Za-z0-9_\-]+"
_FEATURE_RE = re.compile(rf"^({_FIELD})\.({_FIELD})\.({_FIELD})\.({_FIELD})(?:\.({_FIELD}))?$")


@dataclass(frozen=True, slots=True)
class FeatureName:
    """The fields of one feature column name.

    Examples
    --------
    >>> FeatureName.parse("ct.original.glcm.contrast.3d_merged").family
    'glcm'
    >>> FeatureName.parse("ct.deep.resnet18_2p5d.f000").block
    'deep'
    >>> FeatureName.parse("age") is None
    True
    """

    tag: str
    filter: str
    family: str
    feature: str
    aggregation: str | None

    @classmethod
    def parse(cls, name: str) -> FeatureName | None:
        """Split ``name`` into its fields; ``None`` when it is not a feature column name."""
        return _parse(str(name))

    @property
    def block(self) -> Block:
        """``deep`` when the filter field is ``deep``, else ``radiomic``."""
        return "deep" if self.filter == "deep" else "radiomic"


@lru_cache(maxsize=1 << 16)
def _parse(name: str) -> FeatureName | None:
    # cached: the model steps parse the same column names in every fold (immutable result)
    m = _FEATURE_RE.match(name)
    return None if m is None else FeatureName(*m.groups())


def column_block(name: str) -> Block:
    """Block of one column: ``radiomic``, ``deep`` or ``clinical`` (see the module docs).

    Examples
    --------
    >>> [column_block(c) for c in ("ct.original.stat.mean", "ct.deep.resnet18.f001", "age")]
    ['radiomic', 'deep', 'clinical']
    """
    parsed = FeatureName.parse(name)
    return "clinical" if parsed is None else parsed.block


def is_feature_column(name: str) -> bool:
    """True when ``name`` follows ``<tag>.<filter>.<family>.<feature>[.<aggregation>]``."""
    return FeatureName.parse(name) is not None


def split_blocks(columns: Iterable[str]) -> dict[Block, list[str]]:
    """Columns grouped by block, each list in the input order.

    Examples
    --------
    >>> split_blocks(["age", "ct.original.stat.mean", "ct.deep.r18.f000"])
    {'radiomic': ['ct.original.stat.mean'], 'deep': ['ct.deep.r18.f000'], 'clinical': ['age']}
    """
    out: dict[Block, list[str]] = {b: [] for b in BLOCKS}
    for c in columns:
        out[column_block(c)].append(c)
    return out


def select_columns(columns: Sequence[str], patterns: Iterable[str]) -> list[str]:
    """Columns matching any of ``patterns``, in table order.

    A pattern is an exact column name, a shell-style wildcard (``ct.original.glcm.*``) or one
    of the block names ``radiomic``, ``deep``, ``clinical`` (all columns of that block,
    identifiers excluded).

    Raises
    ------
    InputError
        When a pattern matches no column (with the closest names as a hint).
    """
    cols = [str(c) for c in columns]
    chosen: set[str] = set()
    for pat in patterns:
        pat = pat.strip()
        if not pat:
            continue
        if pat in BLOCKS:
            hits = [c for c in cols if column_block(c) == pat and c not in ID_COLUMNS]
        elif pat in cols:
            hits = [pat]
        else:
            hits = [c for c in cols if fnmatchcase(c, pat)]
        if not hits:
            import difflib

            close = difflib.get_close_matches(pat, cols, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InputError(
                f"column pattern {pat!r} matches no column of the table ({len(cols)} columns)"
                + hint
            )
        chosen.update(hits)
    return [c for c in cols if c in chosen]
