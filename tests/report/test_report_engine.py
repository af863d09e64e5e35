"""The report of a document written by the analysis engine (radiomix.analysis.engine):
a binary outcome validated by nested CV and training / internal / external, and a survival
outcome. Every number shown equals metrics.json; the ROC legends are the curves' areas."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_checks import metric_problems, parse_report

from radiomix.report import write_report

pytestmark = pytest.mark.slow


def _cohort(n: int = 45, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"P{i:03d}" for i in range(n)]
    y = np.zeros(n, dtype=int)
    y[: n * 2 // 5] = 1
    rng.shuffle(y)
    rad = rng.normal(size=(n, 6))
    rad[:, 0] += 1.5 * y
    feats = pd.DataFrame({"patient_id": ids, "lesion_id": "1",
                          "centre": [("A", "B", "C")[i % 3] for i in range(n)],
                          **{f"ct.original.stat.f{i:02d}": rad[:, i] for i in range(6)},
                          "ct.original.morph.volume_mesh": np.exp(rng.normal(10, 1, n))})
    clinical = pd.DataFrame({
        "patient_id": ids, "outcome": np.where(y == 1, "yes", "no"),
        "age": (55 + 8 * rng.normal(size=n)).round(0).astype(int).astype(str),
        "sex": rng.choice(["F", "M"], n),
        "fu_days": rng.integers(200, 3000, n).astype(str),
        "event": rng.choice(["0", "1"], n),
    })
    return feats, clinical


def test_engine_document_renders(tmp_path: Path) -> None:
    from radiomix.analysis.data import build_table
    from radiomix.analysis.engine import run_analysis
    from radiomix.analysis.spec import analysis_from_dict

    feats, clin = _cohort()
    spec = analysis_from_dict({
        "outcomes": [{"name": "y", "kind": "binary", "column": "outcome", "positive": "yes"},
                     {"name": "t", "kind": "survival", "time": "fu_days", "event": "event",
                      "time_unit": "days", "horizons_years": [1.0]}],
        "roles": {"group": "patient_id", "lesion": "lesion_id", "centre": "centre",
                  "covariates": ["age", {"name": "sex", "kind": "categorical"}]},
        "arms": [{"name": "radiomics", "blocks": ["radiomic"], "model": "logistic"}],
        "validation": {"outer_splits": 3, "inner_splits": 2, "repeats": 1, "bootstrap": 50,
                       "schemes": ["nested_cv", "training_internal_external"],
                       "test_centres": ["C"]},
    })
    table = build_table(feats, spec, clinical=clin)
    run_analysis(spec, table, tmp_path, save_models=False)
    html = write_report(tmp_path).read_text(encoding="utf-8")
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    analysis = json.loads((tmp_path / "analysis.json").read_text(encoding="utf-8"))
    parsed = parse_report(html)
    assert len(parsed.metrics) > 100
    assert metric_problems(parsed.metrics, metrics) == []
    assert parsed.stray == []
    # every ROC figure's legend is the area of the document's curve
    legends = re.findall(r'data-figure="roc" data-outcome="(\d+)" data-validation="(\d+)" '
                         r'data-legend="([^"]+)"', html)
    assert legends
    for oi, vi, raw in legends:
        legend = json.loads(raw.replace("&#34;", '"').replace("&quot;", '"'))
        curves = analysis["outcomes"][int(oi)]["validation"][int(vi)]["curves"]["roc"]
        for key, text in legend.items():
            area = float(np.trapezoid(curves[key]["tpr"], curves[key]["fpr"]))
            assert text == f"AUC {area:.2f}"
    assert 'id="outcome-0-combined"' in html
    assert 'data-figure="km"' in html
