"""The open registry of optimizers: a name maps to its options dataclass, up-front check and run.

A method is ``run(budget, x0, rng, opts) -> (x, status, message)``: it evaluates only through
``budget`` (a :class:`swarmreg.budget.Budget`, which charges every call), draws every random number
from ``rng`` (the run's ``numpy.random.Generator``), records its trace on ``budget`` and ends with a
record of the point it returns. ``opts`` is an instance of the method's frozen options dataclass.
``check(opts, budget, problem, grad_cost)`` refuses, before any work, what cannot run.

Methods come from three places, all into the one mapping :data:`METHODS`:

- swarmreg's own, in ``swarmreg/methods/`` (one small file each);
- :func:`register_method` in user code, a notebook or a plugin module (a sweep's ``plugins = [...]``);
- other packages' entry points in the group ``swarmreg.methods`` (a module that registers on import,
  or a function that registers when called), loaded the first time the registry is read.

A *family* (:func:`register_family`) resolves names ``prefix:Name`` on demand, e.g.
``nevergrad:NGOpt`` for any optimizer in nevergrad's own registry; family members are not listed
when iterating :data:`METHODS` (there are hundreds), but ``METHODS["nevergrad:NGOpt"]`` works.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import io
import re
import sys
import tokenize
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ._validate import suggest

ENTRY_POINT_GROUP = "swarmreg.methods"
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*(?:[-.:][a-z0-9_]+)*")
"""A method name: a plain lowercase identifier, parts joined by dashes, dots or colons."""


@dataclass(frozen=True)
class Method:
    """One registered optimizer."""

    name: str
    options: type  # frozen dataclass of the method's options, every field with a default
    check: Callable[..., None]  # (options, budget, problem, grad_cost): raise ValueError on what cannot run
    run: Callable[..., Any]  # (Budget, x0, Generator, options) -> (x, status, message)
    uses_gradient: bool  # whether it calls budget.error_and_gradient
    summary: str = ""  # one line: what it is
    native_device: bool = False  # whether it runs on a device objective's device (else through host copies)

    def option_docs(self) -> dict[str, tuple[Any, str]]:
        """``{field: (default, comment)}``, the comment read from the ``# ...`` after the field's line."""
        comments = _field_comments(self.options)
        return {f.name: (f.default, comments.get(f.name, "")) for f in dataclasses.fields(self.options)}


def _no_check(opts: Any, budget: float, problem: Any, grad_cost: float) -> None:
    """The check of a method that declares none: every budget >= 1 is accepted."""


