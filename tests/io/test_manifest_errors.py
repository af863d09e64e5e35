"""Manifest CSV: required columns, identifiers, per-cell problems, path resolution."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from radiomix.errors import SettingsError
from radiomix.io.manifest import TagInput, read_manifest


def _csv(tmp_path: Path, text: str, name: str = "manifest.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


HEADER = "patient_id,lesion_id,ct_image,ct_mask,pet_image,pet_mask,lung_mets\n"


def test_reads_rows_and_resolves_paths(tmp_path):
    path = _csv(
        tmp_path,
        HEADER
        + "P001,1,ct/a.nii.gz,ct/a_mask.nii.gz,/abs/pet.nii.gz,/abs/pet_mask.nii.gz,1\n"
        + " P002 , 2 ,ct/b.nii.gz,ct/b_mask.nii.gz,,,0\n",
    )
    rows = read_manifest(path, tags=["ct", "pet"], carry=["lung_mets"])
    assert [(r.patient_id, r.lesion_id) for r in rows] == [("P001", "1"), ("P002", "2")]
    assert rows[0].inputs["ct"] == TagInput(
        image=tmp_path / "ct" / "a.nii.gz", mask=tmp_path / "ct" / "a_mask.nii.gz"
    )
    assert rows[0].inputs["pet"].image == Path("/abs/pet.nii.gz")
    assert rows[1].inputs["pet"] is None  # no PET for this lesion: both cells empty
    assert rows[1].values == {"lung_mets": "0"}
    assert rows[1].line == 3
    rooted = read_manifest(path, tags=["ct"], data_root=tmp_path / "data")
    assert rooted[0].inputs["ct"].image == tmp_path / "data" / "ct" / "a.nii.gz"


def test_byte_order_mark_and_leading_zeros_kept(tmp_path):
    path = _csv(
        tmp_path, "patient_id,lesion_id,ct_image,ct_mask\n007,01,a,b\n", encoding="utf-8-sig"
    )
    (row,) = read_manifest(path, tags=["ct"])
    assert (row.patient_id, row.lesion_id) == ("007", "01")


@pytest.mark.parametrize(
    ("text", "tags", "carry", "match"),
    [
        (
            HEADER.replace("pet_mask", "pet_msk") + "P1,1,a,b,c,d,1\n",
            ["ct", "pet"],
            (),
            r"lacks the column 'pet_mask'; did you mean 'pet_msk'\?",
        ),
        (HEADER + "P1,1,a,b,c,d,1\n", ["ct", "mr"], (), r"lacks the column 'mr_image'"),
        (
            HEADER + "P1,1,a,b,c,d,1\n",
            ["ct"],
            ["lung_met"],
            r"lacks the column 'lung_met'; did you mean 'lung_mets'\?",
        ),
        (
            "patient,lesion_id,ct_image,ct_mask\nP1,1,a,b\n",
            ["ct"],
            (),
            r"lacks the column 'patient_id'",
        ),
        (
            HEADER + "P1,1,a,b,c,d,1\nP1,1,e,f,g,h,0\n",
            ["ct"],
            (),
            r"line 3: patient_id 'P1' with lesion_id '1' repeats line 2",
        ),
        (
            # round 17: one patient under two spellings ran as two patients
            HEADER + "STS_002,1,a,b,c,d,1\nsts_002,2,e,f,g,h,1\n",
            ["ct"],
            (),
            r"line 3: patient_id 'sts_002' differs from 'STS_002' \(line 2\) only in letter "
            r"case or Unicode form: read as two patients",
        ),
        (
            # round 21: an id with a zero-width space looks like another patient's
            HEADER + "STS_002,1,a,b,c,d,1\nSTS\u200b_002,2,e,f,g,h,1\n",
            ["ct"],
            (),
            r"line 3: patient_id 'STS\\u200b_002' holds an invisible or control character",
        ),
        (
            # round 21: one patient with a composed and a decomposed "Ü" ran as two patients
            HEADER + "M\u00dcLLER_1,1,a,b,c,d,1\nMU\u0308LLER_1,2,e,f,g,h,1\n",
            ["ct"],
            (),
            r"line 3: patient_id .* differs from .* \(line 2\) only in letter case or Unicode "
            r"form: read as two patients",
        ),
        (HEADER + ",1,a,b,c,d,1\n", ["ct"], (), r"line 2: empty patient_id"),
        (HEADER + "P1,,a,b,c,d,1\n", ["ct"], (), r"line 2: empty lesion_id"),
        (
            "patient_id,lesion_id,ct_image,ct_mask,ct_image\nP1,1,a,b,c\n",
            ["ct"],
            (),
            r"has the column 'ct_image' twice",
        ),
        ("patient_id,,ct_image,ct_mask\n", ["ct"], (), r"a column without a name"),
        ("", ["ct"], (), r"is empty"),
        ("patient_id,lesion_id,ct_image,ct_mask\n", ["ct"], (), r"has a header but no lesion rows"),
        (
            "patient_id,lesion_id,ct_image,ct_mask\nP1,1,a,b,c\n",
            ["ct"],
            (),
            r"line 2 has 5 cells, the header 4",
        ),
    ],
)
def test_manifest_errors(tmp_path, text, tags, carry, match):
    with pytest.raises(SettingsError, match=match):
        read_manifest(_csv(tmp_path, text), tags=tags, carry=carry)


def test_missing_file_and_bad_encoding(tmp_path):
    with pytest.raises(SettingsError, match="manifest not found"):
        read_manifest(tmp_path / "none.csv", tags=["ct"])
    path = tmp_path / "latin.csv"
    path.write_bytes("patient_id,lesion_id,ct_image,ct_mask\nP\xe9,1,a,b\n".encode("latin-1"))
    with pytest.raises(SettingsError, match="is not UTF-8"):
        read_manifest(path, tags=["ct"])


def test_cell_problems_are_returned_with_the_row(tmp_path):
    path = _csv(
        tmp_path,
        "patient_id,lesion_id,ct_image,ct_mask,ct_label,pet_image,pet_mask\n"
        "P1,1,a,,2,c,d\n"
        "P2,1,a,b,two,c,d\n"
        "P3,1,a,b,3.0,c,d\n",
    )
    rows = read_manifest(path, tags=["ct", "pet"])
    assert "ct_mask is empty while ct_image is set" in rows[0].inputs["ct"].problem
    assert rows[0].inputs["pet"].problem is None
    assert "ct_label 'two' is not an integer" in rows[1].inputs["ct"].problem
    assert rows[2].inputs["ct"].label == 3
    assert rows[2].inputs["ct"].problem is None


def test_columns_of_unknown_tags_are_reported(tmp_path, caplog):
    path = _csv(tmp_path, "patient_id,lesion_id,ct_image,ct_mask,mr_image,mr_mask\nP1,1,a,b,c,d\n")
    with caplog.at_level(logging.WARNING, logger="radiomix.io.manifest"):
        read_manifest(path, tags=["ct"])
    assert "'mr_image' belongs to no image tag of the study (ct)" in caplog.text


def test_custom_identifier_columns(tmp_path):
    path = _csv(tmp_path, "case,roi,ct_image,ct_mask\nC1,liver,a,b\n")
    (row,) = read_manifest(path, tags=["ct"], patient_column="case", lesion_column="roi")
    assert (row.patient_id, row.lesion_id) == ("C1", "liver")


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_a_manifest_with_another_delimiter_says_so(tmp_path, sep, name):
    text = sep.join(["patient_id", "lesion_id", "ct_image", "ct_mask"]) + "\n"
    path = _csv(tmp_path, text + sep.join(["P1", "1", "a", "b"]) + "\n")
    with pytest.raises(SettingsError, match=f"manifest table manifest.csv seems to use {name}s"):
        read_manifest(path, tags=["ct"])


def test_two_patients_naming_the_same_files_are_reported(tmp_path, caplog):
    path = _csv(tmp_path, "patient_id,lesion_id,ct_image,ct_mask\nP1,1,a,b\nP1,2,a,c\n"
                          "P2,1,a,b\n")
    with caplog.at_level(logging.WARNING, logger="radiomix.io.manifest"):
        rows = read_manifest(path, tags=["ct"])
    assert len(rows) == 3
    assert "line 4: patient_id 'P2' names the same ct image and mask as 'P1'" in caplog.text
    assert "line 3" not in caplog.text  # one patient's two lesions on one image: fine


def test_one_lesion_listed_twice_under_two_lesion_ids_is_reported(tmp_path, caplog):
    """The same image, mask and label under two lesion ids of one patient counted one
    tumour twice without a word; two ROIs of one RTSTRUCT are two lesions (no warning)."""
    path = _csv(tmp_path, "patient_id,lesion_id,ct_image,ct_mask,ct_roi_name\n"
                          "P1,1,a,rs.dcm,GTV1\nP1,2,a,rs.dcm,GTV2\nP1,3,a,rs.dcm,GTV1\n")
    with caplog.at_level(logging.WARNING, logger="radiomix.io.manifest"):
        rows = read_manifest(path, tags=["ct"])
    assert len(rows) == 3
    assert ("line 4: lesion '3' of patient_id 'P1' names the same ct image, mask and ROI as "
            "its lesion '1' (line 2): one lesion would be counted twice") in caplog.text
    assert "line 3" not in caplog.text
