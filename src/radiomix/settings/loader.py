"""Load settings from dicts and YAML files, strictly.

Every key is checked against the dataclass fields; an unknown key raises
:class:`~radiomix.errors.SettingsError` naming the nearest valid key. Lists become tuples so
that settings stay hashable and frozen.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import re
import types
import typing
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, overload

import yaml

from radiomix.errors import SettingsError
from radiomix.settings.filters import IBSI2_PRESETS
from radiomix.settings.steps import (
    METHOD_PARAMETER,
    DiscretisationSettings,
    ExtractionSettings,
)

T = TypeVar("T")

PRESETS: tuple[str, ...] = (
    "ibsi-digital",
    "ibsi-A",
    "ibsi-B",
    "ibsi-C",
    "ibsi-D",
    "ibsi-E",
    *IBSI2_PRESETS,
)
"""Names of the packaged presets (IBSI 1 reference configurations; IBSI 2 phases 2 and 3)."""


def _convert(value: Any, hint: Any, where: str) -> Any:
    """Convert a YAML value to the annotated field type (dataclasses, tuples)."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, dict):
            raise SettingsError(f"{where} must be a mapping, got {type(value).__name__}")
        return settings_from_dict(value, cls=hint, _where=where)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        errors: list[SettingsError] = []
        for arg in typing.get_args(hint):
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, where)
            except SettingsError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        kinds = " or ".join(_kind(a) for a in typing.get_args(hint) if a is not type(None))
        raise SettingsError(f"{where} must be {kinds} (or null); got {_shown(value)}")
    if origin is tuple and not isinstance(value, list | tuple | str):  # text: dataclass says
        raise SettingsError(f"{where} must be a list, e.g. [1, 2]; got {_shown(value)}")
    if origin is tuple and isinstance(value, str):
        _refuse_text_for_items(value, hint, where)
    if origin is tuple and isinstance(value, list | tuple):
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], _item(where, i, v)) for i, v in enumerate(value))
        if len(args) != len(value):
            raise SettingsError(f"{where} needs {len(args)} values, got {len(value)}: {value!r}")
        for i, (v, a) in enumerate(zip(value, args, strict=True)):
            if v is None and type(None) not in typing.get_args(a):
                raise SettingsError(_null_item(where, i, value))
        return tuple(_convert(v, a, where) for v, a in zip(value, args, strict=True))
    if hint is float:
        if isinstance(value, str) and (spelt := _yaml_number_text(value)):
            raise SettingsError(
                f"{where} must be a number; got the text {value!r}: YAML reads a number in "
                f"exponent form without a decimal point as text; write {spelt}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(f"{where} must be a number; got {_shown(value)}")
        if not math.isfinite(value):
            raise SettingsError(_non_finite(value, where))
        return float(value)
    if hint is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{where} must be an integer; got {_shown(value)}")
    if hint is bool and not isinstance(value, bool):
        raise SettingsError(f"{where} must be true or false; got {_shown(value)}")
    if hint is str and not isinstance(value, str):
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # a code written unquoted (event_value: 2, a centre 3)
        if isinstance(value, bool):
            # YAML reads yes/no, on/off and true/false unquoted as booleans: the word the
            # user wrote is gone, so name the spellings it may have had
            spelt = "'yes', 'on' or 'true'" if value else "'no', 'off' or 'false'"
            raise SettingsError(
                f"{where} must be text; got {_shown(value)}: YAML reads an unquoted {spelt} "
                f"as a boolean; quote the value exactly as the table writes it (e.g. "
                f"{where.rsplit('.', 1)[-1]}: \"{'yes' if value else 'no'}\")"
            )
        raise SettingsError(
            f"{where} must be text; got {_shown(value)} (quote it in YAML: '{value}')"
        )
    return value  # Literal choices are checked by each dataclass (with hints)


_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+\-]*$")
"""Text that YAML reads as itself in a flow list (other text is quoted in an example)."""


