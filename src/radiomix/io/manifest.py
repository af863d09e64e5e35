"""The manifest of a study: one CSV row per lesion, one image and mask per image tag.

Columns
-------
``patient_id``, ``lesion_id``
    Identifiers (column names configurable in the study file); the pair must be unique.
``<tag>_image``
    Image file (NIfTI, NRRD, MHA) or DICOM series folder of each image tag.
``<tag>_mask``
    Mask: label image file, RTSTRUCT or DICOM SEG.
``<tag>_label`` (optional)
    Label value of the mask, or SEG segment number; overrides the study's ``roi.label``.
``<tag>_roi_name`` (optional)
    RTSTRUCT ROI name or SEG segment label; overrides the study's ``roi.roi_name``.
``<tag>_organ`` (optional)
    Organ mask (label image, RTSTRUCT or SEG) on the tag's image grid, clipping the
    peritumoral ring when the tag's settings set ``preprocess.ring_clip: organ``.
Clinical columns
    Labels, time, event, centre and covariates named in the study file are copied into
    the feature table; other columns are ignored.

Relative paths start from ``data_root`` (the manifest's folder unless the study file sets
it); absolute paths and ``~`` are accepted. A lesion whose image and mask cells of a tag
are both empty has no image of that tag (its columns are missing); a lesion with only one
of the two is an error of that case. Tags registered to another tag (``register_to`` in
the study file) may leave ``<tag>_mask`` empty, or omit the column: they then use the
reference tag's mask.

Problems of the whole file (missing columns, duplicate or empty identifiers) raise
:class:`~radiomix.errors.SettingsError`; problems of one cell (a label that is not an
integer) are returned with the row (:attr:`TagInput.problem`) so that a cohort run records
them as errors of that case and goes on.
"""

from __future__ import annotations

import csv
import difflib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from radiomix.errors import InputError, SettingsError
from radiomix.io.text_table import check_delimiter, refuse_workbook
from radiomix.text_keys import id_key

log = logging.getLogger(__name__)

TAG_COLUMN_SUFFIXES = ("_image", "_mask", "_label", "_roi_name", "_organ")
"""Suffixes of the per-tag manifest columns."""


