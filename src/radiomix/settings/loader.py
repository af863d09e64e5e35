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
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, overload

import yaml

from radiomix.errors import SettingsError
from radiomix.settings.steps import ExtractionSettings

T = TypeVar("T")

PRESETS: tuple[str, ...] = (
    "ibsi-digital",
    "ibsi-A",
    "ibsi-B",
    "ibsi-C",
    "ibsi-D",
    "ibsi-E",
)
"""Names of the packaged presets (IBSI 1 reference configurations)."""


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
        for arg in typing.get_args(hint):
            if arg is type(None):
                continue
            return _convert(value, arg, where)
    if origin is tuple and isinstance(value, list | tuple):
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], where) for v in value)
        if len(args) != len(value):
            raise SettingsError(f"{where} needs {len(args)} values, got {len(value)}: {value!r}")
        return tuple(_convert(v, a, where) for v, a in zip(value, args, strict=True))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


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
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise SettingsError(
                f"unknown setting {full!r}{hint} Valid keys here: {', '.join(names)}"
            )
        kwargs[key] = _convert(value, hints[key], full)
    try:
        return cls(**kwargs)
    except TypeError as exc:  # wrong value type reaching a comparison in __post_init__
        raise SettingsError(
            f"invalid settings{(' for ' + _where) if _where else ''}: {exc}"
        ) from exc


def load_settings_file(path: str | Path) -> ExtractionSettings:
    """Read extraction settings from a YAML (or JSON) file, strictly (see
    :func:`settings_from_dict`)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SettingsError(f"settings file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"settings file {path} is not valid YAML: {exc}") from exc
    return settings_from_dict(data)


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


def settings_to_dict(settings: Any) -> dict[str, Any]:
    """Settings as a plain JSON-compatible dict (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(settings)))


def settings_hash(settings: Any) -> str:
    """Stable SHA-256 (first 16 hex digits) of the canonical JSON form of the settings."""
    blob = json.dumps(settings_to_dict(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
