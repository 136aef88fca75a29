"""Where a stored run came from: the code of its method, the libraries, the machine, the time.

A method's fingerprint hashes the syntax tree of the module(s) that define its ``run`` function and
its options class, and of the private helper modules they import (``swarmreg.methods._*`` such as the
shared epoch loop, and ``swarmreg.backends.*``, the device implementations), docstrings removed
(comments are not in the tree), so an edit of the code changes it and an edit of a comment or
docstring does not. A stored run whose fingerprint differs from the method's now is *stale*. The
tree's form changes between Python minor versions, so only runs stored under the running Python's
minor version are compared.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import os
import platform
import socket
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache, partial
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy

from .registry import get_method

WRAPPED = {"pso": "pyswarms", "cma_es": "cma", "de": "scipy", "nelder_mead": "scipy", "lbfgs": "scipy",
           "nevergrad": "nevergrad"}
"""The library each of swarmreg's own method modules wraps (the others are numpy code)."""

_DOCSTRING_OWNERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _code_hash(source: str) -> str:
    """sha256 of ``ast.dump`` of ``source`` without docstrings and line numbers."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, _DOCSTRING_OWNERS) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def _modules(name: str) -> list:
    """The modules that define method ``name``'s run function and options class (one or two)."""
    spec = get_method(name)
    found = []
    for obj in (spec.run, spec.options):
        while isinstance(obj, partial):  # a family's run: the shared run with the member's name bound
            obj = obj.func
        module = inspect.getmodule(inspect.unwrap(obj))
        if module is not None and module not in found:
            found.append(module)
    return found


HELPER_PREFIXES = ("swarmreg.methods._", "swarmreg.backends.")
"""The modules a method's code reaches into that belong to the method's story: the shared epoch
loop, schedules and operators, and the device implementations."""


@cache
def _imports(path: str, mtime: float) -> list[ast.AST]:
    """The import statements of the file at ``path`` as of ``mtime``, anywhere in it."""
    return [node for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8")))
            if isinstance(node, ast.Import | ast.ImportFrom)]


def _helper_paths(path: str, package: str, seen: set[str]) -> list[str]:
    """Source files of the helper modules (:data:`HELPER_PREFIXES`) the file at ``path`` imports,
    anywhere in it (device imports sit inside functions), and of those they import; found by their
    spec, so nothing is imported."""
    found = []
    for node in _imports(path, os.path.getmtime(path)):
        if isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
                if node.level else node.module or ""
            names = [base, *(f"{base}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if not name.startswith(HELPER_PREFIXES) or name in seen:
                continue
            seen.add(name)
            try:
                spec = importlib.util.find_spec(name)
            except ModuleNotFoundError:  # an imported name, not a module
                continue
            if spec is not None and spec.origin and spec.origin.endswith(".py"):
                found += [spec.origin, *_helper_paths(spec.origin, name.rpartition(".")[0], seen)]
    return found


@cache
def _module_hash(path: str, mtime: float) -> str:
    """The code hash of the file at ``path`` as of ``mtime`` (an edited file is hashed again)."""
    return _code_hash(Path(path).read_text(encoding="utf-8"))


def method_fingerprint(name: str) -> str | None:
    """16 hex digits of the hash of the code of method ``name``'s modules (None where the source is
    not available, as for a method defined in a notebook cell)."""
    modules = _modules(name)
    paths = [getattr(module, "__file__", None) or "" for module in modules]
    if not all(path.endswith(".py") for path in paths):
        return None
    seen: set[str] = set()
    for module, path in zip(modules, list(paths)):
        paths += [p for p in _helper_paths(path, module.__name__.rpartition(".")[0], seen) if p not in paths]
    h = hashlib.sha256()
    for path in paths:
        h.update(_module_hash(path, os.path.getmtime(path)).encode())
    return h.hexdigest()[:16]


@cache
def _packages() -> Mapping[str, list[str]]:
    return metadata.packages_distributions()


@cache
def _distribution(top: str) -> str | None:
    """``"dist version"`` of the installed distribution that provides the top-level module ``top``
    (cached: scanning the installed distributions takes about 0.1 s, once per process)."""
    dists = _packages().get(top)
    if not dists:
        return None
    try:
        return f"{dists[0]} {metadata.version(dists[0])}"
    except metadata.PackageNotFoundError:
        return None


def library_version(name: str) -> str | None:
    """``"dist version"`` of the library method ``name`` wraps: for swarmreg's own, :data:`WRAPPED`;
    for a plugin, its distribution where it is installed as a package, else the first third-party
    package its module imports (numpy last)."""
    module = _modules(name)[0]
    top = module.__name__.split(".")[0]
    if module.__name__.startswith("swarmreg.methods."):
        return _distribution(WRAPPED.get(module.__name__.rsplit(".", 1)[1], "numpy"))
    if top != "swarmreg" and (own := _distribution(top)):
        return own
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return None
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.append(node.module.split(".")[0])
    skip = set(sys.stdlib_module_names) | {"swarmreg", top}
    candidates = sorted(dict.fromkeys(i for i in imported if i not in skip), key=lambda i: i == "numpy")
    return next((v for v in map(_distribution, candidates) if v), None)


def blas() -> str:
    """The BLAS numpy calls: ``"openblas 0.3.27 Haswell, 1 thread(s)"``."""
    from threadpoolctl import threadpool_info
    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture') or ''}".replace("  ", " ")
                     .strip() + f", {i.get('num_threads')} thread(s)" for i in info) or "unknown"


def now() -> str:
    """The UTC time, ISO 8601, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def provenance(method: str) -> dict[str, str | None]:
    """Every provenance column but the times, for a run of ``method`` in this process."""
    from . import __version__
    return {"swarmreg_version": __version__, "python_version": platform.python_version(),
            "numpy_version": np.__version__, "scipy_version": scipy.__version__,
            "library_version": library_version(method), "method_fingerprint": method_fingerprint(method),
            "blas": blas(), "host": socket.gethostname()}


def stale_runs(stored: Mapping[str, tuple[str, str | None, str | None]], specs: Iterable[Any]) -> dict[str, str]:
    """``{key: base_method}`` of the stored runs of ``specs`` whose method fingerprint differs from the
    code now. Not known to be stale: runs stored before fingerprints were recorded, and runs stored
    under another Python minor version (its syntax trees differ). ``stored`` is ``{key: (base_method,
    fingerprint, python_version)}``, ``specs`` objects with ``key``."""
    current: dict[str, str | None] = {}
    minor = platform.python_version_tuple()[:2]
    stale = {}
    for spec in specs:
        method, fingerprint, python = stored.get(spec.key, (None, None, None))
        if fingerprint is None or python is None or tuple(python.split(".")[:2]) != minor:
            continue
        if method not in current:
            current[method] = method_fingerprint(method)
        if current[method] is not None and fingerprint != current[method]:
            stale[spec.key] = method
    return stale


def mixed_note(df: pd.DataFrame) -> str | None:
    """One line when the runs of one method in ``df`` were made by more than one code fingerprint or
    library version (stored runs of older code, or of another machine's libraries); else None."""
    mixed = [method for method, runs in df.groupby("method")
             if any(runs[c].nunique(dropna=False) > 1 for c in ("method_fingerprint", "library_version")
                    if c in runs)]
    if not mixed:
        return None
    return (f"swarmreg: note: the runs of {', '.join(mixed)} were made by more than one code fingerprint or "
            "library version (columns method_fingerprint, library_version); rerun to recompute stale runs")
