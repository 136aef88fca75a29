"""The results store: ``OUT/runs.sqlite``, one committed row per finished run, written by one process.

WAL journaling and a commit per run mean a crash or ``kill -9`` loses only runs in flight. A store is
identified by what it holds, not by the config that wrote it: every run is stored under the key of
its spec, so a config that adds or removes datasets, networks, methods, options, lams or seeds runs
only the specs not yet stored and reuses the others, whatever config first ran them. The keys named
by the config last run into the store are its *current* runs (table ``current``), which
:func:`load_results` returns by default. A lock file keeps a second sweep from writing into a folder
that a running sweep holds.

``meta`` holds ``schema`` (the layout version, :data:`SCHEMA_VERSION`) and ``config`` (the last
config run into the store, as JSON). A store of a newer layout, or one whose stored spec under a key
differs from the spec that hashes to that key, is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import sys
import weakref
from collections.abc import Iterable
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PROVENANCE_COLUMNS = ("swarmreg_version", "python_version", "numpy_version", "scipy_version", "library_version",
                      "method_fingerprint", "blas", "host", "started_at", "finished_at")
"""Where a run came from (:mod:`swarmreg.provenance`); missing (None) for runs stored before schema 3."""

_V2_COLUMNS = (
    "key", "sweep", "dataset", "hidden", "method", "base_method", "lam", "seed", "split_seed", "budget",
    "status", "fun", "error", "penalty", "weight_norm", "bias_norm", "train_accuracy", "test_accuracy",
    "train_mse", "test_mse", "val_accuracy", "val_mse", "cost", "n_evals", "n_grads", "wall_time", "message", "spec",
)
RUN_COLUMNS = _V2_COLUMNS + PROVENANCE_COLUMNS
_TYPES = {"lam": "REAL", "seed": "INTEGER", "split_seed": "INTEGER", "budget": "REAL", "n_evals": "INTEGER",
          "n_grads": "INTEGER", **{c: "REAL" for c in ("fun", "error", "penalty", "weight_norm", "bias_norm",
                                                       "train_accuracy", "test_accuracy", "train_mse",
                                                       "test_mse", "val_accuracy", "val_mse", "cost",
                                                       "wall_time")}}

SCHEMA_VERSION = 3
"""Layout version in ``meta``. 1: stores made before versions were recorded (same tables, no
``current``, a ``fingerprint`` in ``meta``); 2: no provenance columns. Both are upgraded in place
when a sweep opens them, and read as they are (provenance missing)."""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    {", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" + (" PRIMARY KEY" if c == "key" else "") for c in RUN_COLUMNS)}
);
CREATE TABLE IF NOT EXISTS traces (key TEXT PRIMARY KEY REFERENCES runs(key), trace TEXT NOT NULL, x TEXT);
CREATE TABLE IF NOT EXISTS current (key TEXT PRIMARY KEY);
"""


class StoreError(RuntimeError):
    """The folder is held by another sweep, or its store cannot take these runs (one-line message)."""


def db_path(out: str | Path) -> Path:
    return Path(out) / "runs.sqlite"


