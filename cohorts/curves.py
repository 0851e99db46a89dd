"""The stored form of a cohort's equity curves: full time resolution, compact (pure numpy, no Django).

Agents' equity and exposure, (A, T) each, are kept in whole cents as int32 steps between bars, which
are mostly zero (an agent out of the market does not move) and compress to a fifth of the float64
arrays; the parent's curve (T,) and the timestamps stay exact. Unpacking gives float64 arrays again.
"""
from __future__ import annotations

import io
import zipfile

import numpy as np

FORMAT = 2  # 1: plain float64 npz (cohorts stored before this module); 2: cents as int32 steps
STEPPED = ("agents", "exposure")


def pack(*, timestamps: np.ndarray, parent: np.ndarray, agents: np.ndarray, exposure: np.ndarray) -> bytes:
    """An npz blob of the curves: timestamps (epoch s), parent (T,), agents and exposure (A, T)."""
    arrays = {"timestamps": np.asarray(timestamps, dtype=np.int64), "parent": np.asarray(parent, dtype=np.float64)}
    curves = {"agents": np.asarray(agents, dtype=np.float64), "exposure": np.asarray(exposure, dtype=np.float64)}
    if all(np.isfinite(c).all() and np.abs(c).max(initial=0) < 2 ** 52 / 100 for c in curves.values()):
        arrays["format"] = np.array(FORMAT)
        for name, curve in curves.items():
            steps = np.diff(np.rint(curve * 100).astype(np.int64), axis=1, prepend=0)
            fits = np.abs(steps).max(initial=0) < 2 ** 31
            arrays[name] = steps.astype(np.int32) if fits else steps
    else:
        arrays.update(curves)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w") as file:
                np.lib.format.write_array(file, array, allow_pickle=False)
    return buffer.getvalue()


def unpack(blob: bytes) -> dict[str, np.ndarray]:
    """The curves as float64 arrays (timestamps as int64), from either stored format."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    if int(arrays.pop("format", 1)) == FORMAT:
        for name in STEPPED:
            arrays[name] = np.cumsum(arrays[name], axis=1, dtype=np.int64) / 100.0
    return arrays


def heatmap_cells(correlation) -> bytes:
    """The lower triangle of a correlation matrix (A × A), row by row (row i holds columns 0..i; the matrix is
    symmetric), in hundredths from -100 to 100, one signed byte each; a non-finite value counts as 0."""
    matrix = np.asarray(correlation, dtype=np.float64)
    if matrix.ndim != 2 or not matrix.size:
        return b""
    cells = np.rint(np.clip(np.nan_to_num(matrix[np.tril_indices(len(matrix))]), -1, 1) * 100)
    return cells.astype(np.int8).tobytes()


def heatmap_size(cells: bytes) -> int:
    """The number of agents A whose lower triangle `cells` holds (A(A+1)/2 bytes)."""
    return int((np.sqrt(8 * len(cells) + 1) - 1) // 2)
