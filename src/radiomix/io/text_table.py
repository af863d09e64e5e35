"""Text tables (CSV/TSV) written by spreadsheets: the delimiter check shared by every
reader of a user's table (manifest, feature and clinical tables, the cases of
``extract-many``)."""

from __future__ import annotations

from pathlib import Path

from radiomix.errors import InputError

_DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon"}


_WORKBOOK_MAGIC = {b"PK\x03\x04": "a zip file (an Excel .xlsx or OpenDocument workbook?)",
                   b"\xd0\xcf\x11\xe0": "an Excel 97-2003 .xls workbook"}


def refuse_workbook(path: Path) -> None:
    """Refuse a spreadsheet workbook given where a text table is read, by its first bytes
    (a zip container or an OLE2 file), with the export to use; nothing for anything else.

    Raises
    ------
    InputError
        ``path`` is a workbook, not comma-separated text.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError:
        return  # the reader reports it
    what = _WORKBOOK_MAGIC.get(head)
    if what is not None:
        raise InputError(
            f"{path.name} is {what}, not a text table: save it as comma-separated values "
            "(in Excel: File > Save As > CSV UTF-8) and give that file"
        )


def check_delimiter(path: Path, sep: str = ",") -> None:
    """Refuse a text table whose header is split by another delimiter than ``sep``, or that
    is a spreadsheet workbook (:func:`refuse_workbook`).

    Raises
    ------
    InputError
        The header holds no ``sep`` but holds ';', tab or ',' (a spreadsheet's export in
        another locale): the message names the delimiter found and the one expected.
    """
    refuse_workbook(path)
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline(1 << 16)
    if not header.strip() or sep in header:
        return
    found = next((d for d in _DELIMITERS if d != sep and d in header), None)
    if found is None:
        return  # one column: nothing to say
    kind = "comma-separated" if sep == "," else "tab-separated"
    other = {"\t": " or name it .tsv", ",": " or name it .csv"}.get(found, "")
    raise InputError(
        f"table {path.name} seems to use {_DELIMITERS[found]}s ({found!r}) as delimiter; "
        f"radiomix reads {kind} {path.suffix.lower()} files: save it {kind}{other}"
    )
