"""CSV data sets as a user writes them: a header line or none, the target named or indexed, string labels.

A sweep config lists one as ``{path = "data.csv", target = "species", task = "classification",
name = "flowers"}``; only ``path`` is required, and a plain ``"data.csv"`` string means the same with
every default. A relative path is read from the config file's folder.

- ``target``: a column name from the header, or a 0-based column index as in pandas (negative counts
  from the end); the last column by default. Every other column is a numeric feature.
- ``task``: ``"classification"`` maps the labels to classes 0..K-1 in sorted order (by value when
  every label is a number, else as text) and keeps that mapping with the runs (``CSVSource.classes``);
  ``"regression"`` reads the target as numbers. When not given it is inferred, and the inference is
  reported: classification when a label is not a number, or when every label is a non-negative
  integer with at most ``MAX_INFERRED_CLASSES`` distinct values; regression otherwise.
- The first line is a header when the target is named, or when one of its feature cells is not a number.

Every problem is a :class:`CSVError` naming the file, line and column (counted from 1), raised when
the config is read, before any run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._validate import suggest

TASKS = ("classification", "regression")
ENTRY_KEYS = ("path", "target", "task", "name")
MAX_INFERRED_CLASSES = 20


class CSVError(ValueError):
    """A CSV data set that cannot be used; the message is one line, ``file, line L, column C: what``."""


def _at(path: Path, line: int, column: int | None = None) -> str:
    return f"{path}, line {line}" + ("" if column is None else f", column {column}")


@dataclass(frozen=True)
class CSVSource:
    """What a run needs to load a CSV data set. It is part of the run's spec, and so of its key,
    except ``path``: the same bytes under another path (a moved project) are the same data set."""

    path: str  # absolute path of the file
    sha256: str  # of the file's bytes: an edited file is another data set
    target: int  # 0-based index of the target column
    task: str  # "classification" | "regression"
    classes: tuple[str, ...] | None = None  # classification: class k is the label classes[k]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CSVSource:
        classes = d.get("classes")
        return cls(path=d["path"], sha256=d["sha256"], target=int(d["target"]), task=d["task"],
                   classes=None if classes is None else tuple(classes))


@dataclass(frozen=True)
class CSVTable:
    """A CSV file read and checked: features, targets (class indices or floats) and how they were read."""

    source: CSVSource
    X: np.ndarray  # (items, features) float
    y: np.ndarray  # (items,) int class indices, or float targets
    columns: tuple[str, ...]  # header names, or "column <n>" without a header
    inferred: str | None  # how the task was inferred, None when the config gave it


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _number_label(value: float) -> str:
    """One spelling per numeric label ("1", "1.0" and "1e0" are one class), without losing digits."""
    return str(int(value)) if value.is_integer() else repr(value)


def _label_key(label: str) -> tuple[float, str]:
    value = _number(label)
    return (value if value is not None else math.inf, label)


def _rows(path: Path, data: bytes) -> list[tuple[int, list[str]]]:
    """``(line number, stripped cells)`` of the non-blank records."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CSVError(f"{_at(path, line)}: not UTF-8 text ({exc.reason})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for cells in reader:
            if cells and any(c.strip() for c in cells):
                rows.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise CSVError(f"{_at(path, reader.line_num)}: {exc}") from None
    return rows


def _target_index(path: Path, target: object, columns: list[str], has_header: bool) -> int:
    n = len(columns)
    if isinstance(target, str):
        if not has_header:
            raise CSVError(f"{_at(path, 1)}: target {target!r} is a column name, but the file has no header line")
        if columns.count(target) > 1:
            raise CSVError(f"{_at(path, 1)}: the header names {target!r} twice; give the target as a column index")
        if target not in columns:
            raise CSVError(f"{_at(path, 1)}: no column named {target!r}{suggest(target, columns)}; "
                           f"columns: {', '.join(columns)}")
        return columns.index(target)
    if isinstance(target, bool) or not isinstance(target, int):
        raise CSVError(f"{path}: target must be a column name or a 0-based column index, got {target!r}")
    if not -n <= target < n:
        raise CSVError(f"{path}: target index {target} is out of range for {n} columns (0..{n - 1}, or -{n}..-1)")
    return target % n