def text_as_list(text: str) -> str:
    """``text`` written as a YAML list, for a message: ``'Low,Intermediate,High'`` ->
    ``[Low, Intermediate, High]``, ``'ct.*'`` -> ``['ct.*']``.

    Examples
    --------
    >>> text_as_list("4, 2,1")
    '[4, 2, 1]'
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        return "[name1, name2]"
    return "[" + ", ".join(p if _PLAIN.match(p) else repr(p) for p in parts) + "]"


def _refuse_text_for_items(value: str, hint: Any, where: str) -> None:
    """Refuse text where a list of numbers or of mappings is expected (it would be read
    letter by letter); a list of names is left to its dataclass, whose message fits the
    key (``features.families``)."""
    args = typing.get_args(hint)
    if len(args) != 2 or args[1] is not Ellipsis or args[0] is str:
        return
    if dataclasses.is_dataclass(args[0]):
        raise SettingsError(f"{where} must be a list of mappings (one '- key: value' entry "
                            f"each); got the text {value!r}")
    raise SettingsError(f"{where} must be a list of numbers, e.g. {text_as_list(value)}; got "
                        f"the text {value!r}")


def stale_method_parameters(base: Mapping[str, Any], over: Mapping[str, Any]) -> list[str]:
    """Keys of a step ``base`` to drop when ``over`` changes its ``method``: the old
    method's parameters that ``over`` does not give itself (a preset's ``bin_width`` under
    an override to ``method: fbn``), which the settings would otherwise refuse as given
    beside the new method."""
    if "method" not in over or over["method"] == base.get("method"):
        return []
    return [k for k in METHOD_PARAMETER.values() if k in base and k not in over]


def _yaml_number_text(text: str) -> str | None:
    """The YAML spelling of a number that PyYAML (YAML 1.1) left as text, or None:
    ``1e-9`` -> ``1.0e-9`` (its exponent form needs a decimal point and a signed exponent)."""
    m = re.fullmatch(r"\s*([-+]?)(\d+)(?:\.(\d*))?[eE]([-+]?)(\d+)\s*", text)
    if m is None:
        return None
    sign, whole, frac, esign, exp = m.groups()
    return f"{sign}{whole}.{frac or '0'}e{esign or '+'}{exp}"


def _nested_names(hints: dict[str, Any], names: list[str]) -> dict[str, list[str]]:
    """Keys of the settings mappings one level down, each with its dotted paths
    (``bin_width`` -> ``discretisation.bin_width``, ``ivh.bin_width``), for a key written
    one level too high."""
    paths: dict[str, list[str]] = {}
    for name in names:
        hint = hints[name]
        inner = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        for cls in inner:
            if dataclasses.is_dataclass(cls) and isinstance(cls, type):
                for f in dataclasses.fields(cls):
                    paths.setdefault(f.name, []).append(f"{name}.{f.name}")
    return paths


def _null_item(where: str, index: int, value: Any) -> str:
    """Why ``null`` at a position of a fixed-length list that needs a value is refused.

    Examples
    --------
    >>> _null_item("interpolation.spacing", 1, [2, None, 2]).split(":")[0]
    'interpolation.spacing[1] is null in [2, None, 2]'
    """
    fix = ("give every in-plane spacing in mm, or write spacing: null (no list) for no "
           "interpolation (a null z only with dimensionality 2d)"
           if where.endswith("interpolation.spacing") else "give a number there")
    return f"{where}[{index}] is null in {list(value)!r}: {fix}"


def _item(where: str, index: int, value: Any) -> str:
    """Where an item of a list setting sits: its ``name`` when it has one (an outcome, an
    arm), else its position from 0, e.g. ``analysis.outcomes[lung_mets]``."""
    name = value.get("name") if isinstance(value, dict) else None
    return f"{where}[{name if isinstance(name, str) and name else index}]"


def _non_finite(value: float, where: str) -> str:
    """Why a NaN or infinite number is refused, and what to write instead.

    No setting has a meaning for NaN, and none needs infinity: an open bound or an unset
    value is written ``null`` where the setting allows it (``resegmentation.range: [null,
    400]``), which every later step understands, where an infinite bound would, for
    example, put the first bin of a fixed bin size discretisation at minus infinity.
    """
    word = "NaN (not a number)" if math.isnan(value) else f"{value} (infinite)"
    if where == "range" or where.endswith(".range"):
        return (
            f"{where} bounds must be finite numbers; got {word}: give a number, or null for "
            "an open bound"
        )
    return (
        f"{where} must be a finite number; got {word}: give a number (or null where the "
        "setting may be unset)"
    )


def _kind(hint: Any) -> str:
    """A type hint in words, for messages."""
    if hint is float:
        return "a number"
    if hint is int:
        return "an integer"
    if hint is bool:
        return "true/false"
    if hint is str:
        return "text"
    origin = typing.get_origin(hint)
    if origin is tuple:
        return "a list"
    if origin is typing.Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(hint))
    if origin is dict or (dataclasses.is_dataclass(hint) and isinstance(hint, type)):
        return "a mapping"
    return getattr(hint, "__name__", str(hint))


def _shown(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


@overload
def settings_from_dict(
    data: dict[str, Any], *, cls: None = None, _where: str = ""
) -> ExtractionSettings: ...


@overload
def settings_from_dict(data: dict[str, Any], *, cls: type[T], _where: str = "") -> T: ...


def settings_from_dict(
    data: dict[str, Any], *, cls: type[Any] | None = None, _where: str = ""
) -> Any:
    """Build a settings dataclass from a (nested) mapping, rejecting unknown keys.

    Parameters
    ----------
    data : dict
        Mapping as read from YAML; nested mappings fill nested settings.
    cls : type, optional
        Settings dataclass to build (default :class:`ExtractionSettings`).

    Returns
    -------
    settings : cls
        The frozen, validated settings.

    Raises
    ------
    SettingsError
        Unknown key (with the nearest valid key), wrong type or out-of-range value.

    Examples
    --------
    >>> s = settings_from_dict({"discretisation": {"method": "fbs", "bin_width": 25}})
    >>> s.discretisation.bin_width
    25.0
    >>> settings_from_dict({"discretisaton": {}})
    Traceback (most recent call last):
    ...
    radiomix.errors.SettingsError: unknown setting 'discretisaton'; did you mean ...
    """
    if not isinstance(data, dict):
        raise SettingsError(f"settings{(' ' + _where) if _where else ''} must be a mapping")
    cls = ExtractionSettings if cls is None else cls
    assert dataclasses.is_dataclass(cls)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{_where}.{key}" if _where else str(key)
        if key not in names:
            near = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
            nested = _nested_names(hints, names)
            deeper = ([] if near else
                      difflib.get_close_matches(str(key), list(nested), n=1, cutoff=0.75))
            hint = (f"did you mean {near[0]!r}? " if near else
                    f"did you mean {' or '.join(map(repr, nested[deeper[0]]))} (a key one "
                    "level down)? " if deeper else "")
            raise SettingsError(
                f"unknown setting {full!r}; {hint}valid keys here: {', '.join(names)}"
            )
        kwargs[key] = _convert(value, hints[key], full)
    _refuse_null_bins(cls, data, _where)
    required = [f.name for f in dataclasses.fields(cls)
                if f.init and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING and f.name not in kwargs]
    if required:
        raise SettingsError(
            f"{_where or 'the settings'} lack{'s' if len(required) == 1 else ''} the required "
            f"key{'s' if len(required) > 1 else ''} {', '.join(map(repr, required))}; valid "
            f"keys here: {', '.join(names)}")
    try:
        return cls(**kwargs)
    except TypeError as exc:  # wrong value type reaching a comparison in __post_init__
        raise SettingsError(
            f"invalid settings{(' for ' + _where) if _where else ''}: {exc}"
        ) from exc
    except SettingsError as exc:
        # a check that names its field bare ("modality 'CTT' ...": "tags.ct.modality"),
        # and one that names the path of this level from its
        # last key ("discretisation.bins ..." under response_maps.discretisation), get the
        # whole path; one that names its whole path is kept
        message = str(exc)
        if _where and message.split(" ", 1)[0] in names:
            raise SettingsError(f"{_where}.{message}") from None
        last = _where.rsplit(".", 1)[-1]
        if last != _where and re.match(rf"{re.escape(last)}\.\w", message):
            raise SettingsError(
                re.sub(rf"(?<![\w.]){re.escape(last)}\.(?=\w)", f"{_where}.", message)
            ) from None
        raise


def _refuse_null_bins(cls: type[Any], data: dict[str, Any], where: str) -> None:
    """Refuse ``bins: null`` for fixed bin number discretisation: left out, ``bins`` is 32;
    written null, it would become 32 without a word, while ``bin_width: null`` under fbs is
    refused. (A mapping written from settings holds ``bins: null`` under fbs and none:
    there it is unset, and accepted.)"""
    if cls is not DiscretisationSettings or "bins" not in data or data["bins"] is not None:
        return
    if data.get("method", "fbn") == "fbn":
        step = where or "discretisation"
        raise SettingsError(
            f"{step}.bins is null; give the number of bins of fbn (e.g. bins: 32), or leave "
            "the key out for the default 32")


def load_settings_file(path: str | Path) -> ExtractionSettings:
    """Read extraction settings from a YAML (or JSON) file, strictly (see
    :func:`settings_from_dict`)."""
    data = read_settings_yaml(path)
    if data == {}:
        raise SettingsError(
            f"settings file {Path(path).name} holds no settings (it is empty or only "
            "comments); write at least one key (e.g. 'discretisation: {method: fbs, "
            "bin_width: 25}'), or drop --config to run the defaults"
        )
    if not isinstance(data, dict):
        shown = "empty" if data is None else f"a {type(data).__name__}"
        raise SettingsError(
            f"settings file {Path(path).name} must hold a mapping of settings (key: value "
            f"lines, e.g. 'discretisation: {{method: fbs, bin_width: 25}}'); it is {shown}"
        )
    return settings_from_dict(data)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader refusing a key given twice in one mapping (YAML keeps the last
    silently: a setting written twice would quietly lose one of its values)."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):  # "? [a]": a list or mapping as a key
            kind = "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"
            raise yaml.constructor.ConstructorError(
                None, None, f"a key is a {kind}; keys must be names (key: value)",
                key_node.start_mark)
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice (lines {seen[key] + 1} and "
                f"{key_node.start_mark.line + 1}); keep one", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _int_or_code(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """An unquoted integer, or the text as written when YAML 1.1 would change it: a code
    with leading zeros (``010``, read as the octal 8) or sexagesimal (``1:30``, read as
    90) is a centre, lesion or status code, kept as text."""
    text = str(node.value)
    if re.fullmatch(r"[-+]?0[0-9_]+|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+", text):
        return text
    return loader.construct_yaml_int(node)


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _int_or_code)


def safe_load_unique(text: str) -> Any:
    """``yaml.safe_load`` that refuses a key given twice in one mapping
    (:class:`yaml.constructor.ConstructorError`, a :class:`yaml.YAMLError`)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass


