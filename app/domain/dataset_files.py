"""User-uploaded datasets: parse and validate a .npz or .csv upload, and the .npz form used for storage."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import zipfile
from typing import Literal

import numpy as np

from caviar import Dataset, InvalidParams

MIN_EXAMPLES = 10
MAX_CLASSES = 1000
MAX_EXPANSION = 8
"""An .npz archive may decompress to at most this many times max_bytes (a guard against zip bombs)."""
DEFAULT_MAX_CELLS = 10_000_000
"""Rows x columns of one upload; as float64 features that is 80 MB in the API and in every worker."""
MAX_CELL_CHARS = 256
"""Longest CSV field: numbers and class labels are short, and NumPy pads every cell to the longest."""
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FEATURES_KEY = "X"
LABELS_KEY = "y"


def parse_upload(
    content: bytes,
    fmt: Literal["npz", "csv"],
    label_column: str | None,
    max_bytes: int,
    *,
    max_cells: int = DEFAULT_MAX_CELLS,
) -> Dataset:
    """A validated dataset from an uploaded file.

    npz: arrays `X` (m, n_features) numeric and `y` (m,) labels (or the array named by `label_column`).
    csv: one example per row; `label_column` names the label column of the header row, else the last column
    holds the labels and a header row is recognised by a field that is not a number. Labels of any kind are
    mapped to 0..C-1 in sorted order (numeric order when all are numbers). Raises `InvalidParams("file", …)`
    for a file too large (in bytes, decompressed bytes or `max_cells` cells; judged from the archive's
    array headers before anything is decompressed), unreadable, ragged, with a field longer than
    MAX_CELL_CHARS, non-finite, with fewer than 10 rows or 2 classes, and
    `InvalidParams("label_column", …)` for a label column that is not there.
    """
    if len(content) > max_bytes:
        raise InvalidParams("file", f"is {len(content)} bytes; the limit is {max_bytes}")
    if not content:
        raise InvalidParams("file", "is empty")
    if fmt == "npz":
        X, labels = _read_npz(content, label_column, max_bytes, max_cells)
    elif fmt == "csv":
        X, labels = _read_csv(content, label_column, max_cells)
    else:
        raise InvalidParams("format", f"must be npz or csv, got {fmt!r}")
    name = f"upload-{hashlib.sha256(content).hexdigest()[:12]}"
    return _validated(name, X, labels)


def dataset_to_npz_bytes(dataset: Dataset) -> bytes:
    """The dataset as a compressed .npz archive (X, y, n_classes, name), readable without pickle.

    The same dataset always gives the same bytes (fixed entry timestamps), so they can be stored and
    deduplicated by content hash.
    """
    arrays = {
        "X": np.ascontiguousarray(dataset.X),
        "y": np.ascontiguousarray(dataset.y),
        "n_classes": np.array(dataset.n_classes, dtype=np.int64),
        "name": np.array(dataset.name),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            entry = zipfile.ZipInfo(f"{key}.npy", date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(entry, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, array, allow_pickle=False)
    return buffer.getvalue()


def dataset_from_npz_bytes(content: bytes, name: str | None = None) -> Dataset:
    """The dataset written by `dataset_to_npz_bytes`, named `name` if given (else its stored name).

    Raises `InvalidParams("file", …)` if the bytes are not such an archive.
    """
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as archive:
            X, y = archive["X"], archive["y"]
            n_classes, stored_name = int(archive["n_classes"]), str(archive["name"])
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as error:
        raise InvalidParams("file", f"is not a stored dataset archive: {error}") from error
    if X.ndim != 2 or y.shape != (X.shape[0],) or y.dtype.kind not in "iu":
        raise InvalidParams("file", "stored dataset arrays have the wrong shapes or types")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise InvalidParams("file", f"stored labels are not in 0..{n_classes - 1}")
    return Dataset(name=name or stored_name, X=X, y=y.astype(np.int64, copy=False), n_classes=n_classes)


def _array_sizes(archive: zipfile.ZipFile) -> dict[str, tuple[int, int]]:
    """(cells, bytes) of every array in an .npz, read from the .npy headers without decompressing data."""
    sizes = {}
    for info in archive.infolist():
        with archive.open(info) as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        if dtype.hasobject:
            raise ValueError(f"{info.filename}: object arrays are not plain data")
        cells = math.prod(int(extent) for extent in shape)
        sizes[info.filename.removesuffix(".npy")] = (cells, cells * dtype.itemsize)
    return sizes


def _read_npz(
    content: bytes, label_column: str | None, max_bytes: int, max_cells: int
) -> tuple[np.ndarray, np.ndarray]:
    labels_key = label_column or LABELS_KEY
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            sizes = _array_sizes(archive)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise InvalidParams("file", f"is not a readable .npz archive of plain arrays: {error}") from error
    expanded = sum(size for _, size in sizes.values())
    if expanded > MAX_EXPANSION * max_bytes:
        raise InvalidParams(
            "file", f"decompresses to {expanded} bytes; the limit is {MAX_EXPANSION * max_bytes}"
        )
    largest = max((cells for cells, _ in sizes.values()), default=0)
    if largest > max_cells:
        raise InvalidParams("file", f"holds an array of {largest} cells; the limit is {max_cells}")
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise InvalidParams("file", f"is not a readable .npz archive of plain arrays: {error}") from error
    if FEATURES_KEY not in arrays:
        raise InvalidParams("file", f"npz needs an array 'X' (m, n_features); found {sorted(arrays)}")
    if labels_key not in arrays:
        field = "label_column" if label_column else "file"
        raise InvalidParams(field, f"npz has no array {labels_key!r}; found {sorted(arrays)}")
    X, labels = arrays[FEATURES_KEY], arrays[labels_key]
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise InvalidParams("file", f"'X' must be a 2-D numeric array, got shape {X.shape} of {X.dtype}")
    if labels.ndim != 1:
        raise InvalidParams("file", f"labels must be a 1-D array, got shape {labels.shape}")
    return X.astype(np.float64), labels


def _csv_rows(text: str, max_cells: int) -> list[list[str]]:
    """The non-blank rows, refusing an over-long field or more than `max_cells` fields in all."""
    rows, cells = [], 0
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not "".join(row).strip():
                continue
            if max(map(len, row)) > MAX_CELL_CHARS:
                raise InvalidParams("file", f"row {number} has a field over {MAX_CELL_CHARS} characters")
            cells += len(row)
            if cells > max_cells:
                raise InvalidParams("file", f"has more than {max_cells} cells; that is the limit")
            rows.append(row)
    except csv.Error as error:
        raise InvalidParams("file", f"is not readable CSV: {error}") from error
    return rows


def _read_csv(content: bytes, label_column: str | None, max_cells: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidParams("file", f"is not UTF-8 text: {error}") from error
    rows = _csv_rows(text, max_cells)
    if not rows:
        raise InvalidParams("file", "has no rows")
    if label_column is not None or not all(_is_number(field) for field in rows[0]):
        header, rows = [field.strip() for field in rows[0]], rows[1:]
    else:
        header = [f"column {index + 1}" for index in range(len(rows[0]))]
    if label_column is None:
        label_index = len(header) - 1
    elif label_column in header:
        label_index = header.index(label_column)
    else:
        raise InvalidParams("label_column", f"no column {label_column!r} in the header {header}")
    if len(header) < 2:
        raise InvalidParams("file", "needs at least one feature column and a label column")
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise InvalidParams("file", f"data row {number} has {len(row)} fields instead of {len(header)}")
    if not rows:
        raise InvalidParams("file", "has a header but no data rows")
    cells = np.array(rows, dtype=str)
    labels = np.char.strip(cells[:, label_index])
    features = np.delete(cells, label_index, axis=1)
    try:
        X = features.astype(np.float64)
    except ValueError:
        columns = [name for index, name in enumerate(header) if index != label_index]
        row, column = next(
            (r, c) for r, c in np.ndindex(features.shape) if not _is_number(str(features[r, c]))
        )
        raise InvalidParams(
            "file",
            f"data row {row + 1}, column {columns[column]!r}: {str(features[row, column])!r} is not a number",
        ) from None
    if all(_is_number(label) for label in labels):
        return X, labels.astype(np.float64)
    return X, labels


def _validated(name: str, X: np.ndarray, labels: np.ndarray) -> Dataset:
    m = X.shape[0]
    if labels.shape != (m,):
        raise InvalidParams("file", f"has {m} feature rows but {labels.shape[0]} labels")
    if m < MIN_EXAMPLES:
        raise InvalidParams("file", f"needs at least {MIN_EXAMPLES} examples, got {m}")
    if X.shape[1] < 1:
        raise InvalidParams("file", "needs at least one feature column")
    if not np.isfinite(X).all():
        row = int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])
        raise InvalidParams("file", f"features must be finite; example {row} has NaN or infinity")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise InvalidParams("file", "labels must be finite")
    classes, y = np.unique(labels, return_inverse=True)
    if classes.size < 2:
        raise InvalidParams("file", f"needs at least 2 classes, found {classes.size}")
    if classes.size > MAX_CLASSES:
        raise InvalidParams("file", f"has {classes.size} classes; at most {MAX_CLASSES} are supported")
    return Dataset(name=name, X=np.ascontiguousarray(X), y=y.astype(np.int64), n_classes=int(classes.size))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
