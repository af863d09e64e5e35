"""Keeping file paths out of what a run writes.

A folder or file name often carries who the patient is (``DOE^JANE_MRN-123456/CT``, a
slice file named after the patient). The messages of a failed case name the file that
failed, which is what the console needs, but the records a run keeps (case records, error
tables, the analysis document and its report, which are shared) must carry only the
manifest's identifiers. :func:`redact_paths` rewrites such a message before it is stored.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = ["path_digest", "redact_paths"]

#: Characters that end a path inside a message (quotes, brackets, separators, colon, space).
_PATH_CHARS = r"[^\s'\"(),;:]"
#: An absolute POSIX path not preceded by a word character (so ``and/or`` and ``mm/s``
#: are left alone).
_ABSOLUTE = re.compile(rf"(?<![\w.~-])/(?=[^\s/]){_PATH_CHARS}+")
#: A name that reads as a word of a message, never replaced ("image", "mask", "pet").
_WORD = re.compile(r"[a-z]{1,12}")
_URL = re.compile(r"https?://[^\s()<>\"']+[^\s()<>\"'.,;:]")
"""A web address (http or https; a trailing full stop or comma is the sentence's)."""
#: Entries of an input folder listed for their names (a DICOM series folder).
_MAX_LISTED = 20_000


def _literal(text: str) -> Callable[[re.Match[str]], str]:
    """A replacement for :func:`re.sub` that inserts ``text`` as it is (no escapes)."""
    return lambda _match: text


def path_digest(path: str | os.PathLike[str]) -> str:
    """A short digest standing for a resolved path in a stored record (the same file gives
    the same digest; the name cannot be read back from it).

    Examples
    --------
    >>> len(path_digest("/data/DOE^JANE/ct.nii.gz"))
    16
    """
    return hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]


def redact_paths(message: str, inputs: Mapping[str, str | os.PathLike[str] | None], *,
                 keep: Sequence[str] = ()) -> str:
    """``message`` with the case's input paths replaced by their labels and every other
    absolute path by ``<path>``.

    Parameters
    ----------
    message : str
        An error message that may name input files.
    inputs : mapping of str to path or None
        Label (e.g. ``"<ct image>"``) -> input path as given (a file or a folder).
    keep : sequence of str
        The case's own identifiers (``P0/1/ct``), left as they are even where they look like
        a path.

    Returns
    -------
    str
        The message, where each input path (as given, absolute or resolved, with anything
        below it) reads as its label, each name of a file inside an input folder (a DICOM
        slice) as ``<file>``, the input's own file name as its label (except a plain
        lowercase word such as ``image``, which the message may use as a word), and any
        other absolute path as ``<path>``.

    Examples
    --------
    >>> redact_paths("slice 3 of /d/DOE^JANE/ct/IM0003 is truncated",
    ...              {"<ct image>": "/d/DOE^JANE/ct"})
    'slice 3 of <ct image> is truncated'
    >>> redact_paths("cannot read /home/u/MRN-123/x.nii: bad header", {})
    'cannot read <path>: bad header'
    >>> redact_paths("not found: /data/sts/nifti/P7/ct.nii.gz (line 3)",
    ...              {"<ct image>": "nifti/P7/ct.nii.gz"})     # relative to another folder
    'not found: <ct image> (line 3)'
    """
    out = str(message)
    # web addresses (a weight file's download URL: public, and what the message tells the
    # user to fetch) and, below, the case's ids (whole tokens only), held as private-use
    # characters (no digit or word character a later pattern could match) and put back at
    # the end
    urls = sorted(dict.fromkeys(_URL.findall(out)), key=len, reverse=True)
    held = sorted((k for k in dict.fromkeys(keep) if k and k not in urls), key=len,
                  reverse=True)
    marks = {k: chr(0xE000 + i) for i, k in enumerate([*urls, *held])}
    for url in urls:
        out = out.replace(url, marks[url])
    variants: list[tuple[str, str]] = []
    names: dict[str, str] = {}  # file name -> what it reads as
    for label, given in inputs.items():
        if not given:
            continue
        path = Path(given)
        resolved = path.resolve()
        for form in {str(given), os.path.abspath(given), str(resolved)}:
            if len(form.rstrip("/")) > 1:
                variants.append((form.rstrip("/"), label))
        if path.is_dir():
            try:
                with os.scandir(path) as entries:
                    for i, entry in enumerate(entries):
                        if i >= _MAX_LISTED:
                            break
                        names.setdefault(entry.name, "<file>")
            except OSError:
                pass  # a folder that cannot be listed: its path forms are still replaced
        for own in (path.name, resolved.name):
            names[own] = label
    for form, label in sorted(variants, key=lambda v: -len(v[0])):
        # a relative form (a manifest path, relative to the study's data root) takes the
        # folders written before it with it: the whole path reads as the label
        head = "" if form.startswith("/") else rf"(?<![\w.~-])(?:/{_PATH_CHARS}*/)?"
        out = re.sub(head + re.escape(form) + rf"(?:/{_PATH_CHARS}*)?", _literal(label), out)
    # the ids once the input paths are labels: an id that is also a folder of an input path
    # (nifti/STS_004/ct/mask.nii.gz) must not split the path before it is replaced
    if held:
        ids = re.compile(r"(?<![\w.^-])(?:" + "|".join(map(re.escape, held)) + r")(?![\w.^-])")
        out = ids.sub(lambda m: marks[m.group(0)], out)
    # a plain lowercase word could be a word of the message ("image", "mask", "ct")
    for name in sorted((n for n in names if len(n) >= 3 and not _WORD.fullmatch(n)
                        and n in out), key=len, reverse=True):
        out = re.sub(rf"(?<![\w.<-]){re.escape(name)}(?![\w>-]|\.\w)",
                     _literal(names[name]), out)
    out = _ABSOLUTE.sub("<path>", out)
    for k, mark in marks.items():
        out = out.replace(mark, k)
    return out
