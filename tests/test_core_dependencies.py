"""A plain ``pip install radiomix`` (no extras) extracts features, by the API and the CLI.

The development environment installs every extra, so a module that the extraction path
imports from an extra's package (threadpoolctl once was one) passes every other test and
fails every extraction of a core install. Here a fresh interpreter refuses to import any
installed package outside the closure of ``project.dependencies`` in ``pyproject.toml``
(their own requirements followed, extras' markers left out) and then extracts a synthetic
case with preset ``ibsi-C`` through :func:`radiomix.extract`, ``radiomix extract`` and
``radiomix extract-many --jobs 2`` (worker processes).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import importlib.metadata as md
    import re
    import sys

    from packaging.requirements import Requirement

    def norm(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    core = {norm(Requirement(r).name) for r in CORE}
    todo = list(core)
    while todo:
        name = todo.pop()
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is not None and "extra" in str(req.marker):
                continue
            if req.marker is not None and not req.marker.evaluate():
                continue
            dep = norm(req.name)
            if dep not in core:
                core.add(dep)
                todo.append(dep)
    owners = md.packages_distributions()

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            top = fullname.partition(".")[0]
            dists = owners.get(top)
            if top == "radiomix" or not dists:
                return None
            if any(norm(d) in core for d in dists):
                return None
            raise ModuleNotFoundError(f"No module named {top!r} (not a core dependency)")

    sys.meta_path.insert(0, Refuse())

    import numpy as np
    import SimpleITK as sitk

    rng = np.random.default_rng(0)
    img = (rng.normal(40.0, 30.0, size=(14, 16, 18))).astype(np.int16)
    mask = np.zeros(img.shape, dtype=np.uint8)
    mask[3:11, 4:12, 5:14] = 1
    for name, arr in (("image", img), ("mask", mask)):
        im = sitk.GetImageFromArray(arr)
        im.SetSpacing((0.9, 0.9, 2.5))
        sitk.WriteImage(im, f"{OUT}/{name}.nii.gz")

    import radiomix

    table = radiomix.extract(f"{OUT}/image.nii.gz", f"{OUT}/mask.nii.gz", "ibsi-C")
    print("api", sum(c.startswith("image.original.") for c in table.columns))
    from radiomix.cli import main

    def cli(*args):
        sys.argv = ["radiomix", *args]
        try:
            main()
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise

    cli("extract", f"{OUT}/image.nii.gz", f"{OUT}/mask.nii.gz", "--preset", "ibsi-C",
        "--out", f"{OUT}/row.parquet")
    with open(f"{OUT}/cases.csv", "w") as f:
        f.write(f"image,mask,case_id\\n{OUT}/image.nii.gz,{OUT}/mask.nii.gz,c1\\n")
    cli("extract-many", f"{OUT}/cases.csv", "--out", f"{OUT}/many", "--preset", "ibsi-C",
        "--jobs", "2", "--quiet")
    """
)


def test_a_core_install_extracts_by_api_and_cli(tmp_path: Path) -> None:
    """With only the core dependencies importable, every extraction path runs."""
    core = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    script = f"CORE = {core!r}\nOUT = {str(tmp_path)!r}\n" + SCRIPT
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "api 217" in proc.stdout, proc.stdout
    assert (tmp_path / "row.parquet").is_file()
    assert any((tmp_path / "many").glob("features.*")), sorted((tmp_path / "many").iterdir())
