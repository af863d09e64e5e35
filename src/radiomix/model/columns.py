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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Literal, TypeAlias

from radiomix.errors import InputError, SettingsError

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


DEEP_COUNTS: frozenset[str] = frozenset({"n_slices"})
"""Fields of the deep columns the embedding writes beside its values (``slices`` mode: the
number of ROI slices embedded). A count of slices measures the tumour's extent, not its
appearance, so it is never part of the deep block: a "deep" arm would partly be a volume
arm."""


def is_deep_count(name: str) -> bool:
    """Whether ``name`` is a deep column of :data:`DEEP_COUNTS`, no embedding value.

    Examples
    --------
    >>> is_deep_count("ct.deep.resnet18_slices.n_slices")
    True
    >>> is_deep_count("ct.deep.resnet18_slices.f007.mean"), is_deep_count("age")
    (False, False)
    """
    parsed = FeatureName.parse(name)
    return parsed is not None and parsed.block == "deep" and parsed.feature in DEEP_COUNTS


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


def select_columns(columns: Sequence[str], patterns: Iterable[str], *,
                   refused: Mapping[str, str] | None = None,
                   unsuggested: Iterable[str] = ()) -> list[str]:
    """Columns matching any of ``patterns``, in table order.

    A pattern is an exact column name, a shell-style wildcard (``ct.original.glcm.*``) or one
    of the block names ``radiomic``, ``deep``, ``clinical`` (all columns of that block,
    identifiers excluded).

    Parameters
    ----------
    columns : sequence of str
        The columns a pattern may choose.
    patterns : iterable of str
    refused : mapping of str to str, optional
        Columns of the table that can never be chosen (outcome, time, event, derived,
        identifier columns), each with what it is (``"an outcome column (the --target)"``):
        a pattern that names one, or a wildcard that matches nothing else, is refused with
        it.
    unsuggested : iterable of str
        Columns never proposed as "did you mean" (likely derived from an outcome).

    Raises
    ------
    SettingsError
        A pattern names a refused column (or matches only refused columns).
    InputError
        A pattern matches no column (with the closest names as a hint).

    Examples
    --------
    >>> select_columns(["ct.original.stat.mean", "age"], ["ct.*"])
    ['ct.original.stat.mean']
    >>> select_columns(["age"], ["y"], refused={"y": "an outcome column (the --target)"})
    Traceback (most recent call last):
    ...
    radiomix.errors.SettingsError: y is an outcome column (the --target) and cannot be a ...
    """
    cols = [str(c) for c in columns]
    refused = dict(refused or {})
    hidden = set(unsuggested) | set(refused)
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
            blocked = [c for c in refused if c == pat or fnmatchcase(c, pat)]
            if blocked == [pat]:
                raise SettingsError(f"{pat} is {refused[pat]} and cannot be a model input; "
                                    "remove it from --columns")
            if blocked:
                what = "; ".join(f"{c} is {refused[c]}" for c in blocked)
                raise SettingsError(f"column pattern {pat!r} matches only columns that cannot "
                                    f"be model inputs ({what}); remove it from --columns")
            import difflib

            close = difflib.get_close_matches(pat, [c for c in cols if c not in hidden], n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InputError(
                f"column pattern {pat!r} matches no column of the table ({len(cols)} columns)"
                + hint
            )
        chosen.update(hits)
    return [c for c in cols if c in chosen]
