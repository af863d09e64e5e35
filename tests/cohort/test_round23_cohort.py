"""Round 23 findings on the cohort runner (``radiomix run``).

- F1: a case's warnings name its input files by tag, as its errors do (a warning naming an
  RTSTRUCT file ``RS_DOE_JOHN_MRN….dcm`` reached the kept case record and the console).
- F2: a case record edited by hand (a feature removed, a value changed) is redone, not put
  in the table; a record without a checksum (an earlier radiomix) is redone.
- F4: ``jobs`` with a scheduler address and ``worker_timeout_s`` without a scheduler are
  refused (nothing reads them); the provenance records the workers that ran the cases.
- F6: a progress line shows the case's own time, and the run's time labelled as elapsed.
- F7: lesion ids of one patient that are one number written differently (``1``, ``01``,
  ``1.0``) or differ only in letter case are refused, naming the manifest lines.
"""

from __future__ import annotations

import io
import json
import logging
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from cohort_helpers import SMALL, lesion, nifti, sts_root, write_study
from rich.console import Console

from _data import run_cli
from radiomix import cohort
from radiomix.cohort import Progress, run_study
from radiomix.errors import SettingsError
from radiomix.table import read_provenance

PHI = "DOE_JOHN_MRN987654321"


def _phi_study(tmp_path: Path) -> Path:
    """A one-case PET study whose folder and mask file name carry a patient's name."""
    folder = tmp_path / "data" / PHI
    folder.mkdir(parents=True)
    root = sts_root()
    shutil.copy(root / nifti(SMALL[0], "pet", "image"), folder / "image.nii.gz")
    shutil.copy(root / nifti(SMALL[0], "pet", "mask"), folder / f"RS_{PHI}.nii.gz")
    row = {"patient_id": "P1", "lesion_id": "1", "pet_image": f"{PHI}/image.nii.gz",
           "pet_mask": f"{PHI}/RS_{PHI}.nii.gz"}
    return write_study(tmp_path / "s", [row], data_root=str(tmp_path / "data"))


def test_warnings_of_a_case_name_its_files_by_tag(tmp_path, monkeypatch, caplog):
    real = cohort._case_record

    def warning_naming_files(task):
        logging.getLogger("radiomix.io.rtstruct").warning(
            "ROI 'GTV' in %s has 1 slice(s) without contour (folder %s)",
            Path(task.mask).name, Path(task.image).parent)
        return real(task)

    monkeypatch.setattr(cohort, "_case_record", warning_naming_files)
    study = _phi_study(tmp_path)
    with caplog.at_level("WARNING"):
        result = run_study(study, tmp_path / "out")
    assert result.ok
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "out" / "cases").glob("*.json")]
    assert record["warnings"] == ["ROI 'GTV' in <pet mask> has 1 slice(s) without contour "
                                  "(folder <path>)"]
    said = [r.getMessage() for r in caplog.records if "without contour" in r.getMessage()]
    assert said == ["P1/1/pet: ROI 'GTV' in <pet mask> has 1 slice(s) without contour "
                    "(folder <path>)"]
    for path in [*(tmp_path / "out").rglob("*.json"), *(tmp_path / "out").glob("*.parquet")]:
        assert PHI.encode() not in path.read_bytes(), path.name
    assert PHI not in caplog.text


@pytest.fixture
def two_cases(tmp_path):
    study = write_study(tmp_path / "s", [lesion(SMALL[0]), lesion(SMALL[1])])
    first = run_study(study, tmp_path / "out")
    return study, tmp_path / "out", pd.read_parquet(first.features_path)


def test_an_edited_case_record_is_redone(two_cases, caplog):
    study, out, before = two_cases
    path = sorted((out / "cases").glob("*.json"))[0]
    record = json.loads(path.read_text())
    assert len(record["checksum"]) == 64
    names = sorted(record["features"])
    del record["features"][names[0]]
    record["features"][names[1]] = 0.123
    path.write_text(json.dumps(record))
    with caplog.at_level("WARNING", logger="radiomix.cohort"):
        again = run_study(study, out)
    assert (again.n_cached, again.n_computed, again.n_failed) == (1, 1, 0)
    assert f"case record {path.name} damaged" in caplog.text
    assert "the case is redone" in caplog.text
    pd.testing.assert_frame_equal(pd.read_parquet(again.features_path), before)
    assert json.loads(path.read_text())["features"][names[1]] != 0.123
    caplog.clear()
    with caplog.at_level("WARNING", logger="radiomix.cohort"):
        assert run_study(study, out).n_computed == 0  # the rewritten record checks out
    assert "damaged" not in caplog.text


