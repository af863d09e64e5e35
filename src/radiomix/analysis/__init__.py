"""One analysis engine for every study: outcomes, column roles, arms as data, validation.

A study file's ``analysis:`` section (:mod:`radiomix.analysis.spec`) or the flags of
``radiomix model`` (:mod:`radiomix.analysis.adhoc`) give an :class:`AnalysisSettings`;
:func:`build_table` turns the feature and clinical tables into typed, role-checked model
inputs; :func:`run_analysis` evaluates every arm under every declared scheme and writes the
results document (``docs/analysis-schema.md``) that :func:`radiomix.report.write_report`
draws. :func:`analyse_study` does all of it from a study file.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from radiomix.analysis.adhoc import adhoc_spec, run_adhoc
    from radiomix.analysis.data import AnalysisTable, build_table, read_any
    from radiomix.analysis.engine import AnalysisProgress, run_analysis
    from radiomix.analysis.spec import (
        AnalysisSettings,
        Arm,
        Covariate,
        Outcome,
        Roles,
        Validation,
        analysis_from_dict,
    )
    from radiomix.analysis.study import StudyProgress, analyse_study

_HOME = {
    "adhoc_spec": "adhoc", "run_adhoc": "adhoc",
    "AnalysisTable": "data", "build_table": "data", "read_any": "data",
    "AnalysisProgress": "engine", "run_analysis": "engine",
    "AnalysisSettings": "spec", "Arm": "spec", "Covariate": "spec", "Outcome": "spec",
    "Roles": "spec", "Validation": "spec", "analysis_from_dict": "spec",
    "StudyProgress": "study", "analyse_study": "study",
}
"""Public name -> its module: imported on first use (PEP 562), so that reading a study
file's ``analysis:`` section (:mod:`radiomix.analysis.spec`) does not import the engine and
scikit-learn (an extraction run only parses it)."""


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'radiomix.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"radiomix.analysis.{_HOME[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "AnalysisProgress",
    "AnalysisSettings",
    "AnalysisTable",
    "Arm",
    "Covariate",
    "Outcome",
    "Roles",
    "StudyProgress",
    "Validation",
    "adhoc_spec",
    "analyse_study",
    "analysis_from_dict",
    "build_table",
    "read_any",
    "run_adhoc",
    "run_analysis",
]
