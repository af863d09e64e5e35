"""The feature registry: every feature written out in code, keyed by IBSI code.

Each feature is a small function registered with :func:`feature`; each family registers
one compute function with :func:`family` that builds the family's shared intermediate
(e.g. the GLCMs of one aggregation) once and evaluates the requested feature functions on
it. The registry drives ``radiomix features``, the column names and the IBSI reference
tests.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from radiomix.errors import InternalError, SettingsError
from radiomix.features.aggregation import Aggregation

if TYPE_CHECKING:
    from radiomix.roi import RoiContext

F = TypeVar("F", bound=Callable[..., Any])

FAMILY_CODES: dict[str, str] = {
    "morph": "HCUG",
    "loc": "9ST6",
    "stat": "UHIW",
    "ih": "ZVCW",
    "ivh": "P88C",
    "glcm": "LFYI",
    "glrlm": "TP0I",
    "glszm": "9SAK",
    "gldzm": "VMDZ",
    "ngtdm": "IPET",
    "ngldm": "REK0",
}
"""Family short name -> IBSI family identifier."""


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """A registered feature.

    Attributes
    ----------
    name : str
        Stable name ``family.feature`` (e.g. ``glcm.joint_max``).
    ibsi : str or None
        IBSI identifier, ``None`` for features IBSI does not define.
    family : str
        Family short name (``glcm``); :data:`FAMILY_CODES` gives the IBSI code.
    func : callable
        The feature function; its argument is whatever its family's compute function
        passes (the ROI context, or the marginals of one texture matrix).
    aggregations : tuple of Aggregation
        Aggregation methods the feature is defined for; empty when it has none.
    requires : tuple of str
        Names of shared intermediates the feature reads (mesh, glcm, ...).
    """

    name: str
    ibsi: str | None
    family: str
    func: Callable[..., Any]
    aggregations: tuple[Aggregation, ...]
    requires: tuple[str, ...]

    @property
    def feature(self) -> str:
        """The feature part of the name (``joint_max``)."""
        return self.name.split(".", 1)[1]

    @property
    def family_code(self) -> str:
        """IBSI family identifier (``LFYI``)."""
        return FAMILY_CODES[self.family]

    @property
    def doc(self) -> str:
        """First line of the feature function's docstring."""
        return (self.func.__doc__ or "").strip().splitlines()[0] if self.func.__doc__ else ""

    def column(self, *, tag: str, filter_name: str, aggregation: Aggregation | None) -> str:
        """Column name ``<tag>.<filter>.<family>.<feature>[.<aggregation>]``."""
        return columns((self,), tag=tag, filter_name=filter_name, aggregation=aggregation)[0]


def columns(
    specs: Sequence[FeatureSpec], *, tag: str, filter_name: str, aggregation: Aggregation | None
) -> list[str]:
    """Column names ``<tag>.<filter>.<family>.<feature>[.<aggregation>]`` of ``specs``."""
    prefix = f"{tag}.{filter_name}."
    suffix = "" if aggregation is None else "." + aggregation.token
    return [prefix + spec.name + suffix for spec in specs]


FamilyCompute = Callable[
    ["RoiContext", "Aggregation | None", Sequence[FeatureSpec]], dict[str, float]
]

_FEATURES: dict[str, FeatureSpec] = {}
_FAMILIES: dict[str, FamilyCompute] = {}
_BY_AGGREGATION: dict[tuple[str, Aggregation | None], tuple[FeatureSpec, ...]] = {}
"""The features of each (family, aggregation), in registration order (the aggregation
``None``: those without aggregations), filled by :func:`aggregation_features` and emptied by
a registration."""
_COLUMNS: dict[tuple[str, Aggregation | None, str, str], tuple[str, ...]] = {}
"""The column names of each (family, aggregation, tag, filter), filled by
:func:`aggregation_columns` and emptied by a registration."""