def test_a_record_without_checksum_is_redone(two_cases, caplog):
    study, out, before = two_cases
    for path in (out / "cases").glob("*.json"):
        record = json.loads(path.read_text())
        del record["checksum"]  # as an earlier radiomix wrote it
        path.write_text(json.dumps(record))
    with caplog.at_level("WARNING", logger="radiomix.cohort"):
        again = run_study(study, out)
    assert (again.n_cached, again.n_computed) == (0, 2)
    assert "2 case record(s) in cases were written by an earlier radiomix without a " \
           "checksum" in caplog.text
    pd.testing.assert_frame_equal(pd.read_parquet(again.features_path), before)
    assert run_study(study, out).n_computed == 0


def test_jobs_with_a_scheduler_address_is_refused(tmp_path):
    study = write_study(tmp_path / "s", [lesion(SMALL[0])])
    with pytest.raises(SettingsError, match=r"jobs 3 \(--jobs\) is not read with the Dask "
                                            r"scheduler address"):
        run_study(study, tmp_path / "out", jobs=3, scheduler="tcp://127.0.0.1:1")
    assert not (tmp_path / "out").exists()


def test_worker_timeout_without_scheduler_is_refused(tmp_path):
    study = write_study(tmp_path / "s", [lesion(SMALL[0])])
    with pytest.raises(SettingsError, match=r"worker_timeout_s \(--worker-timeout\) is read "
                                            r"only with a Dask scheduler"):
        run_study(study, tmp_path / "out", worker_timeout_s=5)
    proc = run_cli("run", str(study), "--out", str(tmp_path / "out"), "--worker-timeout", "5")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error (SettingsError): worker_timeout_s (--worker-timeout)")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_provenance_records_the_workers_used(tmp_path):
    study = write_study(tmp_path / "s", [lesion(SMALL[0])])
    result = run_study(study, tmp_path / "out")
    execution = read_provenance(result.features_path)["execution"]
    assert (execution["mode"], execution["jobs"], execution["workers"]) == ("serial", 1, 1)


def test_progress_line_shows_the_case_time_and_the_elapsed_time():
    from radiomix.cli_progress import ProgressDisplay, cohort_callback

    buffer = io.StringIO()
    shown = ProgressDisplay(Console(file=buffer, width=200), quiet=False, lines=True)
    callback = cohort_callback(shown)
    callback(Progress("case", total=3, cached=0, todo=3, computed=2, failed=0,
                      case="P1/1/ct", status="ok", elapsed_s=95.4, case_s=1.234))
    callback(Progress("case", total=3, cached=0, todo=3, computed=3, failed=1,
                      case="P2/1/ct", status="error", elapsed_s=96.0))
    assert buffer.getvalue().splitlines() == ["[2/3] P1/1/ct ok (1.23 s, 95 s elapsed)",
                                              "[3/3] P2/1/ct error (96 s elapsed)"]


def test_run_progress_reports_each_case_own_seconds(tmp_path):
    study = write_study(tmp_path / "s", [lesion(SMALL[0]), lesion(SMALL[1])])
    seen: list[Progress] = []
    result = run_study(study, tmp_path / "out", progress=seen.append)
    cases = read_provenance(result.features_path)["cases"]
    assert [p.case_s for p in seen if p.event == "case"] == [c["seconds"] for c in cases]


@pytest.mark.parametrize("other", ["01", "1.0", "+1"])
def test_one_lesion_number_written_twice_is_refused(tmp_path, other):
    rows = [lesion(SMALL[0]), lesion(SMALL[1]), lesion(SMALL[0], lesion_id=other)]
    study = write_study(tmp_path / "s", rows)
    with pytest.raises(SettingsError, match=re.escape(
            f"manifest manifest.csv line 4: lesion_id '{other}' of patient_id "
            f"'{SMALL[0]}' names the lesion '1' of line 2 written differently")):
        run_study(study, tmp_path / "out")


