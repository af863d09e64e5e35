"""No input path (folder names that name the patient) in what a run keeps."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.privacy import path_digest, redact_paths

NAME = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789^_-",
               min_size=4, max_size=24)


@settings(max_examples=60, deadline=None)
@given(patient=NAME, slice_name=NAME)
def test_no_part_of_an_input_path_or_a_slice_name_survives(tmp_path_factory, patient,
                                                           slice_name):
    root = tmp_path_factory.mktemp("d")
    series = root / f"{patient}_MRN" / "CT"
    series.mkdir(parents=True)
    (series / f"{slice_name}.dcm").write_bytes(b"")
    for given_as in (str(series), str(series) + "/"):
        messages = [
            f"slice 3 of 9 ({slice_name}.dcm) in {series} is truncated",
            f"1 missing slice(s) in {series}: gap of 6.5 mm",
            f"cannot read {series}/{slice_name}.dcm: bad header",
            f"image file {root}/{patient}_MRN/other.nii.gz is empty",
        ]
        for message in messages:
            out = redact_paths(message, {"<ct image>": given_as})
            assert f"{patient}_MRN" not in out, out
            assert f"{slice_name}.dcm" not in out, out
            assert str(root) not in out, out


def test_the_forms_of_a_path_and_the_words_of_a_message(tmp_path):
    real = tmp_path / "Doe^Jane_1970" / "ct.nii.gz"
    real.parent.mkdir()
    real.write_bytes(b"")
    link = tmp_path / "link.nii.gz"
    link.symlink_to(real)
    said = (f"the image in {real} holds NaN; the mask {link} has 2 labels; see ct.nii.gz; "
            "grids: mm/s and/or 1/2 stay")
    out = redact_paths(said, {"<ct image>": str(link), "<ct mask>": None})
    assert out == ("the image in <ct image> holds NaN; the mask <ct image> has 2 labels; see "
                   "<ct image>; grids: mm/s and/or 1/2 stay")


def test_a_digest_stands_for_the_same_file_and_names_nothing(tmp_path):
    folder = tmp_path / "Doe_John_1970"
    folder.mkdir()
    (folder / "x.nii").write_bytes(b"")
    digest = path_digest(folder / "x.nii")
    assert digest == path_digest(folder / ".." / folder.name / "x.nii")
    assert "Doe" not in digest
    assert len(digest) == 16


def test_slice_names_without_digits_or_dots_are_replaced_too(tmp_path):
    """Ninth round: slices named ``DOE_JANE_slice_aa`` (no digit, no dot) stayed in the
    stored messages; every entry of an input folder is replaced except plain lowercase
    words, which a message uses as words."""
    series = tmp_path / "s"
    series.mkdir()
    for name in ("DOE_JANE_slice_aa", "DOE_JANE_copy_of_slice", "image"):
        (series / name).write_bytes(b"")
    said = ("two slices in the image (DOE_JANE_copy_of_slice and DOE_JANE_slice_aa) share "
            "the position 3.0 mm")
    assert redact_paths(said, {"<ct image>": str(series)}) == (
        "two slices in the image (<file> and <file>) share the position 3.0 mm")


def test_the_case_identifiers_are_kept_even_where_they_look_like_paths():
    said = "P0[/x]/1/ct: image and mask grids differ; see /data/DOE/ct.nii.gz"
    assert redact_paths(said, {}, keep=("P0[/x]/1/ct", "P0[/x]")) == (
        "P0[/x]/1/ct: image and mask grids differ; see <path>")


def test_held_identifiers_never_corrupt_the_message_or_shield_file_names(tmp_path):
    """Review: a lesion id "1" held as a placeholder with a digit in it corrupted the
    message (a NUL byte, the patient id lost) and split slice names so that they escaped."""
    series = tmp_path / "DOE"
    series.mkdir()
    for name in ("DOE_JANE_1.dcm", "DOE_JANE_2.dcm"):
        (series / name).write_bytes(b"")
    said = "case P0/1/ct: patient P0 lesion 1: slices DOE_JANE_1.dcm and DOE_JANE_2.dcm clash"
    out = redact_paths(said, {"<ct image>": str(series)}, keep=("P0/1/ct", "P0", "1"))
    assert out == "case P0/1/ct: patient P0 lesion 1: slices <file> and <file> clash"


def test_web_addresses_are_kept_and_paths_beside_them_are_not():
    """Round 16: a cohort's weight error read "Fetch https:/<path>": the download address of
    the published file was taken for a path."""
    from radiomix.privacy import redact_paths

    url = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    said = redact_paths(f"Fetch {url}, put it at /home/DOE_JANE/w/resnet18-f37072fd.pth (P1/1/ct)",
                        {"<ct image>": "/data/DOE_JANE/ct"}, keep=("P1/1/ct",))
    assert said == f"Fetch {url}, put it at <path> (P1/1/ct)"
    assert redact_paths(f"see {url}, then /data/DOE_JANE/ct/IM1", {"<ct image>":
                        "/data/DOE_JANE/ct"}) == f"see {url}, then <ct image>"


def test_an_id_that_is_a_folder_of_the_input_path_does_not_split_it():
    """Round 16: a missing mask read "ct mask not found: <path> mask>": the patient id,
    a folder of the path, was held before the path was replaced by its label."""
    from radiomix.privacy import redact_paths

    mask = "/data/sts/nifti/STS_004/ct/nomask.nii.gz"
    said = redact_paths(f"ct mask not found: {mask} (manifest line 5)",
                        {"<ct image>": "/data/sts/nifti/STS_004/ct/image.nii.gz",
                         "<ct mask>": mask}, keep=("STS_004/1/ct", "STS_004"))
    assert said == "ct mask not found: <ct mask> (manifest line 5)"
    # an id elsewhere in the message stays; a path holding it that is no input goes
    assert redact_paths("STS_004: see /other/STS_004/x.nii", {}, keep=("STS_004",)) == \
        "STS_004: see <path>"