def _schema_version(db: sqlite3.Connection, path: Path) -> int:
    """The store's layout version (0 for an empty database); a newer or foreign layout is refused."""
    tables = {t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return 0
    if not {"meta", "runs", "traces"} <= tables:
        raise StoreError(f"{path} is not a swarmreg store (tables {', '.join(sorted(tables))}); "
                         "use another --out folder")
    meta = dict(db.execute("SELECT name, value FROM meta"))
    version = int(meta["schema"]) if meta.get("schema", "").isdigit() else 1
    columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was written by a newer swarmreg (store schema {version}, this swarmreg reads "
                         f"schema {SCHEMA_VERSION} and older); upgrade swarmreg or use another --out folder")
    v2 = len(_V2_COLUMNS)  # a schema-2 store, or one whose upgrade was cut off after some ALTER TABLEs
    upgrading = version < 3 and columns[:v2] == list(_V2_COLUMNS) and columns[v2:] == list(PROVENANCE_COLUMNS)[
        :len(columns) - v2]
    if columns != list(RUN_COLUMNS) and not upgrading:
        raise StoreError(f"{path} was written by an incompatible swarmreg (its runs have the columns "
                         f"{', '.join(columns)}); use that swarmreg or another --out folder")
    return version


class Store:
    """Open (creating or upgrading if needed) the store in ``out`` and hold its lock."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.out / ".lock", "a+")  # noqa: SIM115 - held for the store's lifetime
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise StoreError(f"{self.out} is in use by another running sweep (lock {self.out / '.lock'})") from None
        self._lock.seek(0)
        owner = self._lock.read().strip()
        if owner.isdigit() and int(owner) != os.getpid():  # a sweep that ended without closing its store
            print(f"swarmreg: taking over the lock of {self.out}, left by process {owner}, which is no longer "
                  "running", file=sys.stderr)
        self._lock.seek(0)
        self._lock.truncate()
        self._lock.write(str(os.getpid()))
        self._lock.flush()
        os.register_at_fork(after_in_child=partial(_drop_lock, weakref.ref(self)))
        self.db = sqlite3.connect(db_path(self.out))
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            version = _schema_version(self.db, db_path(self.out))
            if version < SCHEMA_VERSION:
                with self.db:
                    self.db.executescript(SCHEMA)
                    stored = {row[1] for row in self.db.execute("PRAGMA table_info(runs)")}
                    for column in PROVENANCE_COLUMNS:
                        if column not in stored:
                            self.db.execute(f"ALTER TABLE runs ADD COLUMN {column} TEXT")
                    self.db.execute("DELETE FROM meta WHERE name = 'fingerprint'")  # schema 1's sweep identity
                    self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{db_path(self.out)} is not a swarmreg store ({exc}); use another --out folder") from None
        except StoreError:
            self.close()
            raise

    def select(self, specs: Iterable[Any], config: str = "") -> None:
        """Make ``specs`` (objects with ``key``, ``identity()``) the store's current runs, after checking
        that no stored run has one of their keys with another spec (a key collision)."""
        specs = {s.key: s for s in specs}
        for key, text in self.db.execute("SELECT key, spec FROM runs"):
            spec = specs.get(key)
            if spec is not None and _identity(type(spec), text) != spec.identity():
                raise StoreError(f"{db_path(self.out)} holds run {key} with another spec than this config's "
                                 "(a key collision or a store edited by hand); use another --out folder")
        with self.db:
            self.db.execute("DELETE FROM current")
            self.db.executemany("INSERT INTO current VALUES (?)", ((k,) for k in specs))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('config', ?)", (config,))

    def fingerprints(self) -> dict[str, tuple[str, str | None, str | None]]:
        """``{key: (base_method, method_fingerprint, python_version)}`` of the stored runs that did not fail."""
        return {k: (m, f, v) for k, m, f, v in self.db.execute(
            "SELECT key, base_method, method_fingerprint, python_version FROM runs WHERE status != 'failed'")}

    def keys(self, exclude_status: str | None = None) -> set[str]:
        """Keys of the stored runs, leaving out those with ``exclude_status``."""
        if exclude_status is None:
            return {k for (k,) in self.db.execute("SELECT key FROM runs")}
        return {k for (k,) in self.db.execute("SELECT key FROM runs WHERE status != ?", (exclude_status,))}

    def write(self, record: dict[str, Any]) -> None:
        """Store one run (replacing an earlier failed attempt), its trace and weights in one transaction."""
        trace = record.get("trace") or {}
        row = tuple(record.get(c) for c in RUN_COLUMNS)
        with self.db:
            self.db.execute(f"INSERT OR REPLACE INTO runs ({', '.join(RUN_COLUMNS)}) "
                            f"VALUES ({', '.join('?' * len(RUN_COLUMNS))})", row)
            self.db.execute("INSERT OR REPLACE INTO traces VALUES (?, ?, ?)",
                            (record["key"], json.dumps(trace), json.dumps(record.get("x"))))

    def close(self) -> None:
        """Close the database and release the lock, leaving the lock file empty (no owner)."""
        self.db.close()
        if not self._lock.closed:
            self._lock.truncate(0)
            self._lock.flush()
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _drop_lock(ref: weakref.ref) -> None:
    """In a forked child (a pool worker): close the child's copy of the lock file, so the lock is
    held by the sweep's process alone and ends with it."""
    store = ref()
    if store is not None and not store._lock.closed:
        store._lock.close()


def _identity(spec_class: Any, text: str | None) -> str | None:
    try:
        return spec_class.from_json(text).identity()
    except (TypeError, ValueError, KeyError):  # not a spec this swarmreg can read
        return None


def _connect_readonly(out: str | Path) -> sqlite3.Connection:
    path = db_path(out)
    if not path.is_file():
        raise FileNotFoundError(f"no results store at {path}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        _schema_version(db, path)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise StoreError(f"{path} is not a swarmreg store ({exc})") from None
    except StoreError:
        db.close()
        raise
    return db


def load_results(out: str | Path, current_only: bool = True) -> pd.DataFrame:
    """Stored runs of ``OUT/runs.sqlite`` as a DataFrame, one row per run (columns :data:`RUN_COLUMNS`).

    ``current_only`` keeps the runs named by the config last run into the store (all of them for a
    store that has no record of one); ``False`` returns every stored run, from every config.
    """
    with closing(_connect_readonly(out)) as db:
        has_current = db.execute("SELECT name FROM sqlite_master WHERE name = 'current'").fetchone() and \
            db.execute("SELECT 1 FROM current LIMIT 1").fetchone()
        where = " WHERE key IN (SELECT key FROM current)" if current_only and has_current else ""
        df = pd.read_sql_query(f"SELECT * FROM runs{where} ORDER BY dataset, hidden, method, lam, seed", db)
    df = df.reindex(columns=list(RUN_COLUMNS))  # an older store's runs: provenance missing
    for column in PROVENANCE_COLUMNS:  # text, None where missing, whether the column or its values are
        df[column] = df[column].astype(object).where(df[column].notna(), None)
    return df


def load_traces(out: str | Path, keys: Iterable[str] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Traces by run key: ``{key: {"cost": array, "fun": array, ...}}``."""
    with closing(_connect_readonly(out)) as db:
        rows = db.execute("SELECT key, trace FROM traces").fetchall()
    wanted = None if keys is None else set(keys)
    return {k: {n: np.asarray(v) for n, v in json.loads(t).items()}
            for k, t in rows if wanted is None or k in wanted}


def load_weights(out: str | Path, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The returned weight vector ``res.x`` of each finished run, by key."""
    with closing(_connect_readonly(out)) as db:
        rows = db.execute("SELECT key, x FROM traces WHERE x IS NOT NULL AND x != 'null'").fetchall()
    wanted = None if keys is None else set(keys)
    return {k: np.asarray(json.loads(x)) for k, x in rows if wanted is None or k in wanted}
