"""MONAI imported lean in the processes radiomix starts itself.

``import monai`` imports every MONAI subpackage (its ``__init__`` walks the whole package),
and with them every optional package MONAI finds installed: matplotlib, pandas,
scikit-image, scikit-learn, ``scipy.signal`` and ``scipy.stats``, pydicom, tifffile and
more, 2.1 s of CPU on top of torch (MONAI 1.6, the 2-core benchmark machine), paid by every
process that computes deep features. The ResNet backbones of :mod:`radiomix.deep.networks`
use none of them, and MONAI supports an install without them: each is an
``optional_import`` that becomes a stub raising ``OptionalImportError`` only when used.

Where :data:`LEAN_ENV` is ``"1"`` (the ``radiomix`` command sets it for itself and the
processes it starts, and the fork server a cohort starts ahead of its first cases has it,
also from the Python API), :func:`import_lean` imports MONAI as that minimal install would,
with the packages of :data:`OPTIONAL` not yet imported refused to MONAI's import: 0.6 s
instead of 2.1. The refusal is confined to the importing thread and to the time of the
import (another thread importing pandas meanwhile gets pandas), and everything else imports
those packages as usual afterwards; only MONAI's own optional features that need them are
unavailable in that process, and radiomix uses none.
Elsewhere (a user's own interpreter or notebook, where MONAI may be used for more than
radiomix's networks) MONAI is imported whole, as ``import monai`` does.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

LEAN_ENV = "RADIOMIX_LEAN_MONAI"
"""Environment variable: ``"1"`` imports MONAI lean in this process (:func:`import_lean`)."""

OPTIONAL: tuple[str, ...] = (
    "matplotlib", "pandas", "skimage", "sklearn", "scipy.signal", "scipy.stats",
    "scipy.optimize", "scipy.sparse", "PIL", "nibabel", "pydicom", "tifffile", "jpeg_ls",
    "narwhals", "psutil", "cloudpickle", "joblib", "filelock",
)  # fmt: skip
"""Packages MONAI imports through ``optional_import`` at ``import monai`` that its ResNet
does not use (together 1.5 s of the 2.1 s of CPU that MONAI costs on top of torch and the
extraction stack; those already imported are given to MONAI as they are)."""

NETWORKS_MODULE = "monai.networks.nets.resnet"
"""The MONAI module radiomix's networks come from."""


class _Refused(importlib.abc.MetaPathFinder):
    """Finder that refuses ``names`` (and their submodules) to one thread."""

    def __init__(self, names: Sequence[str], thread: int) -> None:
        self.names = tuple(names)
        self.thread = thread

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if threading.get_ident() == self.thread and any(
            fullname == n or fullname.startswith(n + ".") for n in self.names
        ):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None  # another thread, another module: the usual finders


def lean_wanted() -> bool:
    """Whether this process imports MONAI lean (:data:`LEAN_ENV` is ``"1"``)."""
    return os.environ.get(LEAN_ENV) == "1"


def import_lean(module: str = NETWORKS_MODULE, *, refuse: Sequence[str] = OPTIONAL) -> bool:
    """Import ``module`` of MONAI with the packages of ``refuse`` absent, where wanted.

    Nothing is done (``False``) when :func:`lean_wanted` is false or MONAI is already
    imported (then ``import monai`` has happened, or happens next, whole). If the lean
    import fails (a future MONAI that needs one of the packages), MONAI's partly imported
    modules are removed and ``False`` is returned: the caller's own import then imports
    MONAI whole.

    Returns
    -------
    bool
        Whether MONAI is now imported lean.
    """
    if not lean_wanted() or "monai" in sys.modules:
        return False
    absent = [n for n in refuse if n not in sys.modules]
    finder = _Refused(absent, threading.get_ident())
    sys.meta_path.insert(0, finder)
    try:
        importlib.import_module(module)
    except Exception as exc:  # any failure: MONAI is imported whole by the caller
        for name in [m for m in sys.modules if m == "monai" or m.startswith("monai.")]:
            del sys.modules[name]
        log.debug("MONAI could not be imported lean (%s: %s); importing it whole",
                  type(exc).__name__, exc)  # fmt: skip
        return False
    finally:
        sys.meta_path.remove(finder)
    return True


def lean_environment() -> contextlib.AbstractContextManager[None]:
    """Context in which processes started get :data:`LEAN_ENV` = ``"1"`` (unless it is
    set already): for a process radiomix starts and owns, such as a cohort's fork server."""
    from radiomix._environ import environment_defaults

    return environment_defaults({LEAN_ENV: "1"})
