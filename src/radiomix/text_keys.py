"""How names and identifiers typed by people are compared.

One implementation for every place a user names something that radiomix looks up (an
RTSTRUCT ROI, a SEG segment label) or that must tell patients or categories apart (a patient
id, a level of a clinical covariate): the same text typed or stored in another Unicode form
is the same name.
"""

from __future__ import annotations

import math
import re
import unicodedata

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
"""A number as a table writes it (no thousands separator, no underscore)."""


def name_key(text: str) -> str:
    """A name (ROI name, segment label) in Unicode normal form C: composed and decomposed
    accents ("ö" as one character, or as "o" and a combining diaeresis) compare equal;
    letter case and other characters still count.

    Examples
    --------
    >>> name_key("Tumo\\u0308r") == name_key("Tum\\u00f6r")
    True
    >>> name_key("GTV") == name_key("gtv")
    False
    """
    return unicodedata.normalize("NFC", text)


def id_key(text: str) -> str:
    """A patient id as it identifies a patient: Unicode compatibility form (NFKC: accents
    composed, full-width letters as plain ones) and case folded. Two ids of one key that
    are written apart are one patient written twice, refused where tables are read.

    Examples
    --------
    >>> id_key("M\\u00dcLLER_1") == id_key("mu\\u0308ller_1")
    True
    >>> id_key("\\uff33\\uff34\\uff33_001") == id_key("STS_001")
    True
    """
    return unicodedata.normalize("NFKC", text).casefold()


def value_key(text: str) -> str:
    """A value typed by people (a patient id, a level of a clinical category) as it names
    one thing: a number by its value (``1``, ``1.0`` and ``01`` alike, as a spreadsheet
    rewrites them), any other text by :func:`id_key` (letter case and Unicode form
    ignored). Two values of one key that are written apart are one value written twice.

    Examples
    --------
    >>> value_key("1.0") == value_key("1") == value_key("01")
    True
    >>> value_key("TRUE") == value_key("true"), value_key("1a") == value_key("1A")
    (True, True)
    >>> value_key("1") == value_key("1.5")
    False
    """
    stripped = text.strip()
    if _NUMBER.fullmatch(stripped):
        number = float(stripped)
        if math.isfinite(number):
            return repr(number + 0.0)  # -0.0 as 0.0
    return id_key(stripped)
