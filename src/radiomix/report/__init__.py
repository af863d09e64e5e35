"""Reports: a self-contained HTML report (and PDF) of any analysis results document.

- :func:`write_report` — ``report.html`` + ``metrics.json`` (+ ``report.pdf``) from a folder
  holding ``analysis.json`` of schema ``radiomix.analysis/2`` (:mod:`radiomix.report.html`);
- :func:`read_analysis`, :func:`build_metrics` — the document read and checked, and the
  ``metrics.json`` built from it;
- :mod:`radiomix.report.figures` — matplotlib (Agg) figures drawn from the document's
  curves as given, plus QC thumbnails;
- :mod:`radiomix.report.words` — the plain-language readings (one interval rule);
- :mod:`radiomix.report.checklist` — CLEAR, METRICS and TRIPOD+AI items.

The report computes no curve and no statistic (curves come from
:mod:`radiomix.evaluate.curves`). matplotlib and jinja2 are imported only when a report is
written.
"""

from radiomix.report.html import SCHEMA, build_metrics, print_pdf, read_analysis, write_report

__all__ = ["SCHEMA", "build_metrics", "print_pdf", "read_analysis", "write_report"]