@dataclass(frozen=True, slots=True)
class TagInput:
    """Image and mask of one lesion for one image tag, as given in the manifest.

    Attributes
    ----------
    image, mask : Path or None
        Resolved paths (``None`` when the cell is empty).
    label : int or None
        ``<tag>_label`` cell.
    roi_name : str or None
        ``<tag>_roi_name`` cell.
    problem : str or None
        What is wrong with this lesion's cells for this tag (the case cannot run).
    organ : Path or None
        ``<tag>_organ`` cell: organ mask (``None`` when empty or the column is absent).
    """

    image: Path | None
    mask: Path | None
    label: int | None = None
    roi_name: str | None = None
    problem: str | None = None
    organ: Path | None = None


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One lesion of the manifest.

    Attributes
    ----------
    patient_id, lesion_id : str
        Identifiers, as written in the manifest (leading zeros kept).
    inputs : dict of str to TagInput or None
        Per image tag; ``None`` when the lesion has no image of that tag.
    values : dict of str to str
        The clinical columns carried into the table, as text ("" when empty).
    line : int
        Line number in the CSV file (header = line 1), for messages.
    """

    patient_id: str
    lesion_id: str
    inputs: dict[str, TagInput | None] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    line: int = 0


def _suggest(name: str, columns: Sequence[str]) -> str:
    near = difflib.get_close_matches(name, list(columns), n=1, cutoff=0.6)
    return f"; did you mean {near[0]!r}?" if near else ""


def _resolve(cell: str, root: Path) -> Path:
    p = Path(cell).expanduser()
    return p if p.is_absolute() else root / p


def read_manifest(
    path: str | Path,
    *,
    tags: Sequence[str],
    data_root: str | Path | None = None,
    patient_column: str = "patient_id",
    lesion_column: str = "lesion_id",
    carry: Sequence[str] = (),
    mask_optional: Sequence[str] = (),
) -> list[ManifestRow]:
    """Read and check a manifest CSV.

    Parameters
    ----------
    path : str or Path
        The manifest (UTF-8 CSV with a header row; a byte-order mark is accepted).
    tags : sequence of str
        Image tags of the study; ``<tag>_image`` and ``<tag>_mask`` columns are required.
    data_root : str or Path, optional
        Folder that relative paths start from (default: the manifest's folder).
    patient_column, lesion_column : str
        Names of the identifier columns.
    carry : sequence of str
        Clinical columns to return with each row (they must exist).
    mask_optional : sequence of str
        Tags whose ``<tag>_mask`` column may be absent and whose mask cells may be empty
        (tags registered to a reference tag, which use the reference's mask).

    Returns
    -------
    list of ManifestRow
        Rows in file order.

    Raises
    ------
    SettingsError
        The file is missing or empty, a required column is missing (with the nearest
        column name), a column name repeats, or an identifier is empty or repeats.

    Examples
    --------
    >>> rows = read_manifest("manifest.csv", tags=["ct", "pet"])  # doctest: +SKIP
    >>> rows[0].inputs["ct"].image  # doctest: +SKIP
    PosixPath('/data/sts/STS_001/ct/image.nii.gz')
    """
    path = Path(path)
    root = Path(data_root) if data_root is not None else path.parent
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            lines = [(reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise SettingsError(f"manifest not found: {path}") from None
    except UnicodeDecodeError as exc:
        refuse_workbook(path)
        raise SettingsError(f"manifest {path} is not UTF-8 text: {exc}") from exc
    except csv.Error as exc:
        refuse_workbook(path)
        raise SettingsError(f"manifest {path} is not a valid CSV file: {exc}") from exc
    lines = [(n, row) for n, row in lines if any(c.strip() for c in row)]
    if not lines:
        raise SettingsError(
            f"manifest {path} is empty; it needs a header row and one row per lesion"
        )
    header = [c.strip() for c in lines[0][1]]
    try:
        check_delimiter(path, ",")
    except InputError as exc:
        raise SettingsError(f"manifest {exc}") from None
    seen: set[str] = set()
    for col in header:
        if not col:
            raise SettingsError(f"manifest {path} has a column without a name in its header")
        if col in seen:
            raise SettingsError(f"manifest {path} has the column {col!r} twice")
        seen.add(col)

    required = [patient_column, lesion_column]
    for tag in tags:
        required += [f"{tag}_image"] if tag in mask_optional else [f"{tag}_image", f"{tag}_mask"]
    for col in [*required, *carry]:
        if col not in seen:
            raise SettingsError(
                f"manifest {path} lacks the column {col!r}{_suggest(col, header)} "
                f"(columns found: {', '.join(header)})"
            )
    known = {f"{t}{s}" for t in tags for s in TAG_COLUMN_SUFFIXES}
    for col in header:
        if col.endswith(TAG_COLUMN_SUFFIXES) and col not in known:
            log.warning(
                "manifest column %r belongs to no image tag of the study (%s); it is ignored",
                col,
                ", ".join(tags),
            )

    index = {c: i for i, c in enumerate(header)}
    rows: list[ManifestRow] = []
    ids: dict[tuple[str, str], int] = {}
    spelt: dict[str, tuple[str, int]] = {}  # casefolded patient id -> first spelling, line
    for line, raw in lines[1:]:
        if len(raw) > len(header):
            raise SettingsError(
                f"manifest {path} line {line} has {len(raw)} cells, the header {len(header)}"
            )
        cells = [c.strip() for c in raw] + [""] * (len(header) - len(raw))

        def cell(col: str, cells: list[str] = cells) -> str:
            return cells[index[col]] if col in index else ""

        pid, lid = cell(patient_column), cell(lesion_column)
        if not pid or not lid:
            raise SettingsError(
                f"manifest {path} line {line}: empty {patient_column if not pid else lesion_column}"
            )
        for id_column, id_text in ((patient_column, pid), (lesion_column, lid)):
            if not id_text.isprintable():
                raise SettingsError(
                    f"manifest {path} line {line}: {id_column} {id_text!r} holds an invisible or "
                    "control character (a zero-width or non-breaking space, a tab): two ids "
                    "that look alike would be two patients; write the id in plain text")
        if (pid, lid) in ids:
            raise SettingsError(
                f"manifest {path} line {line}: {patient_column} {pid!r} with {lesion_column} "
                f"{lid!r} repeats line {ids[(pid, lid)]}; each lesion needs its own row"
            )
        ids[(pid, lid)] = line
        first, seen_line = spelt.setdefault(id_key(pid), (pid, line))
        if first != pid:
            raise SettingsError(
                f"manifest {path} line {line}: {patient_column} {pid!r} differs from {first!r} "
                f"(line {seen_line}) only in letter case or Unicode form: read as two patients, "
                "one patient's lesions could sit on both sides of a split (the analysis refuses "
                "them); write each patient's id alike"
            )
        inputs: dict[str, TagInput | None] = {}
        for tag in tags:
            img, msk = cell(f"{tag}_image"), cell(f"{tag}_mask")
            label_text, roi = cell(f"{tag}_label"), cell(f"{tag}_roi_name") or None
            organ = cell(f"{tag}_organ")
            if not img and not msk:
                inputs[tag] = None
                continue
            problem = None
            if not img or (not msk and tag not in mask_optional):
                empty = f"{tag}_image" if not img else f"{tag}_mask"
                problem = (
                    f"manifest line {line}: {empty} is empty while "
                    f"{tag}_{'mask' if not img else 'image'} is set; give both, or neither "
                    f"when the lesion has no {tag} image"
                )
            label = None
            if label_text:
                try:
                    value = float(label_text)
                    if not value.is_integer():
                        raise ValueError
                    label = int(value)
                except ValueError:
                    problem = (
                        f"manifest line {line}: {tag}_label {label_text!r} is not an integer "
                        "label value (or SEG segment number)"
                    )
            inputs[tag] = TagInput(
                image=_resolve(img, root) if img else None,
                mask=_resolve(msk, root) if msk else None,
                label=label,
                roi_name=roi,
                problem=problem,
                organ=_resolve(organ, root) if organ else None,
            )
        rows.append(
            ManifestRow(
                patient_id=pid,
                lesion_id=lid,
                inputs=inputs,
                values={c: cell(c) for c in carry},
                line=line,
            )
        )
    if not rows:
        raise SettingsError(f"manifest {path} has a header but no lesion rows")
    _check_shared_inputs(rows, path, patient_column)
    return rows


def _check_shared_inputs(rows: Sequence[ManifestRow], path: Path, patient_column: str) -> None:
    """Warn when two rows name the same image, mask, label and ROI name of a tag: a copied
    line puts one patient's data in the table twice, under two ids (on both sides of a
    split), or one lesion twice under two lesion ids (counted twice). A warning, not an
    error: a phantom or test-retest study may do it on purpose.
    """
    shared = 0
    owner: dict[tuple[str, Path, Path, int | None, str | None], ManifestRow] = {}
    for row in rows:
        for tag, given in row.inputs.items():
            if given is None or given.image is None or given.mask is None:
                continue
            key = (tag, given.image, given.mask, given.label, given.roi_name)
            first = owner.setdefault(key, row)
            if first is row:
                continue
            shared += 1
            if shared > 1:
                continue
            if first.patient_id != row.patient_id:
                log.warning(
                    "manifest %s line %d: %s %r names the same %s image and mask as %r "
                    "(line %d): one patient's data under two ids reaches both sides of "
                    "a split; check the paths", path.name, row.line, patient_column,
                    row.patient_id, tag, first.patient_id, first.line)
            else:
                log.warning(
                    "manifest %s line %d: lesion %r of %s %r names the same %s image, mask "
                    "and ROI as its lesion %r (line %d): one lesion would be counted twice; "
                    "check the paths", path.name, row.line, row.lesion_id, patient_column,
                    row.patient_id, tag, first.lesion_id, first.line)
    if shared > 1:
        log.warning("manifest %s: %d rows name the image and mask of another row",
                    path.name, shared)
