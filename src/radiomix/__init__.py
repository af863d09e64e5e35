"""radiomix: IBSI-conformant radiomic features and leakage-free imaging biomarker models.

The small public API is importable from the top level and loaded on first use, so that
``import radiomix`` stays fast (no numpy, pandas, torch or dask at import):

- :func:`radiomix.extract`: features of one image and mask (paths, SimpleITK images or
  numpy arrays) as a one-row :class:`pandas.DataFrame`;
- :func:`radiomix.extract_many`: a table of cases (image, mask, label, roi_name, case_id);
- :func:`radiomix.load_settings`: a preset, file or mapping, with overrides;
- :func:`radiomix.features`: the feature registry as a table.

Examples
--------
>>> import radiomix
>>> radiomix.__version__
'0.1.0'
>>> radiomix.load_settings("ibsi-C").discretisation.bin_width
25.0
>>> radiomix.features().shape[1]
8
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "BatchProgress",
    "__version__",
    "extract",
    "extract_many",
    "features",
    "load_settings",
]

if TYPE_CHECKING:
    from radiomix.api import BatchProgress, extract, extract_many, load_settings

_LAZY = frozenset({"BatchProgress", "extract", "extract_many", "features", "load_settings"})


def __getattr__(name: str) -> Any:
    """Load the public API (:mod:`radiomix.api`) on first access (PEP 562).

    ``radiomix.features`` is the feature package, made callable: ``radiomix.features()``
    returns the registry as a DataFrame (:func:`radiomix.api.features`).
    """
    if name == "features":
        import importlib

        return importlib.import_module("radiomix.features")
    if name in _LAZY:
        from radiomix import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'radiomix' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