def _field_comments(cls: type) -> dict[str, str]:
    """Trailing ``# comments`` of a dataclass's field lines, read from its source (empty if unavailable)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    names = {f.name for f in dataclasses.fields(cls)}
    comments: dict[str, str] = {}
    line_field: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME and tok.string in names and tok.start[1] > 0 \
                    and tok.start[0] not in line_field and tok.line.strip().startswith(tok.string):
                line_field[tok.start[0]] = tok.string
            elif tok.type == tokenize.COMMENT and tok.start[0] in line_field:
                comments.setdefault(line_field[tok.start[0]], tok.string.lstrip("#").strip())
    except (tokenize.TokenError, IndentationError):
        return comments
    return comments


def _summary(run: Callable[..., Any]) -> str:
    doc = inspect.getdoc(run) or inspect.getdoc(inspect.getmodule(run)) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


class _Registry(Mapping[str, Method]):
    """The read-only live view of every registered method (see the module docstring)."""

    def __init__(self) -> None:
        self._methods: dict[str, Method] = {}
        self._families: dict[str, tuple[Callable[[str], Method], str, Callable[[], Iterable[str]] | None]] = {}
        self._resolved: dict[str, Method] = {}
        self._entry_points_loaded = False

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True  # first, so that a plugin reading METHODS does not recurse
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = ep.load()
                if callable(loaded):
                    loaded()
            except Exception as exc:  # one broken package must not break every other method
                warnings.warn(f"swarmreg: the method plugin {ep.name!r} ({ep.value}) failed to load: "
                              f"{type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=3)

    def resolve(self, name: str) -> Method:
        """The method called ``name``; a ``ValueError`` naming it, with the known ones, if there is none."""
        self._load_entry_points()
        if name in self._methods:
            return self._methods[name]
        prefix, _, member = name.partition(":")
        if member and prefix in self._families:
            if name not in self._resolved:  # the family's resolver raises its own, precise ValueError
                self._resolved[name] = self._families[prefix][0](member)
            return self._resolved[name]
        families = [f"{p}:<Name>" for p in self._families]
        raise ValueError(f"unknown method {name!r}{suggest(name, self._methods)}; "
                         f"known methods: {', '.join([*self._methods, *families])}")

    def __getitem__(self, name: str) -> Method:
        try:
            return self.resolve(name)
        except (ValueError, TypeError):
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        self._load_entry_points()
        return iter(list(self._methods))

    def __len__(self) -> int:
        self._load_entry_points()
        return len(self._methods)

    def __repr__(self) -> str:
        return f"METHODS({', '.join(self)})"

    @property
    def families(self) -> Mapping[str, str]:
        """``{prefix: description}`` of the registered families (``prefix:Name`` methods)."""
        self._load_entry_points()
        return {prefix: doc for prefix, (_, doc, _) in self._families.items()}

    def family_names(self, prefix: str) -> list[str]:
        """The full names ``prefix:Name`` a family serves, sorted; a ``ValueError`` for an unknown prefix or
        a family that cannot list its names (a missing optional dependency, or no lister registered)."""
        self._load_entry_points()
        if prefix not in self._families:
            raise ValueError(f"unknown method family {prefix!r}{suggest(prefix, self._families)}; "
                             f"known families: {', '.join(self._families) or 'none'}")
        names = self._families[prefix][2]
        if names is None:
            raise ValueError(f"the method family {prefix!r} does not list its names")
        return sorted(f"{prefix}:{n}" for n in names())


METHODS = _Registry()
"""Every registered method by name: read-only, shows a method as soon as it is registered."""


def get_method(name: object) -> Method:
    """The method called ``name``, or a ``ValueError``/``TypeError`` naming it with the known ones."""
    if not isinstance(name, str):
        raise TypeError(f"method must be a str, one of {', '.join(METHODS)}; got {name!r}")
    return METHODS.resolve(name)


def _check_name(name: object, what: str = "method name") -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, got {name!r}")
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"{what} {name!r} is not a plain lowercase identifier "
                         "(letters, digits and underscores, parts joined by '-', '.' or ':')")
    return name


def _check_options(options: object, name: str) -> type:
    if not (isinstance(options, type) and dataclasses.is_dataclass(options)):
        raise TypeError(f"options of method {name!r} must be a dataclass class, got {options!r}")
    if not options.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"options of method {name!r} must be a frozen dataclass (@dataclass(frozen=True)): "
                        f"{options.__name__} is not frozen")
    try:
        options()
    except TypeError as exc:
        raise TypeError(f"options of method {name!r}: every field of {options.__name__} needs a default ({exc})") \
            from None
    return options


def register_method(name: str, *, options: type, uses_gradient: bool = False,
                    check: Callable[..., None] | None = None, replace: bool = False,
                    native_device: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated ``run(budget, x0, rng, opts) -> (x, status, message)`` as ``name``.

    ``options`` is a frozen dataclass whose fields (all with defaults) are the method's options;
    ``check(opts, budget, problem, grad_cost)`` raises ``ValueError`` for what cannot run, before
    any work; ``uses_gradient`` says whether it calls ``budget.error_and_gradient``. A name that is
    taken is refused unless ``replace=True`` (re-running a notebook cell). Returns ``run`` unchanged.
    """
    _check_name(name)
    if ":" in name and name.split(":", 1)[0] in METHODS._families:
        raise ValueError(f"method name {name!r} is in the {name.split(':', 1)[0]!r} family's namespace")
    _check_options(options, name)
    if check is not None and not callable(check):
        raise TypeError(f"check of method {name!r} must be callable, got {check!r}")
    if not isinstance(uses_gradient, bool):
        raise TypeError(f"uses_gradient of method {name!r} must be a bool, got {uses_gradient!r}")
    if name in METHODS._methods and not replace:
        raise ValueError(f"a method called {name!r} is already registered; pick another name "
                         "(or pass replace=True to register_method)")

    def decorate(run: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(run):
            raise TypeError(f"run of method {name!r} must be callable, got {run!r}")
        METHODS._methods[name] = Method(name, options, check or _no_check, run, uses_gradient, _summary(run),
                                        bool(native_device))
        return run

    return decorate


def register_family(prefix: str, resolve: Callable[[str], Method], description: str,
                    names: Callable[[], Iterable[str]] | None = None) -> None:
    """Register ``prefix:<Name>`` methods resolved on demand by ``resolve(Name) -> Method``.

    ``resolve`` raises ``ValueError`` with a precise message (unknown name with a near miss, a
    missing optional dependency) for a name it cannot serve; ``names()``, if given, returns every
    ``Name`` it serves (for ``swarmreg methods <prefix>``).
    """
    _check_name(prefix, "family prefix")
    if ":" in prefix:
        raise ValueError(f"family prefix {prefix!r} must not contain ':'")
    if prefix in METHODS._families:
        raise ValueError(f"a method family called {prefix!r} is already registered")
    METHODS._families[prefix] = (resolve, description, names)


class PluginError(ImportError):
    """A plugin module named in a sweep config failed to import."""


def import_plugins(modules: Iterable[str], path: Iterable[str] = ()) -> None:
    """Import each plugin module (which registers its methods), looking first in the folders ``path``
    (a config file's folder, the working directory); a failure names the module and why."""
    folders = [str(Path(folder).resolve()) for folder in path]
    for folder in reversed(folders):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    if folders:
        importlib.invalidate_caches()
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise PluginError(f"plugin {module!r} failed to import: {type(exc).__name__}: {exc}") from None