def read_csv(path: str | Path, target: str | int | None = None, task: str | None = None) -> CSVTable:
    """Read and check a CSV data set (see the module docstring), or raise :class:`CSVError`."""
    path = Path(path)
    if task is not None and task not in TASKS:
        raise CSVError(f"{path}: task must be one of {', '.join(TASKS)}, got {task!r}{suggest(task, TASKS)}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CSVError(f"{path} does not exist") from None
    except OSError as exc:
        raise CSVError(f"{path}: cannot read ({exc.strerror})") from None
    rows = _rows(path, data)
    if not rows:
        raise CSVError(f"{path}: no data rows")
    first_line, first = rows[0]
    n_cols = len(first)
    if n_cols < 2:
        raise CSVError(f"{_at(path, first_line)}: needs a feature column and a target column, found {n_cols} column")
    provisional = target if isinstance(target, int) and not isinstance(target, bool) and -n_cols <= target < n_cols \
        else -1
    has_header = isinstance(target, str) or any(
        _number(c) is None for j, c in enumerate(first) if j != provisional % n_cols)
    columns = first if has_header else [f"column {j + 1}" for j in range(n_cols)]
    t = _target_index(path, -1 if target is None else target, columns, has_header)
    body = rows[1:] if has_header else rows
    if len(body) < 2:
        raise CSVError(f"{path}: " + ("no data rows" if not body else "needs at least 2 data rows, found 1"))
    features = [j for j in range(n_cols) if j != t]
    X = np.empty((len(body), len(features)))
    labels = []
    for i, (line, cells) in enumerate(body):
        if len(cells) != n_cols:
            raise CSVError(f"{_at(path, line, min(len(cells), n_cols) + 1)}: {len(cells)} columns, "
                           f"expected {n_cols} as on line {first_line}")
        for k, j in enumerate(features):
            value = _number(cells[j])
            where = f"{_at(path, line, j + 1)}: feature column {columns[j]!r}"
            if value is None:
                could_be_target = all(len(c) == n_cols and c[j] for _, c in body)  # a target has no empty cell
                raise CSVError(f"{where} holds {cells[j]!r}, not a number" +
                               ("" if cells[j] else " (an empty cell)") +
                               ("" if not could_be_target else
                                f"; name the target with target = {columns[j]!r}" if has_header else
                                f"; name the target with target = {j}"))
            if not math.isfinite(value):
                raise CSVError(f"{where} holds {cells[j]!r}, not a finite number (NaN or inf)")
            X[i, k] = value
        if not cells[t]:
            raise CSVError(f"{_at(path, line, t + 1)}: the target column {columns[t]!r} is empty here")
        labels.append(cells[t])
    numbers = [_number(c) for c in labels]
    all_numeric = all(v is not None and math.isfinite(v) for v in numbers)
    inferred = None
    if task is None:
        distinct = len(set(numbers)) if all_numeric else len(set(labels))
        integral = all_numeric and all(v == round(v) and v >= 0 for v in numbers)
        task = "classification" if not all_numeric or (integral and distinct <= MAX_INFERRED_CLASSES) \
            else "regression"
        why = ("a label is not a number" if not all_numeric else
               f"the labels are {distinct} non-negative integers" if task == "classification" else
               f"the target has {distinct} distinct numeric values" if not integral else
               f"the target has {distinct} distinct integers, more than {MAX_INFERRED_CLASSES}")
        inferred = (f"{path.name}: task inferred as {task} from target column {t + 1} ({columns[t]!r}): {why}; "
                    f"set task = \"{TASKS[task == 'classification']}\" in its datasets entry to change it")
    if task == "regression":
        for (line, _), label, value in zip(body, labels, numbers):
            if value is None or not math.isfinite(value):
                raise CSVError(f"{_at(path, line, t + 1)}: target {label!r} of a regression is not a finite number")
        y, classes = np.asarray(numbers, dtype=float), None
    else:
        canonical = [_number_label(v) if all_numeric else c for v, c in zip(numbers, labels)]
        classes = tuple(sorted(set(canonical), key=_label_key if all_numeric else None))
        if len(classes) < 2:
            raise CSVError(f"{_at(path, body[0][0], t + 1)}: the target column {columns[t]!r} holds a single class "
                           f"{classes[0]!r}")
        index = {c: k for k, c in enumerate(classes)}
        y = np.array([index[c] for c in canonical], dtype=int)
    source = CSVSource(path=str(path.resolve()), sha256=hashlib.sha256(data).hexdigest(), target=t, task=task,
                       classes=classes)
    if inferred and classes:
        shown = ", ".join(f"{c}={k}" for k, c in enumerate(classes[:6])) + (", ..." if len(classes) > 6 else "")
        inferred += f" (classes {shown})"
    return CSVTable(source=source, X=X, y=y, columns=tuple(columns), inferred=inferred)


def load_source(source: CSVSource) -> tuple[np.ndarray, np.ndarray]:
    """Features and targets of a checked CSV data set; refuses a file that changed since it was checked."""
    table = read_csv(source.path, source.target, source.task)
    if table.source.sha256 != source.sha256:
        raise CSVError(f"{source.path} changed since the sweep was checked (sha256 {table.source.sha256[:12]}, "
                       f"expected {source.sha256[:12]}); rerun the command to check it again")
    return table.X, table.y


def from_entry(entry: object, base: Path) -> tuple[str, CSVTable]:
    """``(name, table)`` of a sweep's CSV ``datasets`` entry: a path string or a table with ``path``,
    ``target``, ``task`` and ``name`` (default: the file's stem)."""
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict):
        raise CSVError(f"a data set is a name, a path ending in .csv or a table {{path = ...}}, got {entry!r}")
    for key in entry:
        if key not in ENTRY_KEYS:
            raise CSVError(f"data set {entry!r}: unknown key {key!r}{suggest(key, ENTRY_KEYS)}; "
                           f"keys: {', '.join(ENTRY_KEYS)}")
    path = entry.get("path")
    if not isinstance(path, str) or not path:
        raise CSVError(f"data set {entry!r} needs a 'path' to a CSV file")
    name = entry.get("name", Path(path).stem)
    if not isinstance(name, str) or not name:
        raise CSVError(f"data set {path!r}: name must be a non-empty string, got {name!r}")
    full = Path(path).expanduser()
    return name, read_csv(full if full.is_absolute() else base / full, entry.get("target"), entry.get("task"))
