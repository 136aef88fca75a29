"""The ``swarmreg`` command: compare, run, table, stats, plot, methods, reproduce.

Bad input: one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from ._pipes import StdoutClosed, closed_pipe_exit, guarded_stdout


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, stopping a sweep as Ctrl-C does: finished runs kept, workers ended, lock released."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Stopped` (a ``KeyboardInterrupt``)."""
    def stop(signum: int, frame: object) -> None:
        raise Stopped(signum)
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _interrupted(exc: KeyboardInterrupt, kept: str) -> int:
    """One line for a sweep stopped by a signal; the exit status 128 + its number."""
    signum = getattr(exc, "signum", signal.SIGINT)
    print(f"swarmreg: interrupted ({signal.Signals(signum).name}); finished runs are kept {kept}; "
          f"rerun the same command to resume", file=sys.stderr)
    return 128 + signum


class UsageError(Exception):
    """Bad input from the command line: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        raise UsageError(message if self.prog == "swarmreg" else f"{self.prog.removeprefix('swarmreg ')}: {message}")


ALL_HELP = "every run stored in OUT (default: the runs of the config last run into OUT)"
OUT_HELP = "the folder holding runs.sqlite (what swarmreg run --out wrote)"
FORMAT_HELP = "markdown (default), csv or latex"


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="swarmreg", description="L2 regularization under particle swarm, Nelder-Mead and backprop.")
    p.add_argument("--version", action="version", version=f"swarmreg {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("compare", help="run a small grid in memory and print its table")
    c.add_argument("--datasets", nargs="+", default=["iris"],
                   help="built-in data set names and CSV files (default: iris)")
    c.add_argument("--target", default=None,
                   help="the target column of the CSV data sets: a header name or a 0-based index "
                        "(default: the last column)")
    c.add_argument("--task", choices=("classification", "regression"), default=None,
                   help="the task of the CSV data sets (default: inferred from the target column)")
    c.add_argument("--hidden", nargs="+", type=int, default=[8], help="hidden layer sizes of one network")
    c.add_argument("--methods", nargs="+", default=["pso", "nelder-mead", "backprop"],
                   help="registered methods (swarmreg methods lists them; default: pso nelder-mead backprop)")
    c.add_argument("--lams", nargs="+", type=float, default=[0.0, 0.01, 0.1],
                   help="L2 coefficients: J = E + lam * sum of squared non-bias weights (default: 0 0.01 0.1)")
    c.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="one run per seed (default: 0 1 2)")
    c.add_argument("--budget", type=float, default=20_000,
                   help="evaluations of J on the training set per run, a gradient costing 3 (default: 20000)")
    c.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    c.add_argument("--device", default=None,
                   help="evaluate on this JAX device: cpu, cuda, cuda:1 (default: numpy; needs swarmreg[jax])")
    c.add_argument("--metrics", nargs="+", default=["fun", "test_accuracy", "weight_norm"],
                   help="result columns to summarize (default: fun test_accuracy weight_norm)")
    c.add_argument("--format", choices=("markdown", "csv", "latex"), default="markdown", help=FORMAT_HELP)

    r = sub.add_parser("run", help="run (resume, or grow) a sweep config into OUT/runs.sqlite: "
                                   "runs already stored there are reused")
    r.add_argument("config", type=Path, help="the sweep's TOML file (see the README's sweep config)")
    r.add_argument("--out", type=Path, required=True,
                   help="folder of the results store OUT/runs.sqlite (created, resumed or grown)")
    r.add_argument("--executor", choices=("process", "serial", "dask"), default="process",
                   help="process: a local process pool (default); serial: in this process; dask: a Dask cluster")
    r.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    r.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")
    r.add_argument("--rerun", choices=("failed", "stale", "all"), default=None,
                   help="recompute these stored runs too: failed ones, stale ones (made by other code of their "
                        "method; the default) or all")
    r.add_argument("--retry-failed", dest="rerun", action="store_const", const="failed",
                   help="the same as --rerun failed")
    r.add_argument("--keep-stale", action="store_true",
                   help="keep stored runs made by other code of their method instead of recomputing them")
    r.add_argument("--device", default=None, help="the config's device, overridden: cpu, cuda, cuda:1 "
                                                  "(needs swarmreg[jax])")

    t = sub.add_parser("table", help="mean and std over seeds of a stored sweep")
    t.add_argument("out", type=Path, help=OUT_HELP)
    t.add_argument("--format", choices=("markdown", "csv", "latex"), default="markdown", help=FORMAT_HELP)
    t.add_argument("--metrics", nargs="+", default=None,
                   help="result columns to summarize (default: fun, error, accuracies, test_mse and the norms)")
    t.add_argument("--all", action="store_true", help=ALL_HELP)
    t.add_argument("--ci", action="store_true",
                   help="cells 'median [low, high]': 95%% bootstrap interval of the median over seeds")

    s = sub.add_parser("stats", help="paired tests of every pair of methods (or --by values), Holm-corrected")
    s.add_argument("out", type=Path, help=OUT_HELP)
    s.add_argument("--metric", default="fun", help="the result column compared (default: fun, i.e. J)")
    s.add_argument("--by", default="method", help="the column whose values are compared (default: method)")
    s.add_argument("--family", choices=("all", "problem"), default="all",
                   help="Holm's correction over every row (default) or over the rows of each problem")
    s.add_argument("--format", choices=("markdown", "csv", "latex"), default="markdown", help=FORMAT_HELP)
    s.add_argument("--all", action="store_true", help=ALL_HELP)
    s.add_argument("--ert", action="store_true",
                   help="print COCO's aRT (average running time) per method and problem with its 95%% bootstrap "
                        "interval, at each of --targets, instead of the paired tests")
    s.add_argument("--targets", nargs="+", type=float, default=None, metavar="TAU",
                   help="aRT targets: best J within a fraction TAU of the best J any run reached on the problem "
                        "(default: 0.01); with --absolute, J thresholds")
    s.add_argument("--absolute", action="store_true", help="--targets are J values, not fractions of the best J")
    s.add_argument("--ecdf", type=Path, default=None, metavar="FILE",
                   help="save the runtime ECDF figure to FILE (PNG) and its caption to FILE with the suffix .txt")

    g = sub.add_parser("plot", help="draw the lam path and convergence figures of a stored sweep")
    g.add_argument("out", type=Path, help=OUT_HELP)
    g.add_argument("--to", type=Path, default=None, help="folder for the PNGs (default: OUT/figures)")
    g.add_argument("--all", action="store_true", help=ALL_HELP)
    g.add_argument("--profiles", action="store_true",
                   help="draw performance and data profiles, the runtime ECDF and the rank diagram instead")

    e = sub.add_parser("export", help="write the stored runs, one row each, as CSV, Parquet or IOHprofiler's format")
    e.add_argument("out", type=Path, help=OUT_HELP)
    e.add_argument("--format", choices=("csv", "parquet", "ioh"), default="csv",
                   help="csv: runs.csv (+ traces.csv.gz); parquet: runs.parquet (+ traces.parquet), needs pyarrow; "
                        "ioh: a folder per method in IOHprofiler's format, for IOHanalyzer (default: csv)")
    e.add_argument("--traces", action="store_true",
                   help="also write each run's trace records: cost and best-so-far J (ioh always has them)")
    e.add_argument("--to", type=Path, default=None, help="folder to write into (default: OUT/export)")
    e.add_argument("--force", action="store_true", help="write over files already there")
    e.add_argument("--all", action="store_true", help=ALL_HELP)

    m = sub.add_parser("methods", help="list every registered method with its options and defaults")
    m.add_argument("names", nargs="*",
                   help="only these methods (default: all); a family's prefix, e.g. nevergrad, lists its names")
    m.add_argument("--family", default=None, metavar="PREFIX",
                   help="list the names of this method family (e.g. nevergrad) instead")
    m.add_argument("--plugins", action="extend", type=_modules, default=[], metavar="MODULE[,MODULE...]",
                   help="import this module first, from the working directory or the import path (it registers "
                        "its methods); repeat the flag or give a comma list for several")

    from .experiments import EXPERIMENTS
    x = sub.add_parser("reproduce", help=f"run the {len(EXPERIMENTS)} experiments ({', '.join(EXPERIMENTS)}) "
                                         "and write OUT/REPORT.md")
    x.add_argument("--quick", action="store_true", help="the quick profile (about a minute on 2 cores)")
    x.add_argument("--profile", choices=("full", "quick", "smoke"), default=None, help=argparse.SUPPRESS)
    x.add_argument("--out", type=Path, default=None,
                   help="report folder (default: ./swarmreg-report); resumed if it holds this profile's report, "
                        "refused if it holds another profile's unless --force")
    x.add_argument("--force", action="store_true", help="write over a folder that holds another profile's report")
    x.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    x.add_argument("--only", nargs="+", default=None,
                   help="run only these experiments: their OUT/<name>/SECTION.md are written, REPORT.md is not")
    x.add_argument("--device", default=None,
                   help="every run's objective on this JAX device: cpu, cuda, cuda:1, in one process "
                        "(default: numpy; needs swarmreg[jax])")
    return p


def _modules(text: str) -> list[str]:
    """``--plugins a,b``: the module names of one flag."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"empty module name in {text!r}")
    return names