def test_lesion_ids_apart_only_in_case_are_refused_and_distinct_ids_pass(tmp_path):
    rows = [lesion(SMALL[0], lesion_id="L1"), lesion(SMALL[0], lesion_id="l1")]
    with pytest.raises(SettingsError, match=r"line 3: lesion_id 'l1' .* lesion 'L1' of line 2"):
        run_study(write_study(tmp_path / "a", rows), tmp_path / "out")
    # other patients may share a lesion id; distinct numbers and names are distinct lesions
    rows = [lesion(SMALL[0], lesion_id="1"), lesion(SMALL[0], lesion_id="10"),
            lesion(SMALL[0], lesion_id="1a"), lesion(SMALL[1], lesion_id="01")]
    rows_study = write_study(tmp_path / "b", rows)
    assert len(cohort.manifest_rows(cohort.load_study(rows_study))) == 4


# -- re-check (tester 23k): the same classes elsewhere --------------------------------------


@pytest.mark.parametrize("other", ["01", "1.0"])
def test_one_patient_number_written_twice_is_refused(tmp_path, other):
    rows = [lesion(SMALL[0]) | {"patient_id": "1"}, lesion(SMALL[1]) | {"patient_id": other}]
    study = write_study(tmp_path / "s", rows)
    with pytest.raises(SettingsError, match=re.escape(
            f"manifest manifest.csv line 3: patient_id '{other}' names the patient '1' of "
            "line 2 written differently")):
        run_study(study, tmp_path / "out")


def test_an_infinite_worker_timeout_is_refused(tmp_path):
    study = write_study(tmp_path / "s", [lesion(SMALL[0])])
    with pytest.raises(SettingsError, match=r"must be a finite number of seconds > 0"):
        run_study(study, tmp_path / "out", scheduler="local", worker_timeout_s=float("inf"))


def test_notes_of_a_case_name_its_files_by_tag(tmp_path):
    """A mask whose qform and sform disagree: its note named the file (a patient's name)
    in the kept record and the table's provenance."""
    import gzip
    import struct

    study = _phi_study(tmp_path)
    mask_path = tmp_path / "data" / PHI / f"RS_{PHI}.nii.gz"
    raw = bytearray(gzip.decompress(mask_path.read_bytes()))
    offset = struct.unpack("<3f", raw[268:280])  # the qform's translation, 10 mm away
    raw[268:280] = struct.pack("<3f", *(v + 10.0 for v in offset))
    mask_path.write_bytes(gzip.compress(bytes(raw)))
    result = run_study(study, tmp_path / "out")
    blob = (json.dumps(read_provenance(result.features_path))
            + "".join(p.read_text() for p in (tmp_path / "out" / "cases").glob("*.json")))
    assert PHI not in blob
    assert "qform and an sform that disagree" in blob  # the note is there, by tag
    assert "<pet mask>" in blob


def test_qc_thumbnails_say_a_header_warning_by_tag(tmp_path, caplog):
    """`radiomix analyse` re-reads the cases for its QC thumbnails: a header warning named
    the mask file (a patient's name) on the console (tester 23k)."""
    import gzip
    import struct

    from radiomix.analysis.qc import qc_section
    from radiomix.settings.study import load_study

    study_path = _phi_study(tmp_path)
    mask_path = tmp_path / "data" / PHI / f"RS_{PHI}.nii.gz"
    raw = bytearray(gzip.decompress(mask_path.read_bytes()))
    offset = struct.unpack("<3f", raw[268:280])
    raw[268:280] = struct.pack("<3f", *(v + 10.0 for v in offset))
    mask_path.write_bytes(gzip.compress(bytes(raw)))
    with caplog.at_level(logging.WARNING):
        qc_section(load_study(study_path), ["P1"], tmp_path / "out")
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "qform and an sform that disagree" in said
    assert PHI not in said