def feature(
    *,
    name: str,
    ibsi: str | None,
    aggregations: Sequence[Aggregation] = (),
    requires: Sequence[str] = (),
) -> Callable[[F], F]:
    """Register a feature function under ``name`` (``family.feature``) and IBSI code.

    Examples
    --------
    >>> @feature(name="stat.example_only", ibsi=None)  # doctest: +SKIP
    ... def example_only(ctx):
    ...     '''Example feature (no IBSI code).'''
    ...     return 0.0
    """
    family_name, _, feat = name.partition(".")
    if family_name not in FAMILY_CODES or not feat:
        raise InternalError(f"feature name {name!r} must be '<family>.<feature>'")

    def register(func: F) -> F:
        if name in _FEATURES:
            raise InternalError(f"feature {name!r} registered twice")
        _FEATURES[name] = FeatureSpec(
            name=name,
            ibsi=ibsi,
            family=family_name,
            func=func,
            aggregations=tuple(aggregations),
            requires=tuple(requires),
        )
        _BY_AGGREGATION.clear()
        _COLUMNS.clear()
        return func

    return register


def family(name: str) -> Callable[[FamilyCompute], FamilyCompute]:
    """Register the compute function of a family.

    The function receives the ROI context, one aggregation (``None`` for families without
    aggregation) and the feature specs to evaluate, and returns ``{spec.name: value}``.
    """
    if name not in FAMILY_CODES:
        raise InternalError(f"unknown family {name!r}")

    def register(func: FamilyCompute) -> FamilyCompute:
        _FAMILIES[name] = func
        return func

    return register


def evaluate_each(ctx: RoiContext, specs: Sequence[FeatureSpec], arg: Any) -> dict[str, float]:
    """Evaluate each feature function on ``arg`` (the common family compute body)."""
    return {s.name: float(s.func(arg)) for s in specs}


def all_features() -> tuple[FeatureSpec, ...]:
    """Every registered feature, in family order then registration order."""
    _load()
    order = {f: i for i, f in enumerate(FAMILY_CODES)}
    return tuple(sorted(_FEATURES.values(), key=lambda s: order[s.family]))


def aggregation_features(name: str, aggregation: Aggregation | None) -> tuple[FeatureSpec, ...]:
    """The features of family ``name`` defined for ``aggregation`` (``None``: those without
    aggregations), in registration order; empty when there are none."""
    key = (name, aggregation)
    found = _BY_AGGREGATION.get(key)
    if found is None:
        _load()
        found = tuple(s for s in _FEATURES.values() if s.family == name and (
            aggregation in s.aggregations if aggregation is not None else not s.aggregations))
        _BY_AGGREGATION[key] = found
    return found


def aggregation_columns(
    name: str, aggregation: Aggregation | None, *, tag: str, filter_name: str
) -> tuple[str, ...]:
    """The column names of :func:`aggregation_features` ``(name, aggregation)``, in the same
    order (:func:`columns`; built once per family, aggregation, tag and filter)."""
    key = (name, aggregation, tag, filter_name)
    found = _COLUMNS.get(key)
    if found is None:
        found = tuple(columns(aggregation_features(name, aggregation), tag=tag,
                              filter_name=filter_name, aggregation=aggregation))
        _COLUMNS[key] = found
    return found


def family_compute(name: str) -> FamilyCompute:
    """The compute function registered for family ``name``."""
    _load()
    try:
        return _FAMILIES[name]
    except KeyError:
        raise InternalError(f"family {name!r} has no compute function registered") from None


def get_feature(name: str) -> FeatureSpec:
    """Look a feature up by name or IBSI code; unknown names suggest the nearest."""
    _load()
    if name in _FEATURES:
        return _FEATURES[name]
    for spec in _FEATURES.values():
        if spec.ibsi == name:
            return spec
    near = difflib.get_close_matches(name, list(_FEATURES), n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise SettingsError(f"unknown feature {name!r}{hint}")


def _load() -> None:
    # Importing the package imports every family module by name (no scanning).
    import radiomix.features  # noqa: F401
