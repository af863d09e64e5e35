"""The README's marked code blocks run, so that the README cannot drift from the code.

A block is marked by an HTML comment (invisible on GitHub) on the line right before its
opening fence:

- ``<!-- runnable -->`` before a ```` ```bash ```` or ```` ```python ```` block: the block is
  run from a fresh temporary folder laid out like a checkout beside the shared data (the
  working directory stands in for the checkout, with ``examples/`` linked in, and
  ``../shared/data`` links to the reference data), with the virtual environment's ``bin``
  first on ``PATH`` (so ``radiomix`` is the installed command): bash blocks with
  ``bash -euo pipefail``, python blocks with this interpreter. The block must exit 0; it
  writes only below that folder (``out/``).
- ``<!-- settings: defaults -->`` before a ```` ```yaml ```` block: read by the settings
  loader, it must equal ``ExtractionSettings()``, so the README's defaults are the true ones.
- ``<!-- settings: NAME -->`` (a preset name): it must equal the packaged preset.

The runnable blocks need ``../shared/data``; they skip with the reason when it is absent
(and fail under ``RADIOMIX_REQUIRE_DATA=1``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from _data import DATA_DIR, require_data

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = re.compile(r"^<!--\s*(runnable|settings:\s*(\S+))\s*-->\s*$")
FENCE = re.compile(r"^```(\w*)")
TIMEOUT_S = 600


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    kind: str  # "runnable" or "settings"
    arg: str | None  # the settings name
    code: str
    section: str

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.lang}-{self.section.lower().replace(' ', '_')}"


def marked_blocks(text: str) -> list[Block]:
    """Every fenced block preceded by a marker comment, in README order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    section = ""
    i = 0
    while i < len(lines):
        if lines[i].startswith("## "):
            section = lines[i][3:].strip()
        m = MARKER.match(lines[i].strip())
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        fence = FENCE.match(lines[j]) if j < len(lines) else None
        if fence is None:
            raise AssertionError(f"README line {i + 1}: marker {lines[i]!r} not before a fence")
        end = j + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if end == len(lines):
            raise AssertionError(f"README line {j + 1}: the fenced block is never closed")
        kind = "runnable" if m.group(1) == "runnable" else "settings"
        code = "\n".join(lines[j + 1 : end]) + "\n"
        blocks.append(Block(j + 1, fence.group(1), kind, m.group(2), code, section))
        i = end + 1
    return blocks


BLOCKS = marked_blocks(README.read_text(encoding="utf-8"))
RUNNABLE = [b for b in BLOCKS if b.kind == "runnable"]
SETTINGS = [b for b in BLOCKS if b.kind == "settings"]


def test_marker_parser_on_a_small_document():
    doc = (
        "## A\n<!-- runnable -->\n```bash\necho hi\n```\n"
        "```python\nnot marked\n```\n"
        "## B\n<!-- settings: ibsi-C -->\n\n```yaml\na: 1\n```\n"
    )
    got = marked_blocks(doc)
    assert [(b.line, b.lang, b.kind, b.arg, b.code, b.section) for b in got] == [
        (3, "bash", "runnable", None, "echo hi\n", "A"),
        (12, "yaml", "settings", "ibsi-C", "a: 1\n", "B"),
    ]
    with pytest.raises(AssertionError, match="not before a fence"):
        marked_blocks("<!-- runnable -->\ntext\n")


def test_the_sections_that_promise_runnable_code_have_it():
    sections = {(b.section, b.lang) for b in RUNNABLE}
    assert ("Quick start", "bash") in sections
    assert ("Python API", "python") in sections
    assert {b.arg for b in SETTINGS} >= {"defaults", "ibsi-C"}
    assert all(b.lang in ("bash", "python") for b in RUNNABLE)
    assert all(b.lang == "yaml" for b in SETTINGS)


@pytest.mark.parametrize("block", SETTINGS, ids=[b.id for b in SETTINGS])
def test_settings_block_is_true(block):
    from radiomix.settings import ExtractionSettings, load_preset, settings_from_dict

    shown = settings_from_dict(yaml.safe_load(block.code))
    expected = ExtractionSettings() if block.arg == "defaults" else load_preset(str(block.arg))
    assert shown == expected, f"README line {block.line}: settings differ from {block.arg}"


@pytest.fixture
def checkout_like(tmp_path):
    """An empty stand-in for the checkout beside ``shared/data`` (linked, read-only use)."""
    require_data("ibsi1")
    work = tmp_path / "checkout"
    work.mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(DATA_DIR.resolve(), target_is_directory=True)
    (work / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    return work


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.id for b in RUNNABLE])
def test_runnable_block(block, checkout_like):
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "MPLBACKEND": "Agg",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    if block.lang == "bash":
        cmd = ["bash", "-euo", "pipefail", "-c", block.code]
    else:
        cmd = [sys.executable, "-c", block.code]
    proc = subprocess.run(
        cmd,
        cwd=checkout_like,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, (
        f"README block at line {block.line} ({block.section}) exited {proc.returncode}\n"
        f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
    )
    # nothing escapes the stand-in checkout (the data are linked, never written)
    assert not (checkout_like.parent / "out").exists()
