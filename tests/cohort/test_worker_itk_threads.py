"""Pool workers run ITK single-threaded without importing SimpleITK up front.

A worker of :func:`radiomix.cohort.pool_map` (forked from the fork server that preloaded
the extraction stack) must not have SimpleITK imported by its initialiser (a NIfTI case
never needs it: about 90 MiB of resident memory per worker), and when a task does import
it (a DICOM series, a registration) ITK must use one thread (the pool provides the
parallelism). Run in a fresh interpreter: the fork server is process-wide state.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys

def probe(_):
    imported = "SimpleITK" in sys.modules
    import SimpleITK as sitk
    return imported, sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()

if __name__ == "__main__":
    from radiomix.cohort import pool_map
    print(json.dumps(sorted(r for _, r in pool_map(probe, [0, 1, 2, 3], 2))))
"""


def test_pool_workers_use_one_itk_thread_without_importing_simpleitk(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=300
    )
    results = json.loads(out.stdout.strip().splitlines()[-1])
    assert all(threads == 1 for _, threads in results)
    first_tasks = [r for r in results if r == [False, 1]]  # SimpleITK not imported yet
    assert 1 <= len(first_tasks) <= 2  # one per worker at most (later tasks have imported it)