def read_settings_yaml(path: str | Path) -> Any:
    """Parse a settings YAML file, with one-line errors for every way it can be unreadable.

    Raises
    ------
    SettingsError
        Not found (with a preset hint when the name is one), a folder, not UTF-8 text,
        unreadable, or not valid YAML (line and column given).
    """
    path = Path(path)
    if path.is_dir():
        raise SettingsError(f"settings path {path} is a folder; pass a YAML settings file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        near = difflib.get_close_matches(str(path).lower(), [p.lower() for p in PRESETS], n=1)
        hint = ""
        if near:
            preset = next(p for p in PRESETS if p.lower() == near[0])
            hint = f"; did you mean the preset {preset!r} (--preset {preset})?"
        raise SettingsError(f"settings file not found: {path}{hint}") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"settings file {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at "
            f"position {exc.start}); save it as UTF-8 YAML"
        ) from None
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc.strerror or exc}") from None
    try:
        data = safe_load_unique(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SettingsError(f"settings file {path} is not valid YAML{where}: {problem}") from None
    return {} if data is None else data


def load_preset(name: str) -> ExtractionSettings:
    """Load a packaged preset by name (``ibsi-digital``, ``ibsi-A`` … ``ibsi-E``).

    Examples
    --------
    >>> load_preset("ibsi-C").interpolation.spacing
    (2.0, 2.0, 2.0)
    """
    if name not in PRESETS:
        lowered = {p.lower(): p for p in PRESETS}
        near = difflib.get_close_matches(name.lower(), list(lowered), n=1)
        hint = f"; did you mean {lowered[near[0]]!r}?" if near else ""
        raise SettingsError(f"unknown preset {name!r}{hint} Available: {', '.join(PRESETS)}")
    text = resources.files("radiomix.settings").joinpath(f"presets/{name}.yaml").read_text("utf-8")
    return settings_from_dict(yaml.safe_load(text))


_CANONICAL: dict[int, tuple[Any, str, str]] = {}
"""``id(settings)`` -> (the settings object, its JSON form, its hash): a cohort or a
benchmark extracts case after case with one settings object, whose ``dataclasses.asdict``
walk (about 1 ms) is then taken once. Keyed by identity and holding the object, so an
entry is only ever used for that very object. Only :class:`ExtractionSettings` are kept:
frozen dataclasses whose fields are frozen dataclasses, tuples and scalars all the way
down, so the cached form cannot go stale."""
_CANONICAL_MAX = 64


def _canonical(settings: Any) -> tuple[str, str]:
    """(JSON form, hash) of frozen settings, from :data:`_CANONICAL` when cached."""
    hit = _CANONICAL.get(id(settings))
    if hit is not None and hit[0] is settings:
        return hit[1], hit[2]
    plain = dataclasses.asdict(settings)
    text = json.dumps(plain)
    blob = json.dumps(plain, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(blob.encode()).hexdigest()[:16]
    if isinstance(settings, ExtractionSettings):  # frozen, and so is every field
        if len(_CANONICAL) >= _CANONICAL_MAX:
            _CANONICAL.pop(next(iter(_CANONICAL)))
        _CANONICAL[id(settings)] = (settings, text, digest)
    return text, digest


def settings_to_dict(settings: Any) -> dict[str, Any]:
    """Settings as a plain JSON-compatible dict (tuples become lists); a new dict each call."""
    return json.loads(_canonical(settings)[0])


def settings_hash(settings: Any) -> str:
    """Stable SHA-256 (first 16 hex digits) of the canonical JSON form of the settings."""
    return _canonical(settings)[1]
