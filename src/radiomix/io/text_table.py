"""Text tables (CSV/TSV) written by spreadsheets: the delimiter check shared by every
reader of a user's table (manifest, feature and clinical tables, the cases of
``extract-many``)."""

from __future__ import annotations

from pathlib import Path

from radiomix.errors import InputError

_DELIMITERS = {",": "comma", "\t": "tab", ";": "semicolon"}


def check_delimiter(path: Path, sep: str = ",") -> None:
    """Refuse a text table whose header is split by another delimiter than ``sep``.

    Raises
    ------
    InputError
        The header holds no ``sep`` but holds ';', tab or ',' (a spreadsheet's export in
        another locale): the message names the delimiter found and the one expected.
    """
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
