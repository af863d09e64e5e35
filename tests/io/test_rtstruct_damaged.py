"""Damaged RTSTRUCTs are refused with one clear line, never rasterised into a wrong mask.

Each object is the IBSI CT phantom's structure set (ROI ``GTV-1``, 26 closed planar
contours, each ending on a repeat of its first point) edited here with pydicom, as an
exporter glitch or a truncated transfer would leave it: a contour listed twice (under the
even-odd rule it erased its slice: a smaller volume, exit 0), a contour of 2 points or of
collinear points, open contours, NaN or a missing value in ContourData, a contour set that
names no ROI. A real hole (a contour strictly inside another) must still be cut out.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from _data import require_data
from radiomix.errors import DicomError, InputError, LabelNotFoundError
from radiomix.io import load_image, load_mask

ROI = "GTV-1"


@pytest.fixture(scope="module")
def image() -> sitk.Image:
    return load_image(require_data("ibsi1", "ct_phantom", "dicom", "image"))


def _rs(tmp_path, edit: Callable[[pydicom.Dataset], None], name: str = "rs.dcm"):
    src = require_data("ibsi1", "ct_phantom", "dicom", "mask", "DCM_RS_00060.dcm")
    ds = pydicom.dcmread(src)
    edit(ds)
    path = tmp_path / name
    ds.save_as(path)
    if edit is _not_a_number:  # pydicom refuses to write a non-numeric DS value
        raw = path.read_bytes()
        assert raw.count(b"123.4567") == 1
        path.write_bytes(raw.replace(b"123.4567", b"12x.4567"))
    return path


def _contours(ds: pydicom.Dataset) -> pydicom.Sequence:
    return ds.ROIContourSequence[0].ContourSequence


def _points(contour: pydicom.Dataset) -> np.ndarray:
    return np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)


def _set_points(contour: pydicom.Dataset, pts: np.ndarray) -> None:
    contour.ContourData = [f"{v:.4f}" for v in pts.ravel()]
    contour.NumberOfContourPoints = len(pts)


def _largest(ds: pydicom.Dataset) -> int:
    return int(np.argmax([len(c.ContourData) for c in _contours(ds)]))


def _voxels(path, image) -> int:
    # a copy: a view of a temporary image reads its buffer after the image is freed
    return int(sitk.GetArrayFromImage(load_mask(path, image, roi_name=ROI)).sum())


# -- a contour listed twice ----------------------------------------------------------------


def _repeat(transform: Callable[[np.ndarray], np.ndarray]):
    def edit(ds):
        seq = _contours(ds)
        dup = copy.deepcopy(seq[_largest(ds)])
        _set_points(dup, transform(_points(dup)))
        seq.append(dup)

    return edit


def _rotated(pts):  # same ring, read from its 6th point; closing point kept
    ring = pts[:-1]
    ring = np.roll(ring, -5, axis=0)
    return np.vstack([ring, ring[:1]])


@pytest.mark.parametrize(
    "transform",
    [lambda p: p, _rotated, lambda p: p[::-1], lambda p: p[:-1]],
    ids=["exact", "other-start", "reversed", "no-closing-point"],
)
def test_repeated_contour_is_refused(tmp_path, image, transform):
    path = _rs(tmp_path, _repeat(transform))
    n = len(_contours(pydicom.dcmread(path)))
    with pytest.raises(InputError, match=rf"contours \d+ and {n} of ROI 'GTV-1' in rs\.dcm") as e:
        load_mask(path, image, roi_name=ROI)
    assert "z = " in str(e.value)
    assert "remove the duplicate contour" in str(e.value)


def test_hole_inside_a_contour_is_still_cut_out(tmp_path, image):
    def edit(ds):
        seq = _contours(ds)
        hole = copy.deepcopy(seq[_largest(ds)])
        pts = _points(hole)
        centre = pts[:-1].mean(axis=0)
        _set_points(hole, centre + 0.4 * (pts - centre))  # strictly inside the outline
        seq.append(hole)

    intact = _rs(tmp_path, lambda ds: None, "intact.dcm")
    holed = _rs(tmp_path, edit, "holed.dcm")
    full, cut = _voxels(intact, image), _voxels(holed, image)
    assert 0 < cut < full
    assert full - cut > 20  # a real hole, not a rounding difference


def test_contours_of_other_slices_with_same_outline_are_kept(tmp_path, image):
    """Only a repeat on the same plane is a duplicate: the same outline one slice up is a
    legitimate contour (a prism) and must not be refused."""
    src = pydicom.dcmread(require_data("ibsi1", "ct_phantom", "dicom", "mask", "DCM_RS_00060.dcm"))
    zs = sorted({round(float(_points(c)[0, 2]), 3) for c in _contours(src)})
    step = zs[1] - zs[0]

    def edit(ds):
        seq = _contours(ds)
        top = max(range(len(seq)), key=lambda i: _points(seq[i])[0, 2])
        copy_up = copy.deepcopy(seq[top])
        pts = _points(copy_up)
        pts[:, 2] += step
        _set_points(copy_up, pts)
        seq.append(copy_up)

    intact = _rs(tmp_path, lambda ds: None, "intact.dcm")
    grown = _rs(tmp_path, edit, "grown.dcm")
    assert _voxels(grown, image) > _voxels(intact, image)


# -- degenerate and open contours ------------------------------------------------------------


def _two_points(ds):
    c = _contours(ds)[5]
    _set_points(c, _points(c)[:2])


def _collinear(ds):
    c = _contours(ds)[5]
    pts = _points(c)
    line = np.linspace(pts[0], pts[len(pts) // 2], 7)
    _set_points(c, line)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_two_points, r"contour 6 of 26 of ROI 'GTV-1' in rs\.dcm \(z = -?[\d.]+ mm\) has 2 "),
        (_collinear, r"contour 6 of 26 of ROI 'GTV-1' .*encloses no area"),
    ],
    ids=["two-points", "collinear"],
)
def test_degenerate_contour_is_refused(tmp_path, image, edit, match):
    with pytest.raises(InputError, match=match):
        load_mask(_rs(tmp_path, edit), image, roi_name=ROI)


@pytest.mark.parametrize("kind", ["OPEN_PLANAR", "OPEN_NONPLANAR", "POINT"])
def test_contours_that_are_not_closed_are_refused(tmp_path, image, kind):
    def edit(ds):
        for c in _contours(ds):
            c.ContourGeometricType = kind

    with pytest.raises(InputError, match=rf"26 {kind} of 26 contours.*enclose a volume"):
        load_mask(_rs(tmp_path, edit), image, roi_name=ROI)


def test_one_open_contour_among_closed_ones_is_refused(tmp_path, image):
    def edit(ds):
        _contours(ds)[3].ContourGeometricType = "OPEN_PLANAR"

    with pytest.raises(InputError, match=r"not made of closed contours \(1 OPEN_PLANAR of 26"):
        load_mask(_rs(tmp_path, edit), image, roi_name=ROI)


# -- malformed structure sets --------------------------------------------------------------


def _nan(ds):
    c = _contours(ds)[5]
    v = list(c.ContourData)
    v[0] = "NaN"
    c.ContourData = v


def _not_triplets(ds):
    c = _contours(ds)[5]
    c.ContourData = list(c.ContourData)[:-1]


def _count_mismatch(ds):  # a whole point lost: still triplets, but fewer than declared
    c = _contours(ds)[5]
    c.ContourData = list(c.ContourData)[:-3]


def _not_a_number(ds):  # marked here, made non-numeric in the file bytes by _rs
    c = _contours(ds)[5]
    v = list(c.ContourData)
    v[4] = "123.4567"
    c.ContourData = v


def _no_data(ds):
    del _contours(ds)[5].ContourData


def _no_roi_number(ds):
    del ds.ROIContourSequence[0].ReferencedROINumber


def _two_contour_sets(ds):
    ds.ROIContourSequence.append(copy.deepcopy(ds.ROIContourSequence[0]))


def _roi_without_number(ds):
    del ds.StructureSetROISequence[0].ROINumber


def _shared_roi_number(ds):
    other = copy.deepcopy(ds.StructureSetROISequence[0])
    other.ROIName = "Other"
    ds.StructureSetROISequence.append(other)


def _same_name_twice(ds):
    other = copy.deepcopy(ds.StructureSetROISequence[0])
    other.ROINumber = 99
    ds.StructureSetROISequence.append(other)
    contours = copy.deepcopy(ds.ROIContourSequence[0])
    contours.ReferencedROINumber = 99
    ds.ROIContourSequence.append(contours)


MALFORMED = {
    "nan": (_nan, r"contour 6 of 26 of ROI 'GTV-1' in rs\.dcm has a non-finite coordinate"),
    "not-triplets": (_not_triplets, r"contour 6 of 26 .* not a multiple of 3"),
    "point-count": (_count_mismatch, r"contour 6 of 26 .* declares NumberOfContourPoints"),
    "not-a-number": (_not_a_number, r"contour 6 of 26 .* non-numeric value in its ContourData"),
    "no-data": (_no_data, r"contour 6 of 26 of ROI 'GTV-1' in rs\.dcm has no ContourData"),
    "no-referenced-roi": (_no_roi_number, r"item 1 of the ROIContourSequence .*ReferencedROI"),
    "two-contour-sets": (_two_contour_sets, r"ROI 'GTV-1' has 2 contour sets"),
    "no-roi-number": (_roi_without_number, r"ROI 'GTV-1' of RTSTRUCT rs\.dcm has no valid ROI"),
    "shared-roi-number": (_shared_roi_number, r"ROIs 'GTV-1' and 'Other' .* share ROINumber"),
    "same-name-twice": (_same_name_twice, r"holds 2 ROIs named 'GTV-1' \(ROINumber"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_structure_set_is_a_dicom_error(tmp_path, image, case):
    edit, match = MALFORMED[case]
    with pytest.raises(DicomError, match=match) as e:
        load_mask(_rs(tmp_path, edit), image, roi_name=ROI)
    assert "\n" not in str(e.value)
    assert "damaged" in str(e.value) or "rename" in str(e.value)


def test_unnamed_choice_among_rois_of_one_name_says_to_rename(tmp_path, image):
    with pytest.raises(LabelNotFoundError, match=r"holds 2 ROIs .*share a name.*renamed"):
        load_mask(_rs(tmp_path, _same_name_twice), image, roi_name=None)


def test_contours_for_an_undeclared_roi_are_named(tmp_path, image):
    def edit(ds):
        ds.ROIContourSequence[0].ReferencedROINumber = 7

    with pytest.raises(LabelNotFoundError, match=r"no contours; .*ROINumber 7, which no ROI"):
        load_mask(_rs(tmp_path, edit), image, roi_name=ROI)


def test_roi_names_of_a_damaged_file_is_an_input_error(tmp_path):
    from radiomix.io import roi_names

    assert roi_names(_rs(tmp_path, lambda ds: None)) == [ROI]
    with pytest.raises(DicomError, match="no valid ROINumber"):
        roi_names(_rs(tmp_path, _roi_without_number, "bad.dcm"))


# -- through the command line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_repeat(lambda p: p), r"InputError\): contours \d+ and 27 of ROI 'GTV-1'"),
        (_nan, r"DicomError\): contour 6 of 26 .*non-finite"),
        (_no_roi_number, r"DicomError\): item 1 of the ROIContourSequence"),
    ],
    ids=["repeated-contour", "nan", "no-referenced-roi"],
)
def test_cli_prints_one_line_and_exits_1(tmp_path, edit, match):
    ct = require_data("ibsi1", "ct_phantom", "dicom", "image")
    rs = _rs(tmp_path, edit)
    out = tmp_path / "t.csv"
    res = subprocess.run(
        [sys.executable, "-c", "from radiomix.cli import main; main()", "extract", str(ct),
         str(rs), "--roi-name", ROI, "--preset", "ibsi-C", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    both = res.stdout + res.stderr
    assert res.returncode == 1, both
    assert "Traceback" not in both, both
    assert "InternalError" not in both, both
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error ("), lines[0]
    assert re.search(match, lines[0]), lines[0]
    uid = str(
        pydicom.dcmread(sorted(ct.glob("*.dcm"))[0], stop_before_pixels=True).SeriesInstanceUID
    )
    assert uid not in both
    assert not out.exists()


def test_a_cut_short_structure_set_is_named_a_damaged_dicom_file(tmp_path, image):
    src = require_data("ibsi1", "ct_phantom", "dicom", "mask", "DCM_RS_00060.dcm")
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(src.read_bytes()[:2000])
    with pytest.raises(DicomError, match=r"mask cut\.dcm is a damaged DICOM file"):
        load_mask(cut, reference=image)


def test_an_image_slice_given_as_the_mask_is_named(tmp_path, image):
    slice_file = sorted(require_data("ibsi1", "ct_phantom", "dicom", "image").glob("*.dcm"))[0]
    with pytest.raises(DicomError, match=r"is a DICOM CT object, not an RTSTRUCT or a DICOM SEG"):
        load_mask(slice_file, reference=image)


# -- two contours of one slice that cross ------------------------------------------------------


def _add_shifted(fraction: float):
    """A copy of the largest contour moved in its plane by ``fraction`` of its width."""

    def edit(ds):
        seq = _contours(ds)
        other = copy.deepcopy(seq[_largest(ds)])
        pts = _points(other)
        pts[:, 0] += fraction * np.ptp(pts[:, 0])
        _set_points(other, pts)
        seq.append(other)

    return edit


def test_crossing_contours_of_one_slice_are_refused(tmp_path, image):
    """Two outlines of one slice that overlap in part: the even-odd fill cut their overlap
    out of the ROI (a hole nobody drew) with exit 0; now refused with both contours named."""
    path = _rs(tmp_path, _add_shifted(0.3))
    n = len(_contours(pydicom.dcmread(path)))
    with pytest.raises(InputError, match=rf"contours \d+ and {n} of ROI 'GTV-1' in rs\.dcm "
                                         r"cross each other \(z = ") as e:
        load_mask(path, image, roi_name=ROI)
    assert "merge them into one contour" in str(e.value)


def _add_shifted_mm(dx_mm: float):
    """A copy of the largest contour moved by ``dx_mm`` along x: on the phantom's contours
    (points on a 0.4 mm grid, staircase outlines) a shift by a multiple of the grid step
    makes the outlines overlap through shared vertices and collinear edges only, with no
    proper edge crossing."""

    def edit(ds):
        seq = _contours(ds)
        other = copy.deepcopy(seq[_largest(ds)])
        pts = _points(other)
        pts[:, 0] += dx_mm
        _set_points(other, pts)
        seq.append(other)

    return edit


@pytest.mark.parametrize("dx_mm", [2.0, 10.0])
def test_contours_overlapping_without_a_proper_crossing_are_refused(tmp_path, image, dx_mm):
    """A contour copied with a 2 or 10 mm shift overlaps the original in part, but its
    outline meets the original's only at shared vertices and collinear edges: the edge
    test saw no crossing and the even-odd fill cut the overlap out (-4 % volume, exit 0).
    The filled voxels tell it: refused, both contours named."""
    path = _rs(tmp_path, _add_shifted_mm(dx_mm))
    from radiomix.io.rtstruct import _rings_cross

    ds = pydicom.dcmread(path)
    seq = _contours(ds)
    assert not _rings_cross(_points(seq[_largest(ds)])[:, :2], _points(seq[-1])[:, :2])
    with pytest.raises(InputError, match=rf"contours \d+ and {len(seq)} of ROI 'GTV-1' in "
                                         r"rs\.dcm overlap in part \(z = .*voxel\(s\) lie "
                                         "inside both"):  # fmt: skip
        load_mask(path, image, roi_name=ROI)


def test_outlines_touching_along_an_edge_are_not_an_overlap():
    """Squares sharing an edge through voxel centres: both fills hold the edge's voxels,
    but no voxel inside both lies off the outlines: not refused (touching, as for the edge
    test). A real overlap of the same squares is refused."""
    from skimage.draw import polygon2mask

    from radiomix.io.rtstruct import _check_nested_or_apart, _Plane

    def plane(number, corners):
        pts = np.asarray(corners, float) + 3.0
        return _Plane(number=number, slice=0, z=0.0, index=pts, points=pts), polygon2mask(
            (16, 16), pts[:, [1, 0]]
        )

    a = plane(1, [(0, 0), (5, 0), (5, 5), (0, 5)])
    touching = plane(2, [(5, 0), (10, 0), (10, 5), (5, 5)])
    corner = plane(3, [(5, 5), (10, 5), (10, 10), (5, 10)])
    overlapping = plane(4, [(3, 0), (8, 0), (8, 5), (3, 5)])
    assert (a[1] & touching[1]).any()  # the shared edge is in both fills
    _check_nested_or_apart(*a, *touching, "rs.dcm", ROI)
    _check_nested_or_apart(*a, *corner, "rs.dcm", ROI)
    with pytest.raises(InputError, match=r"contours 1 and 4 .* overlap in part"):
        _check_nested_or_apart(*a, *overlapping, "rs.dcm", ROI)


def test_two_islands_on_one_slice_are_both_filled(tmp_path, image):
    """A second outline beside the first (apart, not crossing) is a second island: kept."""
    def edit(ds):
        seq = _contours(ds)
        island = copy.deepcopy(seq[_largest(ds)])
        pts = _points(island)
        centre = pts[:-1].mean(axis=0)
        small = centre + 0.3 * (pts - centre)  # a third of the size, moved left of the outline
        small[:, 0] += pts[:, 0].min() - small[:, 0].max() - 5.0
        _set_points(island, small)
        seq.append(island)

    intact = _rs(tmp_path, lambda ds: None, "intact.dcm")
    islands = _rs(tmp_path, edit, "islands.dcm")
    assert _voxels(islands, image) > _voxels(intact, image)


@pytest.mark.parametrize(
    ("a", "b", "cross"),
    [
        ([(0, 0), (4, 0), (4, 4), (0, 4)], [(2, 2), (6, 2), (6, 6), (2, 6)], True),
        ([(0, 0), (4, 0), (4, 4), (0, 4)], [(1, 1), (3, 1), (3, 3), (1, 3)], False),  # hole
        ([(0, 0), (4, 0), (4, 4), (0, 4)], [(5, 0), (9, 0), (9, 4), (5, 4)], False),  # apart
        ([(0, 0), (4, 0), (4, 4), (0, 4)], [(4, 0), (8, 0), (8, 4), (4, 4)], False),  # edge
        ([(0, 0), (4, 0), (4, 4), (0, 4)], [(4, 4), (8, 4), (8, 8), (4, 8)], False),  # corner
        ([(0, 0), (4, 0), (4, 4), (0, 4)], [(-1, 1), (5, 1), (5, 3), (-1, 3)], True),  # band
    ],
    ids=["overlap", "nested", "apart", "shared-edge", "shared-corner", "band-through"],
)
def test_rings_cross_tells_overlap_from_holes_islands_and_touching(a, b, cross):
    from radiomix.io.rtstruct import _rings_cross

    a, b = np.asarray(a, float), np.asarray(b, float)
    assert _rings_cross(a, b) is cross
    assert _rings_cross(b, a) is cross
    assert _rings_cross(np.vstack([a, a[:1]]), b[::-1]) is cross  # closing point, reversed


def test_a_roi_name_in_decomposed_unicode_is_found_by_its_composed_spelling():
    # outside tester b (round 21): "ROI 'Tumör' not found ...; did you mean 'Tumör'?"
    import unicodedata

    from radiomix.io.rtstruct import _select_roi

    names = {1: "GTV", 2: unicodedata.normalize("NFD", "Tumör")}
    assert _select_roi(names, unicodedata.normalize("NFC", "Tumör"), "RS.dcm") == 2
    names = {1: unicodedata.normalize("NFC", "Tumör"), 2: unicodedata.normalize("NFD", "Tumör")}
    with pytest.raises(DicomError, match="holds 2 ROIs named"):
        _select_roi(names, "Tumör", "RS.dcm")
