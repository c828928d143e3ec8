"""The files a run's manifest vouches for: rows written with their sha256, and a folder checked against it.

:func:`write_rows` writes ``results.csv`` and ``results.parquet`` atomically and returns their sha256;
:func:`verify_outputs` checks a folder against its ``manifest.json`` and :func:`read_results` reads the rows
of a folder that passes (``report`` refuses a folder that fails).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pandas as pd

from ..exceptions import IntegrityError
from ..fileio import atomic_write_bytes
from ..models.checkpoint import sha256_file
from .rows import ROW_COLUMNS, read_rows

__all__ = ["write_rows", "file_hashes", "read_results", "verify_outputs"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_rows(rows: pd.DataFrame, out_dir) -> dict:
    """Write ``results.csv`` and ``results.parquet`` atomically; return ``{file name: sha256}``."""
    out = Path(out_dir)
    csv = rows.to_csv(index=False).encode("utf-8")
    buffer = io.BytesIO()
    rows.to_parquet(buffer, index=False)
    parquet = buffer.getvalue()
    atomic_write_bytes(out / "results.csv", csv)
    atomic_write_bytes(out / "results.parquet", parquet)
    return {"results.csv": _sha256(csv), "results.parquet": _sha256(parquet)}


def file_hashes(out_dir, names) -> dict:
    """``{name: sha256}`` of the files ``names`` in ``out_dir``."""
    return {name: sha256_file(Path(out_dir) / name) for name in names}


def read_results(folder, manifest: dict | None = None) -> pd.DataFrame:
    """``results.csv`` of a run or benchmark folder, after :func:`verify_outputs`.

    Raises
    ------
    IntegrityError
        The folder's files do not agree with its manifest (the message names the file).
    """
    folder = Path(folder)
    if manifest is None:
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise IntegrityError(f"cannot read {folder / 'manifest.json'}: {err}") from err
    verify_outputs(folder, manifest)
    return _read_csv(folder / "results.csv")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = read_rows(path)
    except Exception as err:  # pandas raises several types on malformed CSV
        raise IntegrityError(f"{path} is not a readable table ({type(err).__name__}: {err}).") from err
    missing = [c for c in ROW_COLUMNS if c not in frame.columns and c != "source"]  # older rows: no source
    if missing:
        raise IntegrityError(f"{path} lacks the row columns {missing}; it was not written by "
                             "evaluate/benchmark.")
    if not pd.api.types.is_numeric_dtype(frame["value"]):
        raise IntegrityError(f"{path}: column 'value' holds non-numbers; the file was altered.")
    return frame


def verify_outputs(folder, manifest: dict) -> None:
    """Check that a run's output files are the ones its manifest vouches for.

    With ``outputs_sha256`` in the manifest every listed file must exist and match; older manifests (no
    hashes) are checked for agreement between ``results.csv``, ``results.parquet`` and ``n_tracks``.

    Raises
    ------
    IntegrityError
        Naming the first file that is missing, altered, truncated or inconsistent, and how to repair it.
    """
    folder = Path(folder)
    fix = ("rerun the same `mer-audiolime evaluate`/`benchmark` command into this folder to rewrite its "
           "outputs from the verified per-track files")
    hashes = manifest.get("outputs_sha256")
    if hashes:
        for name, expected in hashes.items():
            path = folder / name
            if not path.is_file():
                raise IntegrityError(f"{path} is missing but {folder / 'manifest.json'} lists it; {fix}.")
            if sha256_file(path) != expected:
                raise IntegrityError(f"{path} does not match the sha256 recorded in "
                                     f"{folder / 'manifest.json'} (it was cut short, altered or written by "
                                     f"an interrupted run); {fix}.")
        return
    csv_path = folder / "results.csv"
    if not csv_path.is_file():
        raise IntegrityError(f"{csv_path} is missing; was the run finished? {fix}.")
    rows = _read_csv(csv_path)
    parquet = folder / "results.parquet"
    if parquet.is_file():
        try:
            n_parquet = len(pd.read_parquet(parquet, columns=["track_id"]))
        except Exception as err:  # pyarrow raises several types on damaged files
            raise IntegrityError(f"{parquet} is not readable ({type(err).__name__}: {err}); {fix}.") from err
        if n_parquet != len(rows):
            raise IntegrityError(f"{csv_path} holds {len(rows)} rows but {parquet} holds {n_parquet}: the "
                                 f"two disagree; {fix}.")
    n_tracks = manifest.get("n_tracks")
    if n_tracks is not None and len(rows) and rows["track_id"].nunique() != int(n_tracks):
        raise IntegrityError(f"{csv_path} holds {rows['track_id'].nunique()} tracks but "
                             f"{folder / 'manifest.json'} says {n_tracks}; {fix}.")
