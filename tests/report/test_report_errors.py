"""Bad inputs of the report and its figures raise typed errors with clear messages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic import classification_document

from radiomix.errors import DependencyError, EmptyRoiError, InputError
from radiomix.report import write_report
from radiomix.report.figures import largest_slice, png_size, qc_thumbnail


def _write(folder: Path, doc: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "analysis.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def test_missing_analysis(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"analysis\.json not found.*radiomix analyse"):
        write_report(tmp_path)


def test_unreadable_analysis(tmp_path: Path) -> None:
    (tmp_path / "analysis.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not readable JSON"):
        write_report(tmp_path)


def test_other_schema(tmp_path: Path) -> None:
    _write(tmp_path, {"schema": "x/9"})
    with pytest.raises(InputError, match=r"schema 'x/9'; expected 'radiomix\.analysis/2'"):
        write_report(tmp_path)


def test_schema_1_is_refused_with_the_fix(tmp_path: Path) -> None:
    _write(tmp_path, {"schema": "radiomix.analysis/1", "arms": {}})
    with pytest.raises(InputError, match=r"analysis/1.*re-run `radiomix analyse`"):
        write_report(tmp_path)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.pop("outcomes"), r"/outcomes: missing"),
    (lambda d: d["outcomes"][0].update(kind="regression"), r"/outcomes/0/kind: must be"),
    (lambda d: d["outcomes"][0]["arm_order"].append("ghost"), r"/outcomes/0/arm_order"),
    (lambda d: d["outcomes"][0]["validation"][0]["arms"].update(ghost={}),
     r"arm\(s\) \['ghost'\] not declared"),
    # outside tester f (round 21): a metric as text was a bare TypeError (a traceback)
    (lambda d: next(iter(d["outcomes"][0]["validation"][0]["arms"].values()))["metrics"]
     ["roc_auc"].update(estimate="0.65"),
     r"/metrics/roc_auc/estimate: must be a number or null, got '0.65'"),
    # outside tester h (round 21): text in the curves dropped every figure (a bare
    # ValueError) or was drawn as edited
    (lambda d: d["outcomes"][0]["validation"][0]["curves"]["roc"]["clinical"].update(
        auc="0.79"), r"/curves/roc/clinical/auc: must be a number or null, got '0.79'"),
    (lambda d: d["outcomes"][0]["validation"][0]["curves"]["roc"]["clinical"]["tpr"].__setitem__(
        1, "x"), r"/curves/roc/clinical/tpr: must hold numbers \(or null\), holds 'x'"),
    (lambda d: d["outcomes"][0]["validation"][0]["curves"]["roc"]["clinical"]["fpr"].__setitem__(
        1, True), r"/curves/roc/clinical/fpr: must hold numbers \(or null\), holds True"),
])
def test_incomplete_document(tmp_path: Path, edit, message: str) -> None:
    doc = classification_document()
    edit(doc)
    _write(tmp_path, doc)
    with pytest.raises(InputError, match=message):
        write_report(tmp_path)


def test_pdf_without_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import radiomix.report.html as H

    monkeypatch.setattr(H, "find_browser", lambda: None)
    _write(tmp_path, classification_document())
    with pytest.raises(DependencyError, match=r"no Chromium found.*apt-get install chromium"):
        write_report(tmp_path, pdf=True)
    assert (tmp_path / "report.html").is_file()  # the HTML is written before the PDF


def test_empty_mask_thumbnail() -> None:
    with pytest.raises(EmptyRoiError, match="no ROI voxel"):
        qc_thumbnail(np.zeros((2, 4, 4)), np.zeros((2, 4, 4), bool), (1.0, 1.0, 1.0))


def test_shape_mismatch_thumbnail() -> None:
    with pytest.raises(InputError, match=r"differ in shape"):
        qc_thumbnail(np.zeros((2, 4, 4)), np.ones((2, 4, 5), bool), (1.0, 1.0, 1.0))


def test_largest_slice_needs_3d() -> None:
    with pytest.raises(InputError, match=r"\(Z, Y, X\)"):
        largest_slice(np.ones((4, 4), bool))


def test_png_size_refuses_other_files() -> None:
    with pytest.raises(InputError, match="not a PNG"):
        png_size(b"GIF89a" + bytes(30))


def test_an_out_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, classification_document())
    with pytest.raises(InputError, match=r"out_dir .*analysis\.json is a file, not a folder"):
        write_report(tmp_path, out_dir=tmp_path / "analysis.json")
