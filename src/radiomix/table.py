"""Feature tables: rows to Parquet, CSV or JSON, with provenance.

Provenance (settings and their hash, software versions, input file hashes, notes such as
approximations used) travels with every table: as Parquet schema metadata, as a
``<file>.provenance.json`` sidecar beside a CSV, inside a JSON document; the settings hash
and radiomix version are also columns of every row.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported by the functions that build tables (slow import)
    import pandas as pd

from radiomix.errors import InputError

PROVENANCE_KEY = b"radiomix.provenance"
SUFFIXES = (".parquet", ".csv", ".json")
VERSIONED_PACKAGES = ("radiomix", "numpy", "scipy", "SimpleITK", "scikit-image", "pydicom", "numba")

DEEP_PACKAGES = ("torch", "monai")
"""Packages that compute deep features: versioned beside :data:`VERSIONED_PACKAGES` in the
provenance of a table that holds them."""

ANALYSIS_PACKAGES = (*VERSIONED_PACKAGES, "pandas", "scikit-learn", "scikit-survival",
                     "lifelines", "pingouin", "neuroHarmonize")
"""Packages that fit the models and compute the metrics of an analysis (its document,
report and ``model.joblib`` record their versions)."""


def package_versions(names: Sequence[str] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Installed versions of radiomix and the packages that determine feature values.

    Read once per process and set of names (parsing the installed packages' metadata
    costs milliseconds per package, on every extracted case otherwise); a fresh dict is
    returned each time.
    """
    return dict(_package_versions(tuple(names)))


@functools.lru_cache(maxsize=16)
def _package_versions(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return tuple(out.items())


def table_hash(table: pd.DataFrame) -> str:
    """SHA-256 of a table's column names and values, not of its file.

    Two files with the same columns and the same values give the same hash, whatever else
    they store (a parquet file of :func:`radiomix.cohort.run_study` also keeps the run's
    provenance, with per-case timings and worker ids, which differ between runs). Values are
    hashed with :func:`pandas.util.hash_pandas_object` (one 64-bit hash per row, the index
    left out), so the hash is stable for a given pandas version.
    """
    import pandas as pd

    h = hashlib.sha256()
    h.update("\x1f".join(map(str, table.columns)).encode())
    h.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return h.hexdigest()


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file, or of the sorted files of a folder (DICOM series), in hex.

    A MetaImage (``.mhd``) or detached NRRD (``.nhdr``) header is hashed with the voxel
    data files it names (:func:`radiomix.io.image.detached_data_files`): the header alone
    does not change when the voxels do."""
    from radiomix.io.image import detached_data_files

    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    if not path.is_dir():
        data = detached_data_files(path)
        if not data:
            with path.open("rb") as fh:
                return hashlib.file_digest(fh, "sha256").hexdigest()
        files, path = [path, *data], path.parent
    for f in files:
        h.update(os.path.relpath(f, path).encode())
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def removed_on_failure(tmp: Path) -> Iterator[None]:
    """Remove the temporary file of an atomic write that failed (a full disk, a folder where
    the file goes), so that no partial file is left beside the finished ones."""
    try:
        yield
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_table(
    rows: Sequence[Mapping[str, Any]], path: str | Path, *, provenance: Mapping[str, Any]
) -> Path:
    """Write feature rows to ``path`` (.parquet, .csv or .json) with their provenance.

    Parameters
    ----------
    rows : sequence of mappings
        One mapping per row (ids, then feature columns).
    path : str or Path
        Output file; the suffix selects the format.
    provenance : mapping
        JSON-serialisable provenance record.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"output must end in {', '.join(SUFFIXES)}; got {path.name!r}")
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(list(rows))
    prov = json.dumps(provenance, sort_keys=True, default=str)
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[PROVENANCE_KEY] = prov.encode()
        pq.write_table(table.replace_schema_metadata(meta), path)
    elif suffix == ".csv":
        frame.to_csv(path, index=False, float_format="%.17g")
        path.with_name(path.name + ".provenance.json").write_text(prov + "\n", encoding="utf-8")
    else:
        doc = {"rows": frame.to_dict(orient="records"), "provenance": json.loads(prov)}
        path.write_text(json.dumps(doc, indent=1, default=_json_default) + "\n", encoding="utf-8")
    return path


def _json_default(x: Any) -> Any:
    try:
        return float(x)
    except (TypeError, ValueError):
        return str(x)


def read_provenance(path: str | Path) -> dict[str, Any]:
    """Provenance stored with a table written by :func:`write_table`.

    Raises
    ------
    InputError
        The table carries no radiomix provenance: a Parquet file without radiomix's schema
        metadata (written or re-saved by another tool, e.g. pandas), a CSV without its
        ``.provenance.json`` sidecar, a JSON document without its ``provenance`` key, or a
        record that is not valid JSON. Callers for which provenance is only informative
        catch it and go on without (as for a CSV without its sidecar).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(f"file not found: {path}")
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            meta = pq.read_schema(path).metadata or {}
            if PROVENANCE_KEY not in meta:
                raise InputError(
                    f"{path.name} carries no radiomix provenance (its Parquet metadata has no "
                    f"{PROVENANCE_KEY.decode()!r}: it was written or re-saved by another tool, "
                    "e.g. pandas); use the table radiomix wrote to have its provenance")
            record = json.loads(meta[PROVENANCE_KEY])
        elif suffix == ".csv":
            sidecar = path.with_name(path.name + ".provenance.json")
            if not sidecar.is_file():
                raise InputError(f"{path.name} carries no radiomix provenance ({sidecar.name} "
                                 "is not beside it); keep the sidecar with the table")
            record = json.loads(sidecar.read_text("utf-8"))
        else:
            doc = json.loads(path.read_text("utf-8"))
            if not isinstance(doc, dict) or "provenance" not in doc:
                raise InputError(f"{path.name} carries no radiomix provenance (no "
                                 "'provenance' key); use the document radiomix wrote")
            record = doc["provenance"]
    except InputError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        message = " ".join(str(exc).split())
        raise InputError(f"the provenance of {path.name} cannot be read: {message}") from None
    if not isinstance(record, dict):
        raise InputError(f"the provenance of {path.name} is not a record (a JSON object)")
    return record


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a feature table (.parquet, .csv or a JSON document of :func:`write_table`)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix == ".json":
        return pd.DataFrame(json.loads(path.read_text("utf-8"))["rows"])
    raise InputError(f"table {path.name} must be .parquet, .csv or .json")
