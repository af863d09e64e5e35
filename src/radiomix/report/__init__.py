"""Reports: a self-contained HTML report and ``metrics.json`` for a study's results.

- :func:`write_report` — ``report.html`` + ``metrics.json`` from a results folder
  (:mod:`radiomix.report.html`);
- :mod:`radiomix.report.figures` — matplotlib (Agg) figures as PNG bytes;
- :mod:`radiomix.report.curves` — ROC bands and calibration tables behind the figures;
- :mod:`radiomix.report.checklist` — the CLEAR / METRICS checklist items.

matplotlib and jinja2 are imported only when a report is written.
"""

from radiomix.report.html import build_metrics, read_analysis, write_report

__all__ = ["build_metrics", "read_analysis", "write_report"]
