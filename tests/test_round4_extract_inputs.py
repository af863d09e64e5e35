"""Round 4 of the extraction inputs: options that cannot apply, batch table lines, non-finite
settings, empty re-segmentation, tags, and the API's message for lists.

Oracles: the documented contract of each input (an option that does not apply to the kind
of mask, or to the settings, is refused with exit 2 and one line; a table's problems name
the line of the file; no setting takes NaN; column names split into
``<tag>.<filter>.<family>.<feature>``), and the intensities of the digital phantom (1 … 6).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import typing

import numpy as np
import pytest
from typer.testing import CliRunner

import radiomix
from _data import require_data
from radiomix.cli import app
from radiomix.errors import EmptyRoiError, InputError, SettingsError, UsageError
from radiomix.settings import ExtractionSettings, settings_from_dict
from radiomix.settings.study import StudySettings

runner = CliRunner()
NAN, INF = float("nan"), float("inf")
FAST = {"features__families": ["stat"]}


@pytest.fixture
def phantom(tmp_path):
    """The IBSI digital phantom (NIfTI label mask), copied to a temporary folder."""
    folder = require_data("ibsi1", "digital_phantom")
    for name in ("image.nii.gz", "mask.nii.gz"):
        shutil.copy(folder / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def ct_rtstruct():
    """The IBSI CT phantom as a DICOM series with its RTSTRUCT (ROI GTV-1)."""
    folder = require_data("ibsi1", "ct_phantom", "dicom")
    return folder / "image", folder / "mask" / "DCM_RS_00060.dcm"


def _one_error_line(res, code: int, match: str) -> str:
    assert res.exit_code == code, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1, res.output
    assert "Traceback" not in res.output
    assert re.search(match, lines[0]), lines[0]
    return lines[0]


# --------------------------------------------------------------------------------------
# (1) options that do not apply to the kind of mask or to the settings


def test_cli_label_with_rtstruct_is_refused(ct_rtstruct, tmp_path):
    image, rtstruct = ct_rtstruct
    res = runner.invoke(app, ["extract", str(image), str(rtstruct), "--label", "7",
                              "--out", str(tmp_path / "f.csv")])
    _one_error_line(res, 2, r"label 7 does not apply to the RTSTRUCT mask .*--roi-name")
    assert not (tmp_path / "f.csv").exists()


def test_cli_roi_name_with_label_image_is_refused(phantom):
    res = runner.invoke(app, ["extract", str(phantom / "image.nii.gz"),
                              str(phantom / "mask.nii.gz"), "--roi-name", "Liver",
                              "--out", str(phantom / "f.csv")])
    _one_error_line(res, 2, r"roi_name 'Liver' does not apply to the label-image mask .*--label")


def test_cli_organ_mask_without_ring_is_refused(phantom):
    res = runner.invoke(app, ["extract", str(phantom / "image.nii.gz"),
                              str(phantom / "mask.nii.gz"), "--organ-mask",
                              str(phantom / "mask.nii.gz"), "--out", str(phantom / "f.csv")])
    _one_error_line(res, 2, r"organ mask .* only clips the peritumoral ring.*ring_clip: organ")


def test_api_refuses_the_same_options(phantom, ct_rtstruct):
    image, rtstruct = ct_rtstruct
    with pytest.raises(UsageError, match="does not apply to the RTSTRUCT mask"):
        radiomix.extract(image, rtstruct, label=1, **FAST)
    img, msk = phantom / "image.nii.gz", phantom / "mask.nii.gz"
    with pytest.raises(UsageError, match="does not apply to the label-image mask"):
        radiomix.extract(img, msk, roi_name="GTV", **FAST)
    with pytest.raises(UsageError, match="only clips the peritumoral ring"):
        radiomix.extract(img, msk, organ_mask=msk, **FAST)


def test_api_refuses_an_organ_roi_name_for_a_label_image_organ_mask(phantom):
    ring = {"roi": "ring", "ring_outer_mm": 2.0, "ring_clip": "organ", "organ_roi_name": "Liver"}
    img, msk = phantom / "image.nii.gz", phantom / "mask.nii.gz"
    with pytest.raises(UsageError, match=r"organ_roi_name 'Liver' does not apply to the "
                                         r"label-image organ mask.*organ_label"):
        radiomix.extract(img, msk, organ_mask=msk, preprocess=ring, **FAST)


def test_a_seg_segment_is_chosen_by_number_or_label_not_both():
    from radiomix.io.image import check_mask_options

    with pytest.raises(UsageError, match=r"both a segment number .* give one of them"):
        check_mask_options("seg.dcm", "SEG", roi_name="GTV", segment=2)
    check_mask_options("seg.dcm", "SEG", segment=2)  # each alone applies
    check_mask_options("seg.dcm", "SEG", roi_name="GTV")


def test_extract_many_refuses_a_label_cell_for_an_rtstruct_naming_the_line(ct_rtstruct, phantom):
    image, rtstruct = ct_rtstruct
    cases = phantom / "cases.csv"
    cases.write_text("case_id,image,mask,label,roi_name\n"
                     "A,image.nii.gz,mask.nii.gz,,\n"
                     f"B,{image},{rtstruct},3,\n", encoding="utf-8")
    res = runner.invoke(app, ["extract-many", str(cases), "--out", str(phantom / "out"), "-q"])
    _one_error_line(res, 2, r"cases.csv, line 3: label 3 does not apply to the RTSTRUCT mask")
    cases.write_text("image,mask,roi_name\nimage.nii.gz,mask.nii.gz,GTV\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"cases.csv, line 2: roi_name 'GTV' does not apply"):
        radiomix.extract_many(cases, **FAST)


# --------------------------------------------------------------------------------------
# (3) extract-many: case ids and file lines


def test_extract_many_refuses_an_empty_case_id_naming_its_line(phantom):
    cases = phantom / "cases.csv"
    cases.write_text("case_id,image,mask\n"
                     "3,image.nii.gz,mask.nii.gz\n"
                     "b,image.nii.gz,mask.nii.gz\n"
                     "c,image.nii.gz,mask.nii.gz\n"
                     ",image.nii.gz,mask.nii.gz\n", encoding="utf-8")
    res = runner.invoke(app, ["extract-many", str(cases), "--out", str(phantom / "out"), "-q"])
    _one_error_line(res, 2, r"cases.csv, line 5: the case_id cell is empty")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("image,mask,label\na,b,2.5\n", r"cases.csv, line 2: label '2.5' is not an integer"),
        ("image,mask\n\na,b\nc,\n", r"cases.csv, line 4: the mask cell is empty"),
        ('image,mask,roi_name\na,b,"two\nlines"\nc,,\n', r"cases.csv, line 4: the mask cell"),
        ("image,mask,case_id\na,b,P\nc,d,Q\ne,f,P\n", r"'P' appears twice .*\(line 2 and line 4\)"),
        ("image,mask\na,b,c\n", r"cases.csv, line 2: 3 cells but the header has 2 columns"),
    ],
)
def test_read_cases_names_the_line_of_the_file(tmp_path, text, match):
    path = tmp_path / "cases.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        radiomix.extract_many(path)


# --------------------------------------------------------------------------------------
# (4) non-finite settings and the empty re-segmentation message


def _float_fields(cls: type, seen: set[type]) -> list[tuple[type, str]]:
    """(dataclass, field) of every float-valued setting reachable from ``cls``."""
    if cls in seen:
        return []
    seen.add(cls)
    out: list[tuple[type, str]] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        stack, floats = [hints[f.name]], False
        while stack:
            hint = stack.pop()
            if hint is float:
                floats = True
            elif dataclasses.is_dataclass(hint) and isinstance(hint, type):
                out += _float_fields(hint, seen)
            else:
                stack += [a for a in typing.get_args(hint) if a is not Ellipsis]
        if floats:
            out.append((cls, f.name))
    return out


FLOAT_FIELDS = _float_fields(ExtractionSettings, set()) + _float_fields(StudySettings, set())


@pytest.mark.parametrize("bad", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
def test_every_numeric_setting_refuses_non_finite_values(bad):
    names = {f"{c.__name__}.{n}" for c, n in FLOAT_FIELDS}  # the walk finds them
    assert {"ResegmentationSettings.range", "DiscretisationSettings.bin_width",
            "FilterSettings.sigma_mm", "InterpolationSettings.spacing"} <= names
    accepted = []
    for cls, name in FLOAT_FIELDS:
        hint = typing.get_type_hints(cls)[name]
        value: object = bad
        if typing.get_origin(hint) is tuple or tuple in map(typing.get_origin,
                                                             typing.get_args(hint)):
            value = [bad, bad, bad] if "spacing" in name else [bad, 1.0]
        try:
            settings_from_dict({name: value}, cls=cls)
        except SettingsError as exc:
            if "finite number" not in str(exc) or str(bad) not in str(exc).lower():
                accepted.append(f"{cls.__name__}.{name}: {exc}")
        else:
            accepted.append(f"{cls.__name__}.{name}: accepted")
    assert not accepted, accepted


def test_cli_nan_resegmentation_bound_is_a_settings_error(phantom):
    config = phantom / "s.yaml"
    config.write_text("resegmentation: {range: [.nan, 400]}\n", encoding="utf-8")
    res = runner.invoke(app, ["extract", str(phantom / "image.nii.gz"),
                              str(phantom / "mask.nii.gz"), "--config", str(config),
                              "--out", str(phantom / "f.csv")])
    _one_error_line(res, 2, r"resegmentation.range bounds must be finite.* null for an open bound")


def test_settings_objects_refuse_non_finite_resegmentation():
    from radiomix.settings import ResegmentationSettings

    with pytest.raises(SettingsError, match="finite"):
        ResegmentationSettings(range=(NAN, 400.0))
    with pytest.raises(SettingsError, match="finite"):
        ResegmentationSettings(outlier_sigma=INF)


def test_empty_resegmentation_names_the_range_and_the_roi_intensities(phantom):
    with pytest.raises(EmptyRoiError) as info:
        radiomix.extract(phantom / "image.nii.gz", phantom / "mask.nii.gz",
                         resegmentation={"range": [100, 200]}, **FAST)
    message = str(info.value)
    assert "ResegmentationSettings(" not in message
    assert "the range [100, 200] (resegmentation.range)" in message
    assert "whose intensities lie in [1, 6]" in message  # the digital phantom's grey levels


# --------------------------------------------------------------------------------------
# (5) tags


@pytest.mark.parametrize(("tag", "match"), [("", "tag is empty"), ("ct.v2", "contains a dot"),
                                            ("c t", "contains whitespace")])
def test_cli_refuses_tags_that_break_column_names(phantom, tag, match):
    res = runner.invoke(app, ["extract", str(phantom / "image.nii.gz"),
                              str(phantom / "mask.nii.gz"), "--tag", tag,
                              "--out", str(phantom / "f.csv")])
    _one_error_line(res, 2, match)


def test_api_and_batch_refuse_tags_that_break_column_names(phantom):
    img, msk = phantom / "image.nii.gz", phantom / "mask.nii.gz"
    with pytest.raises(UsageError, match=r"contains a dot.*'ct_v2'"):
        radiomix.extract(img, msk, tag="ct.v2", **FAST)
    cases = phantom / "cases.csv"
    cases.write_text("image,mask\nimage.nii.gz,mask.nii.gz\n", encoding="utf-8")
    with pytest.raises(UsageError, match="tag is empty"):
        radiomix.extract_many(cases, tag="", **FAST)
    res = runner.invoke(app, ["extract-many", str(cases), "--out", str(phantom / "o"), "-q",
                              "--tag", "ct v2"])
    _one_error_line(res, 2, "contains whitespace")


# --------------------------------------------------------------------------------------
# (6) the API's message for lists with spacing=


def test_lists_with_spacing_are_told_to_be_numpy_arrays():
    image = np.zeros((3, 3, 3)).tolist()
    with pytest.raises(UsageError) as info:
        radiomix.extract(image, image, spacing=(1.0, 1.0, 1.0))
    assert "carry their own geometry" not in str(info.value)
    assert "pass numpy arrays" in str(info.value)
