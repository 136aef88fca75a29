"""The results store: ``OUT/runs.sqlite``, one committed row per finished run, written by one process.

WAL journaling and a commit per run mean a crash or ``kill -9`` loses only runs in flight. A store
remembers the fingerprint of the sweep that made it and refuses to mix in another one. A lock file
keeps a second sweep from writing into a folder that a running sweep holds.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RUN_COLUMNS = (
    "key", "sweep", "dataset", "hidden", "method", "base_method", "lam", "seed", "split_seed", "budget",
    "status", "fun", "error", "penalty", "weight_norm", "bias_norm", "train_accuracy", "test_accuracy",
    "train_mse", "test_mse", "val_accuracy", "val_mse", "cost", "n_evals", "n_grads", "wall_time", "message", "spec",
)
_TYPES = {"lam": "REAL", "seed": "INTEGER", "split_seed": "INTEGER", "budget": "REAL", "n_evals": "INTEGER",
          "n_grads": "INTEGER", **{c: "REAL" for c in ("fun", "error", "penalty", "weight_norm", "bias_norm",
                                                       "train_accuracy", "test_accuracy", "train_mse",
                                                       "test_mse", "val_accuracy", "val_mse", "cost",
                                                       "wall_time")}}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    {", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" + (" PRIMARY KEY" if c == "key" else "") for c in RUN_COLUMNS)}
);
CREATE TABLE IF NOT EXISTS traces (key TEXT PRIMARY KEY REFERENCES runs(key), trace TEXT NOT NULL, x TEXT);
"""


class StoreError(RuntimeError):
    """The folder is held by another sweep, or its store was made by a different sweep."""


def db_path(out: str | Path) -> Path:
    return Path(out) / "runs.sqlite"


class Store:
    """Open (creating if needed) the store in ``out`` for the sweep with ``fingerprint``."""

    def __init__(self, out: str | Path, fingerprint: str, config: str):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.out / ".lock", "w")  # noqa: SIM115 - held for the store's lifetime
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise StoreError(f"{self.out} is in use by another running sweep (lock {self.out / '.lock'})") from None
        self._lock.write(str(os.getpid()))
        self._lock.flush()
        self.db = sqlite3.connect(db_path(self.out))
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            row = self.db.execute("SELECT value FROM meta WHERE name = 'fingerprint'").fetchone()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{db_path(self.out)} is not a swarmreg store ({exc}); use another --out folder") from None
        if row is None:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
                self.db.execute("INSERT INTO meta VALUES ('config', ?)", (config,))
        elif row[0] != fingerprint:
            self.close()
            raise StoreError(f"{db_path(self.out)} holds results of a different sweep; "
                             "use another --out folder for this config")

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
        self.db.close()
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect_readonly(out: str | Path) -> sqlite3.Connection:
    path = db_path(out)
    if not path.is_file():
        raise FileNotFoundError(f"no results store at {path}")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def load_results(out: str | Path) -> pd.DataFrame:
    """Every stored run of ``OUT/runs.sqlite`` as a DataFrame, one row per run."""
    with _connect_readonly(out) as db:
        return pd.read_sql_query("SELECT * FROM runs ORDER BY dataset, hidden, method, lam, seed", db)


def load_traces(out: str | Path, keys: Iterable[str] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Traces by run key: ``{key: {"cost": array, "fun": array, ...}}``."""
    with _connect_readonly(out) as db:
        rows = db.execute("SELECT key, trace FROM traces").fetchall()
    wanted = None if keys is None else set(keys)
    return {k: {n: np.asarray(v) for n, v in json.loads(t).items()}
            for k, t in rows if wanted is None or k in wanted}


def load_weights(out: str | Path, keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The returned weight vector ``res.x`` of each finished run, by key."""
    with _connect_readonly(out) as db:
        rows = db.execute("SELECT key, x FROM traces WHERE x IS NOT NULL AND x != 'null'").fetchall()
    wanted = None if keys is None else set(keys)
    return {k: np.asarray(json.loads(x)) for k, x in rows if wanted is None or k in wanted}
