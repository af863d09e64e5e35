"""The fast gzip inflate (libdeflate) against Python's ``gzip`` module, the reference.

:func:`radiomix.io.integrity._gunzip` must return exactly what ``gzip.decompress`` returns
for every stream it accepts, and raise exactly its error for every stream it refuses (so
the one-line messages of :func:`radiomix.io.integrity.read_nifti` are the same whichever
inflater ran).
"""

from __future__ import annotations

import gzip
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radiomix.errors import InputError
from radiomix.io.integrity import _gunzip, _libdeflate_gunzip, read_nifti


def outcome(fn, raw):
    try:
        return ("ok", fn(raw))
    except Exception as exc:  # the outcome itself is compared
        return (type(exc), str(exc))


@st.composite
def streams(draw):
    """Valid gzip streams (one or more members, any level, optional zero padding) and
    damaged ones (cut, one byte changed, bytes appended)."""
    members = draw(st.lists(st.binary(max_size=3000), min_size=1, max_size=3))
    level = draw(st.integers(0, 9))
    raw = b"".join(gzip.compress(m, compresslevel=level, mtime=0) for m in members)
    damage = draw(st.sampled_from(["none", "cut", "flip", "append", "zeros"]))
    if damage == "cut":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif damage == "flip":
        i = draw(st.integers(0, len(raw) - 1))
        raw = raw[:i] + bytes([raw[i] ^ draw(st.integers(1, 255))]) + raw[i + 1 :]
    elif damage == "append":
        raw = raw + draw(st.binary(min_size=1, max_size=20))
    elif damage == "zeros":
        raw = raw + b"\0" * draw(st.integers(1, 20))
    return raw


@settings(max_examples=300, deadline=None)
@given(raw=streams())
def test_same_bytes_or_same_error_as_gzip(raw):
    assert outcome(_gunzip, raw) == outcome(gzip.decompress, raw)


def test_large_compressible_payload():
    rng = np.random.default_rng(0)
    data = (rng.integers(-1000, 3000, 2_000_000, dtype=np.int16) // 7 * 7).tobytes()
    raw = gzip.compress(data, compresslevel=6)
    assert _gunzip(raw) == data


def _nifti_gz(tmp_path, tail=b""):
    import SimpleITK as sitk

    path = tmp_path / "img.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)),
                    str(path))  # fmt: skip
    path.write_bytes(path.read_bytes() + tail)
    return path


def test_trailing_garbage_is_named_as_such_not_as_a_truncation(tmp_path):
    """Bytes after the last member are gzip's error, not a truncation."""
    path = _nifti_gz(tmp_path, tail=b"garbage!")
    with pytest.raises(InputError, match="not a valid gzip-compressed NIfTI file") as err:
        read_nifti(path)
    assert "truncated" not in str(err.value)


def test_intact_file_reads_as_gzip_reads_it(tmp_path):
    path = _nifti_gz(tmp_path)
    _, data = read_nifti(path)
    assert data == gzip.decompress(path.read_bytes())


def test_zlib_errors_are_caught_by_the_reference():
    """A deflate error inside the stream is gzip's ``zlib.error``, whatever libdeflate said."""
    raw = gzip.compress(b"x" * 1000, mtime=0)
    broken = raw[:10] + b"\xff" * 8 + raw[18:]  # an invalid deflate block header
    got, want = outcome(_gunzip, broken), outcome(gzip.decompress, broken)
    assert got == want
    assert got[0] != "ok"
    assert issubclass(got[0], (zlib.error, OSError, EOFError))


def test_a_single_member_file_takes_the_fast_path(tmp_path):
    """The fast path is really used for what NIfTI writers produce (one member, nothing
    after it), so the equality tests above compare libdeflate with gzip."""
    raw = _nifti_gz(tmp_path).read_bytes()
    fast = _libdeflate_gunzip(raw)
    assert fast is not None
    assert bytes(fast) == gzip.decompress(raw)


@pytest.mark.parametrize("level", [1, 9])
def test_identical_members_are_all_read(level):
    """``cat a.gz a.gz``: each member's trailer matches the first member's content, so
    only the consumed length tells that a second member follows; both are returned."""
    member = gzip.compress(b"radiomix" * 500, compresslevel=level, mtime=0)
    assert _libdeflate_gunzip(member + member) is None
    assert bytes(_gunzip(member + member)) == b"radiomix" * 1000


def test_a_trailer_claiming_a_huge_size_costs_nothing_and_is_refused():
    raw = gzip.compress(b"x" * 1000, mtime=0)
    for isize in (2**32 - 1, 1000 * 1033, 1001):
        broken = raw[:-4] + isize.to_bytes(4, "little")
        assert _libdeflate_gunzip(broken) is None
        assert outcome(_gunzip, broken) == outcome(gzip.decompress, broken)
