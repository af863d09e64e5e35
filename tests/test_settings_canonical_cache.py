"""The canonical JSON form and hash of extraction settings, cached per settings object.

The hash is checked against an independent computation on every preset; the cache must
never serve a stale or shared result (fresh dicts, distinct objects, equal content).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from radiomix.settings import PRESETS, load_preset, settings_hash, settings_to_dict
from radiomix.settings.steps import ExtractionSettings


def independent_hash(settings) -> str:
    def plain(v):
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        return v

    blob = json.dumps(plain(settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def immutable(v) -> bool:
    if dataclasses.is_dataclass(v):
        frozen = type(v).__dataclass_params__.frozen
        return frozen and all(immutable(getattr(v, f.name)) for f in dataclasses.fields(v))
    if isinstance(v, tuple):
        return all(immutable(x) for x in v)
    return v is None or isinstance(v, str | int | float | bool)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_hash_and_dict_of_every_preset(name):
    s = load_preset(name)
    assert isinstance(s, ExtractionSettings)
    assert immutable(s), "a mutable field would let the cached form go stale"
    for _ in range(2):  # computed, then from the cache
        assert settings_hash(s) == independent_hash(s)
        assert json.dumps(settings_to_dict(s), sort_keys=True) == json.dumps(
            json.loads(json.dumps(dataclasses.asdict(s))), sort_keys=True
        )


def test_each_call_returns_a_new_dict():
    s = load_preset("ibsi-C")
    d = settings_to_dict(s)
    d["features"] = "changed"
    assert settings_to_dict(s)["features"] != "changed"


def test_other_objects_get_their_own_hash():
    s = load_preset("ibsi-C")
    first = settings_hash(s)
    other = dataclasses.replace(s, features=dataclasses.replace(s.features, families=("stat",)))
    assert settings_hash(other) != first
    assert settings_hash(other) == independent_hash(other)
    assert settings_hash(s) == first
    same = dataclasses.replace(s)  # equal content, another object
    assert same is not s
    assert settings_hash(same) == first
