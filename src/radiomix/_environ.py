"""Environment variables for the processes radiomix starts, set only where unset."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def environment_defaults(values: Mapping[str, str]) -> Iterator[None]:
    """Context in which ``os.environ`` holds ``values`` for every variable the caller has
    not set itself (a process started inside inherits them); those added are removed on
    exit, and a variable the caller set keeps the caller's value."""
    added = [key for key in values if key not in os.environ]
    for key in added:
        os.environ[key] = values[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)
