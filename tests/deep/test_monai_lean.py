"""MONAI imported lean (radiomix._monai): the same networks, fewer packages, only where wanted.

Oracle: the same backbone built in a process that imports MONAI whole (``import monai``, as
MONAI documents). Each process is a fresh interpreter, because what a process has imported
is the thing under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest

from radiomix import _monai

pytest.importorskip("torch")
pytest.importorskip("monai")

# a backbone of each kind, seeded, on one fixed input; what the process imported besides
PROBE = r"""
import json, sys
import numpy as np
import torch
torch.set_num_threads(1)
{before}
from radiomix.deep.networks import random_backbone
out = {{"modules": sorted(m for m in {watch!r} if m in sys.modules)}}
for model, dims, shape in (("resnet18", 2, (2, 3, 64, 64)), ("resnet10", 3, (1, 1, 24, 24, 24))):
    net = random_backbone(model, spatial_dims=dims, seed=3)
    x = torch.from_numpy(np.random.default_rng(5).normal(size=shape).astype(np.float32))
    with torch.no_grad():
        y = net(x)
    state = net.state_dict()
    total = float(sum(v.double().sum() for v in state.values()))
    out[model] = {{"keys": list(state), "params": total,
                  "output": y.double().numpy().ravel().tolist()}}
json.dump(out, open(sys.argv[1], "w"))
"""

WATCH = ("monai", "matplotlib", "skimage", "sklearn", "scipy.signal")


def _probe(tmp_path: Path, name: str, *, lean: str | None, before: str = "") -> dict:
    env = {k: v for k, v in os.environ.items() if k != _monai.LEAN_ENV}
    if lean is not None:
        env[_monai.LEAN_ENV] = lean
    script = tmp_path / f"{name}.py"
    script.write_text(PROBE.format(before=before, watch=WATCH))
    out = tmp_path / f"{name}.json"
    subprocess.run([sys.executable, str(script), str(out)], env=env, check=True, timeout=300)
    return json.loads(out.read_text())


def test_lean_import_builds_the_same_networks_without_the_optional_packages(tmp_path):
    whole = _probe(tmp_path, "whole", lean=None)
    lean = _probe(tmp_path, "lean", lean="1")
    # the whole import loads MONAI's optional packages (installed beside it here) ...
    installed = [m for m in ("matplotlib", "skimage", "sklearn") if m in whole["modules"]]
    assert installed, "no optional package of MONAI is installed: nothing to compare"
    # ... the lean one none of them, and still MONAI
    assert lean["modules"] == ["monai"]
    for model in ("resnet18", "resnet10"):
        assert lean[model]["keys"] == whole[model]["keys"]
        assert lean[model]["params"] == whole[model]["params"]  # the same seeded values
        # the same network on the same input in two processes of one machine; stated
        # tolerance (the kernels may be chosen per process)
        np.testing.assert_allclose(lean[model]["output"], whole[model]["output"],
                                   rtol=1e-6, atol=1e-7)  # fmt: skip


def test_monai_already_imported_whole_stays_whole(tmp_path):
    # a process (a notebook) that used MONAI before: radiomix takes MONAI as it is
    got = _probe(tmp_path, "first", lean="1", before="import monai")
    assert "skimage" in got["modules"] or "matplotlib" in got["modules"]


def test_unset_or_other_value_imports_whole(tmp_path):
    got = _probe(tmp_path, "zero", lean="0")
    assert set(got["modules"]) > {"monai"}


def test_a_lean_import_that_fails_leaves_monai_to_the_whole_import(tmp_path):
    # refusing a module MONAI cannot do without: the lean import gives up, removes what it
    # imported, and the ordinary import that follows gets MONAI whole
    script = tmp_path / "fallback.py"
    script.write_text(
        "import sys\n"
        "from radiomix import _monai\n"
        "ok = _monai.import_lean(refuse=('monai.networks.layers',))\n"
        "left = [m for m in sys.modules if m == 'monai' or m.startswith('monai.')]\n"
        "from monai.networks.nets.resnet import ResNet\n"
        "print(ok, len(left), 'monai.networks.layers' in sys.modules)\n"
    )
    env = {**os.environ, _monai.LEAN_ENV: "1"}
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                         text=True, check=True, timeout=300)  # fmt: skip
    assert run.stdout.split() == ["False", "0", "True"]


def test_the_refusal_is_confined_to_the_importing_thread(monkeypatch):
    name = "radiomix_lean_probe_module"
    monkeypatch.delitem(sys.modules, name, raising=False)
    finder = _monai._Refused([name], threading.get_ident())
    # refused here (and its submodules), not to another thread, not another module
    with pytest.raises(ModuleNotFoundError):
        finder.find_spec(name)
    with pytest.raises(ModuleNotFoundError):
        finder.find_spec(name + ".sub")
    assert finder.find_spec(name + "_other") is None
    seen: list[object] = []
    t = threading.Thread(target=lambda: seen.append(finder.find_spec(name)))
    t.start()
    t.join()
    assert seen == [None]


def test_another_thread_imports_a_refused_package_meanwhile(monkeypatch, tmp_path):
    # a real import through sys.meta_path: the owner thread is refused, another is not
    pkg = tmp_path / "radiomix_lean_pkg.py"
    pkg.write_text("VALUE = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "radiomix_lean_pkg", raising=False)
    finder = _monai._Refused(["radiomix_lean_pkg"], threading.get_ident())
    sys.meta_path.insert(0, finder)
    try:
        with pytest.raises(ModuleNotFoundError):
            __import__("radiomix_lean_pkg")
        got: list[types.ModuleType] = []
        t = threading.Thread(target=lambda: got.append(__import__("radiomix_lean_pkg")))
        t.start()
        t.join()
    finally:
        sys.meta_path.remove(finder)
    assert len(got) == 1
    assert got[0].VALUE == 7


def test_lean_environment_sets_only_what_is_unset(monkeypatch):
    monkeypatch.delenv(_monai.LEAN_ENV, raising=False)
    with _monai.lean_environment():
        assert os.environ[_monai.LEAN_ENV] == "1"
    assert _monai.LEAN_ENV not in os.environ
    monkeypatch.setenv(_monai.LEAN_ENV, "0")  # a user's choice is kept
    with _monai.lean_environment():
        assert os.environ[_monai.LEAN_ENV] == "0"
    assert os.environ[_monai.LEAN_ENV] == "0"


def test_the_command_line_marks_its_process(tmp_path):
    script = (
        "import os, sys\n"
        "sys.argv = ['radiomix', '--help']\n"
        "from radiomix.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('LEAN=' + os.environ.get({_monai.LEAN_ENV!r}, 'unset'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != _monai.LEAN_ENV}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True, timeout=120)  # fmt: skip
    assert run.stdout.strip().splitlines()[-1] == "LEAN=1"


def test_a_cohort_fork_server_imports_monai_lean(tmp_path):
    # the workers a cohort forks for deep features: MONAI imported, its optional packages not
    script = (
        "import os, sys\n"
        f"os.environ.pop({_monai.LEAN_ENV!r}, None)\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from radiomix import cohort\n"
        "preload = cohort._case_preload(True)\n"
        "handoff = cohort.start_fork_server(preload)\n"
        "if handoff is not None:\n    handoff.send([])\n"
        "with ProcessPoolExecutor(1, mp_context=cohort.worker_context(preload)) as pool:\n"
        "    got = pool.submit(eval, \"sorted(m for m in ('monai', 'skimage', 'matplotlib') "
        "if m in __import__('sys').modules)\").result()\n"
        f"print(got, os.environ.get({_monai.LEAN_ENV!r}))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert run.stdout.strip().splitlines()[-1] == "['monai'] None"
