"""A sweep: the grid datasets x hidden x methods x lams x seeds, read from TOML and checked whole.

Every run is a :class:`RunSpec`, a pure description whose canonical JSON hashes to its key; the run's
randomness (split and optimizer) derives from the spec alone, so results do not depend on where or
in what order runs execute. A data set is a built-in name or a CSV file (:mod:`swarmreg.csvdata`),
read and checked with the config, before any run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._validate import suggest
from .budget import GRAD_COST, problem_of
from .csvdata import CSVError, CSVSource, from_entry
from .datasets import NAMES as DATASETS
from .datasets import check_split
from .methods._options import resolve
from .network import HIDDEN_ACTIVATIONS
from .registry import METHODS, PluginError, get_method, import_plugins

TOP_LEVEL_KEYS = ("name", "plugins", "datasets", "hidden", "methods", "lams", "seeds", "budget", "options",
                  "variants", "test_size", "val_size", "split_seed", "activation", "device", "penalize_biases")


MAX_SEED = 2**32 - 1  # the largest random_state scikit-learn's splitters accept


class ConfigError(ValueError):
    """A sweep config that cannot run; the message is one line naming the bad value."""


@dataclass(frozen=True)
class RunSpec:
    dataset: str
    hidden: tuple[int, ...]
    method: str  # the name in the sweep: a method or a variant
    base_method: str  # the key of METHODS that runs it
    options: Mapping[str, Any]  # resolved options, defaults included
    lam: float
    seed: int  # the optimizer's seed
    split_seed: int  # the train/test split's seed
    budget: float
    test_size: float
    activation: str = "tanh"
    val_size: float = 0.0
    source: CSVSource | None = None  # a CSV data set's file, target, task and classes; None: built-in
    device: str | None = None  # the objective's device ("cpu", "cuda", "cuda:1"); None: numpy
    penalize_biases: bool = False  # the penalty over all parameters (Objective's variant), not the standard J

    def _fields(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["options"] = dict(sorted(self.options.items()))
        if self.source is None:
            del d["source"]  # so built-in data sets keep the keys they had before CSV sources
        if self.device is None:
            del d["device"]  # so numpy runs keep the keys they had before devices
        if not self.penalize_biases:
            del d["penalize_biases"]  # likewise: the standard J keeps its keys
        return d

    def canonical(self) -> str:
        """The whole spec as JSON (stored with the run; :meth:`from_json` reads it back)."""
        return json.dumps(self._fields(), sort_keys=True, separators=(",", ":"))

    def identity(self) -> str:
        """What the run's results depend on: :meth:`canonical` without a CSV file's path (its bytes'
        hash stays), so a moved data file or project keeps its runs."""
        d = self._fields()
        if "source" in d:
            d["source"] = {k: v for k, v in d["source"].items() if k != "path"}
        return json.dumps(d, sort_keys=True, separators=(",", ":"))

    @property
    def key(self) -> str:
        return hashlib.sha256(self.identity().encode()).hexdigest()[:20]

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        d = json.loads(text)
        d["hidden"] = tuple(d["hidden"])
        if d.get("source") is not None:
            d["source"] = CSVSource.from_dict(d["source"])
        return cls(**d)


def _read_datasets(entries: list, base: Path, test_size: float, val_size: float,
                   where: str) -> tuple[tuple[str, ...], dict[str, CSVSource], tuple[str, ...]]:
    """The sweep's data set names, its CSV sources by name (each file read, checked and test-split
    now), and how their tasks were inferred."""
    names: list[str] = []
    sources: dict[str, CSVSource] = {}
    notes: list[str] = []
    for entry in entries:
        if isinstance(entry, str) and entry in DATASETS:
            names.append(entry)
            continue
        try:
            name, table = from_entry(entry, base)
        except CSVError as exc:
            raise _fail(where, f"datasets: {exc}") from None
        try:
            check_split(table.y, table.source.task, test_size, val_size, table.source.classes)
        except ValueError as exc:
            raise _fail(where, f"datasets: {Path(table.source.path).name}: {exc}") from None
        if name in DATASETS:
            raise _fail(where, f"datasets: the CSV data set {table.source.path} is called {name!r}, as a built-in "
                               "one; give its entry another name = \"...\"")
        if name in names:
            raise _fail(where, f"datasets: two data sets are called {name!r}; give a CSV entry another name = \"...\"")
        names.append(name)
        sources[name] = table.source
        if table.inferred:
            notes.append(table.inferred)
    return tuple(names), sources, tuple(notes)


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _list(cfg: Mapping, key: str, where: str) -> list:
    value = cfg.get(key)
    if value is None:
        raise _fail(where, f"missing key {key!r}")
    if not isinstance(value, list) or not value:
        raise _fail(where, f"{key} must be a non-empty list, got {value!r}")
    seen = []
    for item in value:
        if item in seen:
            raise _fail(where, f"{key} lists {item!r} twice")
        seen.append(item)
    return value


def check_device(device: object) -> str:
    """``device`` if JAX has it; a ``ValueError`` naming the devices found (before any run) if not."""
    from .backends import jax_backend

    jax_backend().resolve_device(device)
    return device


@dataclass(frozen=True)
class Sweep:
    name: str
    datasets: tuple[str, ...]
    hidden: tuple[tuple[int, ...], ...]
    methods: tuple[str, ...]
    lams: tuple[float, ...]
    seeds: tuple[int, ...]
    budget: float
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    test_size: float = 0.3
    val_size: float = 0.0  # fraction of all items held out for validation
    split_seed: int | None = None  # None: each run's split is drawn from its own seed
    activation: str = "tanh"
    penalize_biases: bool = False  # every run's penalty over all parameters, biases included
    plugins: tuple[str, ...] = ()  # modules imported before the config is checked, and in every worker
    plugin_path: tuple[str, ...] = ()  # folders the plugins are looked for in first: the config file's
    sources: Mapping[str, CSVSource] = field(default_factory=dict)  # the CSV data sets, by name
    device: str | None = None  # every run's objective on this device ("cpu", "cuda", "cuda:1"); None: numpy
    notes: tuple[str, ...] = field(default=(), compare=False)  # how CSV tasks were inferred, to show the user

    @classmethod
    def from_toml(cls, path: str | Path, device: str | None = None) -> Sweep:
        """The sweep of a TOML file; ``device`` (``run --device``) replaces the file's own before it
        is checked, so a GPU config can be run on a machine without one."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None
        try:
            cfg = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
        if device is not None:
            cfg["device"] = device
        return cls.from_dict(cfg, where=str(path), base=path.parent)

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any], where: str = "config", base: str | Path | None = None) -> Sweep:
        """Validate a config mapping (the TOML's content) and build the sweep, or raise ConfigError.

        ``base`` is the folder relative CSV paths are read from (the config file's; default the
        working directory)."""
        for key in cfg:
            if key not in TOP_LEVEL_KEYS:
                raise _fail(where, f"unknown key {key!r}{suggest(key, TOP_LEVEL_KEYS)}")
        plugins = cfg.get("plugins", [])
        plugin_path = (str(Path(base).resolve()),) if base is not None and plugins else ()
        if not isinstance(plugins, list) or not all(isinstance(p, str) and p for p in plugins):
            raise _fail(where, f"plugins must be a list of module names, got {plugins!r}")
        try:
            import_plugins(plugins, plugin_path)  # before the methods are checked: plugins register them
        except PluginError as exc:
            raise _fail(where, str(exc)) from None
        name = cfg.get("name", Path(where).stem)
        if not isinstance(name, str) or not name:
            raise _fail(where, f"name must be a non-empty string, got {name!r}")
        variants = cfg.get("variants", {})
        if not isinstance(variants, dict):
            raise _fail(where, f"variants must be a table, got {variants!r}")
        for vname, vcfg in variants.items():
            if vname in METHODS:
                raise _fail(where, f"variant {vname!r} has the name of a method; rename it")
            if not isinstance(vcfg, dict) or "method" not in vcfg:
                raise _fail(where, f"variant {vname!r} needs a 'method' key")
            try:
                get_method(vcfg["method"])
            except (TypeError, ValueError) as exc:
                raise _fail(where, f"variant {vname!r}: {exc}") from None
        methods = _list(cfg, "methods", where)
        for m in methods:
            if isinstance(m, str) and m in variants:
                continue
            try:
                get_method(m)
            except (TypeError, ValueError) as exc:
                raise _fail(where, f"methods: {exc}{'; or a variant: ' + ', '.join(variants) if variants else ''}") \
                    from None
        datasets = _list(cfg, "datasets", where)
        for d in datasets:
            if isinstance(d, str) and d not in DATASETS and not d.endswith(".csv"):
                raise _fail(where, f"datasets: unknown dataset {d!r}{suggest(d, DATASETS)}; known: "
                                   f"{', '.join(DATASETS)}, a path ending in .csv or {{path = \"data.csv\"}}")
        hidden = _list(cfg, "hidden", where)
        for h in hidden:
            if not isinstance(h, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1
                                                  for s in h):
                raise _fail(where, f"hidden must be lists of positive ints, got {h!r}")
        lams = _list(cfg, "lams", where)
        for lam in lams:
            if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
                raise _fail(where, f"lams must be finite numbers >= 0, got {lam!r}")
        seeds = _list(cfg, "seeds", where)
        for s in seeds:
            if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= MAX_SEED:
                raise _fail(where, f"seeds must be ints in 0..{MAX_SEED}, got {s!r}")
        budget = cfg.get("budget")
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget >= 1 \
                or not math.isfinite(budget):
            raise _fail(where, f"budget must be a number >= 1, got {budget!r}")
        test_size = cfg.get("test_size", 0.3)
        if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0 <= test_size < 1:
            raise _fail(where, f"test_size must be in [0, 1), got {test_size!r}")
        val_size = cfg.get("val_size", 0.0)
        if isinstance(val_size, bool) or not isinstance(val_size, (int, float)) or not 0 <= val_size < 1 \
                or test_size + val_size >= 1:
            raise _fail(where, f"val_size must be in [0, 1) with test_size + val_size < 1, got {val_size!r}")
        split_seed = cfg.get("split_seed")
        if split_seed is not None and (isinstance(split_seed, bool) or not isinstance(split_seed, int)
                                       or not 0 <= split_seed <= MAX_SEED):
            raise _fail(where, f"split_seed must be an int in 0..{MAX_SEED}, got {split_seed!r}")
        activation = cfg.get("activation", "tanh")
        if activation not in HIDDEN_ACTIVATIONS:
            raise _fail(where, f"activation must be one of {HIDDEN_ACTIVATIONS}, got {activation!r}")
        device = cfg.get("device")
        if device is not None:
            try:
                check_device(device)
            except (TypeError, ValueError) as exc:
                raise _fail(where, f"device: {exc}") from None
        penalize_biases = cfg.get("penalize_biases", False)
        if not isinstance(penalize_biases, bool):
            raise _fail(where, f"penalize_biases must be true or false, got {penalize_biases!r}")
        options = cfg.get("options", {})
        if not isinstance(options, dict):
            raise _fail(where, f"options must be a table, got {options!r}")
        for m, opts in options.items():
            if m not in METHODS and m not in variants:
                raise _fail(where, f"[options.{m}]: unknown method{suggest(m, [*METHODS, *variants])}")
            if not isinstance(opts, dict):
                raise _fail(where, f"[options.{m}] must be a table")
        datasets, sources, notes = _read_datasets(datasets, Path(base or "."), float(test_size), float(val_size),
                                                  where)
        sweep = cls(name=name, datasets=datasets, hidden=tuple(tuple(h) for h in hidden),
                    methods=tuple(methods), lams=tuple(float(x) for x in lams), seeds=tuple(seeds),
                    budget=float(budget), options=options, variants=variants, test_size=float(test_size),
                    val_size=float(val_size), split_seed=split_seed, activation=activation,
                    penalize_biases=penalize_biases, plugins=tuple(plugins), plugin_path=plugin_path,
                    sources=sources, notes=notes, device=device)
        # resolve the options of every method, variant and [options] table now (used or not), so
        # typos surface before any run
        for m in dict.fromkeys([*sweep.methods, *options, *variants]):
            try:
                sweep.resolved_options(m)
            except (TypeError, ValueError) as exc:
                raise _fail(where, f"method {m!r}: {exc}") from None
        used = [*methods, *(variants[m]["method"] for m in methods if m in variants)]
        for m in options:
            if m not in used:
                raise _fail(where, f"[options.{m}]: {m!r} is not among the sweep's methods "
                                   f"({', '.join(dict.fromkeys(used))}); add it to methods or remove the table")
        sweep._check_runs_fit(where)
        return sweep

    def _check_runs_fit(self, where: str) -> None:
        """Each method's own ``check`` on every (dataset, network, lam) of the sweep, before any run: a
        budget below one generation or step of a method, or options that cannot run on a problem."""
        from .execute import problem  # execute builds on this module
        objectives: dict[tuple, Any] = {}
        for spec in {(s.dataset, s.hidden, s.method, s.lam): s for s in reversed(self.runs())}.values():
            where_run = (spec.dataset, spec.hidden, spec.lam)
            if where_run not in objectives:
                objectives[where_run] = problem(spec, cached=False)[1]  # a run reads its data itself
            method = get_method(spec.base_method)
            try:
                method.check(resolve(method.options, spec.base_method, dict(spec.options)), self.budget,
                             problem_of(objectives[where_run]), GRAD_COST)
            except (TypeError, ValueError) as exc:
                raise _fail(where, f"method {spec.method!r} on {spec.dataset}, hidden {list(spec.hidden)}, "
                                   f"lam {spec.lam:g}: {exc}") from None

    def base_method(self, method: str) -> str:
        return self.variants[method]["method"] if method in self.variants else method

    def resolved_options(self, method: str) -> dict[str, Any]:
        """Options of a method or variant: ``[options.<base>]``, the variant's own, ``[options.<variant>]``."""
        base = self.base_method(method)
        merged = dict(self.options.get(base, {}))
        if method in self.variants:
            merged.update({k: v for k, v in self.variants[method].items() if k != "method"})
            merged.update(self.options.get(method, {}))
        return dataclasses.asdict(resolve(METHODS[base].options, base, merged))

    def runs(self) -> list[RunSpec]:
        """Every run of the grid, in a fixed order."""
        opts = {m: self.resolved_options(m) for m in self.methods}
        return [
            RunSpec(dataset=d, hidden=h, method=m, base_method=self.base_method(m), options=opts[m],
                    lam=lam, seed=s, split_seed=s if self.split_seed is None else self.split_seed,
                    budget=self.budget, test_size=self.test_size, activation=self.activation,
                    val_size=self.val_size, source=self.sources.get(d), device=self.device,
                    penalize_biases=self.penalize_biases)
            for d, h, m, lam, s in itertools.product(self.datasets, self.hidden, self.methods,
                                                     self.lams, self.seeds)
        ]
