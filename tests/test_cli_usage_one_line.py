"""A usage error of any command is one line and exit 2 (outside tester W, round 20): a bad
option value, a missing argument or an unknown command printed a box of 3 to 6 lines
(click's rich formatting), against the one-line rule of every other error."""

from __future__ import annotations

import pytest

from _data import run_cli


@pytest.mark.parametrize(("args", "said"), [
    (("run", "study.yaml", "--jobs", "0"),
     "Invalid value for '--jobs' / '-j': Input should be greater than or equal to 1; see "
     "radiomix run --help"),
    (("extract",), "Missing argument 'image'; see radiomix extract --help"),
    (("nosuch",), "No such command 'nosuch'; see radiomix --help"),
    (("extract", "a.nii", "b.nii", "--out", "f.csv", "--format", "CSV"), "No such option"),
    (("weights", "add"), "Missing argument 'file'; see radiomix weights add --help"),
])
def test_a_usage_error_is_one_line_and_exit_2(tmp_path, args, said):
    res = run_cli(*args, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error (UsageError): ")
    assert said in lines[0]


def test_help_and_a_bare_group_still_show_the_help(tmp_path):
    res = run_cli("extract", "--help", cwd=tmp_path)
    assert res.returncode == 0
    assert "Usage: radiomix extract" in res.stdout
    bare = run_cli("weights", cwd=tmp_path)
    assert bare.returncode == 2  # as click does: a group needs a command
    assert "Usage: radiomix weights" in bare.stdout + bare.stderr