def _check_out(out: Path) -> None:
    """Refuse an --out that is a file or under one, before any run starts."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    parent = next((p for p in out.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise UsageError(f"--out {out} is under {parent}, which is not a folder")


def _positive(value: int | None, name: str) -> None:
    if value is not None and value < 1:
        raise UsageError(f"{name} must be at least 1, got {value}")


def _datasets(args: argparse.Namespace) -> list:
    """``--datasets`` with ``--target`` and ``--task`` applied to each CSV file."""
    csvs = [d for d in args.datasets if d.endswith(".csv")]
    if (args.target is not None or args.task is not None) and not csvs:
        raise UsageError("--target and --task apply to CSV data sets; --datasets names none")
    extra = {k: v for k, v in (("target", args.target), ("task", args.task)) if v is not None}
    if isinstance(extra.get("target"), str) and extra["target"].lstrip("-").isdigit():
        extra["target"] = int(extra["target"])
    return [{"path": d, **extra} if d in csvs else d for d in args.datasets]


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare
    from .report import check_metrics, format_table, summarize
    from .sweep import ConfigError
    _positive(args.workers, "--workers")
    check_metrics(args.metrics)
    try:
        runs = compare(datasets=_datasets(args), hidden=[args.hidden], methods=args.methods, lams=args.lams,
                       seeds=args.seeds, budget=args.budget, workers=args.workers, runs=True, device=args.device)
    except ConfigError as exc:  # a CSV's advice in this command's own words
        raise UsageError(re.sub(r"target = '?([^']*)'?$", r"--target \1", str(exc))) from None
    print(format_table(summarize(runs, args.metrics), args.format))
    failed = runs[runs["status"] == "failed"]
    if len(failed):
        print(f"swarmreg: {len(failed)} run(s) failed, e.g. {failed['message'].iloc[0]}", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace) -> int:
    from .runner import run_sweep
    from .store import StoreError
    from .sweep import Sweep
    _positive(args.workers, "--workers")
    if args.keep_stale and args.rerun in ("stale", "all"):
        raise UsageError(f"--keep-stale contradicts --rerun {args.rerun}")
    sweep = Sweep.from_toml(args.config, device=args.device)
    for note in sweep.notes:  # how the task of a CSV data set was inferred
        print(f"swarmreg: {note}", file=sys.stderr)
    _check_out(args.out)
    executor, client = args.executor, None
    if args.executor == "dask":
        if not args.scheduler:
            raise UsageError("--executor dask needs --scheduler tcp://HOST:PORT")
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--executor dask needs the dask extra: pip install 'swarmreg[dask]'") from None
        try:
            client = executor = Client(args.scheduler, timeout=10)
        except OSError as exc:
            raise UsageError(f"cannot reach Dask scheduler {args.scheduler}: {exc}") from None
    elif args.scheduler:
        raise UsageError("--scheduler is only used with --executor dask")
    try:
        with _stop_on_signals():
            summary = run_sweep(sweep, args.out, executor=executor, workers=args.workers, rerun=args.rerun,
                                keep_stale=args.keep_stale)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt as exc:
        return _interrupted(exc, f"in {args.out / 'runs.sqlite'}")
    finally:
        if client is not None:
            client.close()
    if (stale := summary.stale_line()) is not None:
        print(f"swarmreg: {stale}", file=sys.stderr)
    print(summary.line(), file=sys.stderr)
    from .store import load_results
    failed = load_results(args.out).query("status == 'failed'")
    if len(failed):
        print(f"swarmreg: {len(failed)} run(s) failed, e.g. {failed['message'].iloc[0]}; "
              f"rerun with --rerun failed", file=sys.stderr)
        return 1
    return 0


def _load(out: Path, all_runs: bool = False):
    """The runs of the config last run into ``out`` (every stored run with ``all_runs``), with a line
    on stderr when one method's runs come from more than one code fingerprint or library version."""
    from .provenance import mixed_note
    from .store import StoreError, load_results
    try:
        df = load_results(out, current_only=not all_runs)
    except (FileNotFoundError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    if (note := mixed_note(df)) is not None:
        print(note, file=sys.stderr)
    return df


def _load_checked(out: Path, all_runs: bool, metrics: Sequence[str] | None):
    """:func:`_load` after refusing unknown metric names, suggesting one the store holds when it can be read."""
    from .report import check_metrics
    try:
        df = _load(out, all_runs)
    except UsageError:
        check_metrics(metrics)  # a bad name is reported before a missing store
        raise
    check_metrics(metrics, df)
    return df


def _table(args: argparse.Namespace) -> int:
    from .report import format_table, summarize
    df = _load_checked(args.out, args.all, args.metrics)
    if args.ci:
        from .report import DEFAULT_METRICS
        from .stats import ci_summary
        from .stats_report import format_ci_table
        metrics = [m for m in (args.metrics or DEFAULT_METRICS) if m in df.columns and df[m].notna().any()]
        print(format_ci_table(ci_summary(df, metrics), args.format))
        return 0
    print(format_table(summarize(df, args.metrics), args.format))
    return 0


def _stats(args: argparse.Namespace) -> int:
    import warnings

    from .stats import UnattainableAlpha, pairwise
    from .stats_report import format_pairwise
    if (args.targets or args.absolute) and not args.ert:
        raise UsageError("--targets and --absolute go with --ert")
    df = _load_checked(args.out, args.all, [args.metric])
    if args.ert or args.ecdf:
        _ert_and_ecdf(args, df)
    if not args.ert:
        with warnings.catch_warnings(record=True, category=UnattainableAlpha) as caught:
            table = pairwise(df, args.metric, by=args.by, family=args.family)
        for w in caught:  # one line, not Python's warning with its source line
            print(f"swarmreg: warning: {w.message}", file=sys.stderr)
        print(format_pairwise(table, args.format))
    return 0


def _ert_and_ecdf(args: argparse.Namespace, df) -> None:
    import pandas as pd

    from .stats import ert
    from .stats_report import format_pairwise, plot_runtime_ecdf
    from .store import load_traces
    traces = load_traces(args.out, df["key"])
    if args.ert:
        tables = [ert(df, traces, t, by=args.by, relative=not args.absolute) for t in args.targets or [0.01]]
        print(format_pairwise(pd.concat(tables, ignore_index=True), args.format))
    if args.ecdf:
        for path in plot_runtime_ecdf(df, traces, args.ecdf, by=args.by):
            print(path, file=sys.stderr)


def _plot(args: argparse.Namespace) -> int:
    from .report import plot_convergence, plot_lam_path
    from .store import load_traces
    df = _load(args.out, args.all)
    if not (df["status"] != "failed").any():
        print(f"swarmreg: {args.out} holds no finished run to plot ({len(df)} failed); nothing drawn", file=sys.stderr)
        return 1
    to = args.to or args.out / "figures"
    if args.profiles:
        return _plot_profiles(args.out, df, to)
    _print_figures(plot_lam_path(df, to) + plot_convergence(df, load_traces(args.out, df["key"]), to))
    return 0


def _print_figures(written: list[Path]) -> None:
    """Each figure's path, then its caption's."""
    from .figstyle import caption_path
    for path in written:
        print(path)
        print(caption_path(path))


def _plot_profiles(out: Path, df, to: Path) -> int:
    from .stats import rank_summary
    from .stats_report import plot_critical_difference, plot_profiles
    from .store import load_traces, load_weights
    n_params = {k: len(x) for k, x in load_weights(out, df["key"]).items()}
    written = plot_profiles(df, load_traces(out, df["key"]), n_params, to)
    try:
        written.append(plot_critical_difference(rank_summary(df, "fun"), to / "critical_difference_fun.png"))
    except ValueError as exc:
        print(f"swarmreg: no rank diagram: {exc}", file=sys.stderr)
    _print_figures(written)
    return 0


def _export(args: argparse.Namespace) -> int:
    from .export import export_runs
    from .store import StoreError
    try:
        written = export_runs(args.out, args.to or args.out / "export", args.format, traces=args.traces,
                              current_only=not args.all, force=args.force)
    except (FileNotFoundError, FileExistsError, ImportError, StoreError) as exc:
        raise UsageError(str(exc)) from None
    for path in written:
        print(path)
    return 0


def _methods(args: argparse.Namespace) -> int:
    from .registry import METHODS, PluginError, get_method, import_plugins
    try:
        import_plugins(args.plugins, path=[Path.cwd()])
    except PluginError as exc:
        raise UsageError(str(exc)) from None
    families = [n for n in [*args.names, args.family] if n is not None and n in METHODS.families]
    if args.family is not None and not families:
        METHODS.family_names(args.family)  # raises, naming the known families
    for prefix in families:
        for name in METHODS.family_names(prefix):
            print(name)
    names = [n for n in args.names if n not in families]
    if families and not names:
        return 0
    methods = [get_method(n) for n in names] if names else [METHODS[n] for n in METHODS]
    for method in methods:
        kind = "gradient" if method.uses_gradient else "gradient-free"
        where = "native on a device" if method.native_device else "on a device through host copies"
        print(f"{method.name} ({kind}; {where}): {method.summary}")
        for option, (default, comment) in method.option_docs().items():
            print(f"    {option} = {default!r}" + (f"  # {comment}" if comment else ""))
    if not names:
        for prefix, description in METHODS.families.items():
            print(f"{prefix}:<Name>: {description}")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from .experiments import EXPERIMENTS, reproduce
    from .experiments.folder import DEFAULT_OUT, ReportFolderError
    from .store import StoreError
    _positive(args.workers, "--workers")
    for name in args.only or []:
        if name not in EXPERIMENTS:
            raise UsageError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    if args.device is not None:
        from .sweep import check_device
        try:
            check_device(args.device)
        except (TypeError, ValueError, ImportError) as exc:
            raise UsageError(f"--device: {exc}") from None
        if args.workers not in (None, 1):
            raise UsageError(f"--device runs in one process; --workers {args.workers} does not apply")
    args.out = args.out or DEFAULT_OUT
    _check_out(args.out)
    profile = args.profile or ("quick" if args.quick else "full")
    try:
        with _stop_on_signals():
            report = reproduce(args.out, profile, args.workers, args.only, force=args.force, device=args.device)
    except (StoreError, ReportFolderError) as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt as exc:
        return _interrupted(exc, f"under {args.out}")
    print(report)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from .sweep import ConfigError
    commands = {"compare": _compare, "run": _run, "table": _table, "stats": _stats, "plot": _plot, "methods": _methods,
                "export": _export, "reproduce": _reproduce}
    try:
        with guarded_stdout():
            args = _parser().parse_args(argv)
            return commands[args.command](args)
    except StdoutClosed:  # `swarmreg table OUT | head -1`: the reader has what it wanted
        return closed_pipe_exit()
    except (UsageError, ConfigError) as exc:
        print(f"swarmreg: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:  # bad values caught by the API's own checks
        print(f"swarmreg: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an unwritable --out, a full disk
        print(f"swarmreg: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("swarmreg: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
