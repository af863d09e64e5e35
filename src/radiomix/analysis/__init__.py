"""One analysis engine for every study: outcomes, column roles, arms as data, validation.

A study file's ``analysis:`` section (:mod:`radiomix.analysis.spec`) or the flags of
``radiomix model`` (:mod:`radiomix.analysis.adhoc`) give an :class:`AnalysisSettings`;
:func:`build_table` turns the feature and clinical tables into typed, role-checked model
inputs; :func:`run_analysis` evaluates every arm under every declared scheme and writes the
results document (``docs/analysis-schema.md``) that :func:`radiomix.report.write_report`
draws. :func:`analyse_study` does all of it from a study file.
"""

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
