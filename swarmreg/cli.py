"""The ``swarmreg`` command: compare, run, table, stats, plot, methods, reproduce.

Bad input: one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from ._pipes import StdoutClosed, closed_pipe_exit, guarded_stdout


class UsageError(Exception):
    """Bad input from the command line: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line instead of usage + message
        raise UsageError(message if self.prog == "swarmreg" else f"{self.prog.removeprefix('swarmreg ')}: {message}")


ALL_HELP = "every run stored in OUT (default: the runs of the config last run into OUT)"


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="swarmreg", description="L2 regularization under particle swarm, Nelder-Mead and backprop.")
    p.add_argument("--version", action="version", version=f"swarmreg {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("compare", help="run a small grid in memory and print its table")
    c.add_argument("--datasets", nargs="+", default=["iris"])
    c.add_argument("--hidden", nargs="+", type=int, default=[8], help="hidden layer sizes of one network")
    c.add_argument("--methods", nargs="+", default=["pso", "nelder-mead", "backprop"])
    c.add_argument("--lams", nargs="+", type=float, default=[0.0, 0.01, 0.1])
    c.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    c.add_argument("--budget", type=float, default=20_000)
    c.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    c.add_argument("--metrics", nargs="+", default=["fun", "test_accuracy", "weight_norm"])
    c.add_argument("--format", choices=("markdown", "csv", "latex"), default="markdown")

    r = sub.add_parser("run", help="run (resume, or grow) a sweep config into OUT/runs.sqlite: "
                                   "runs already stored there are reused")
    r.add_argument("config", type=Path)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--executor", choices=("process", "serial", "dask"), default="process")
    r.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    r.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")
    r.add_argument("--retry-failed", action="store_true", help="rerun runs stored as failed")

    t = sub.add_parser("table", help="mean and std over seeds of a stored sweep")
    t.add_argument("out", type=Path)
    t.add_argument("--format", choices=("markdown", "csv", "latex"), default="markdown")
    t.add_argument("--metrics", nargs="+", default=None)
    t.add_argument("--all", action="store_true", help=ALL_HELP)
    t.add_argument("--ci", action="store_true",
                   help="cells 'median [low, high]': 95%% bootstrap interval of the median over seeds")

    s = sub.add_parser("stats", help="paired tests of every pair of methods (or --by values), Holm-corrected")
    s.add_argument("out", type=Path)
    s.add_argument("--metric", default="fun")
    s.add_argument("--by", default="method", help="the column whose values are compared (default: method)")
    s.add_argument("--family", choices=("all", "problem"), default="all",
                   help="Holm's correction over every row (default) or over the rows of each problem")
    s.add_argument("--format", choices=("markdown", "csv", "latex"), default="markdown")
    s.add_argument("--all", action="store_true", help=ALL_HELP)

    g = sub.add_parser("plot", help="draw the lam path and convergence figures of a stored sweep")
    g.add_argument("out", type=Path)
    g.add_argument("--to", type=Path, default=None, help="folder for the PNGs (default: OUT/figures)")
    g.add_argument("--all", action="store_true", help=ALL_HELP)
    g.add_argument("--profiles", action="store_true",
                   help="draw performance and data profiles, the runtime ECDF and the rank diagram instead")

    m = sub.add_parser("methods", help="list every registered method with its options and defaults")
    m.add_argument("names", nargs="*", help="only these methods (default: all)")
    m.add_argument("--plugins", nargs="+", default=[], metavar="MODULE",
                   help="import these modules first (they register their methods)")

    x = sub.add_parser("reproduce", help="run the five experiments and write OUT/REPORT.md")
    x.add_argument("--quick", action="store_true", help="the quick profile (about 1.5 minutes on 2 cores)")
    x.add_argument("--profile", choices=("full", "quick", "smoke"), default=None, help=argparse.SUPPRESS)
    x.add_argument("--out", type=Path, default=None,
                   help="report folder (default: ./swarmreg-report); resumed if it holds this profile's report, "
                        "refused if it holds another profile's unless --force")
    x.add_argument("--force", action="store_true", help="write over a folder that holds another profile's report")
    x.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    x.add_argument("--only", nargs="+", default=None,
                   help="run only these experiments: their OUT/<name>/SECTION.md are written, REPORT.md is not")
    return p


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


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare
    from .report import check_metrics, format_table, summarize
    _positive(args.workers, "--workers")
    check_metrics(args.metrics)
    runs = compare(datasets=args.datasets, hidden=[args.hidden], methods=args.methods, lams=args.lams,
                   seeds=args.seeds, budget=args.budget, workers=args.workers, runs=True)
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
    sweep = Sweep.from_toml(args.config)
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
        summary = run_sweep(sweep, args.out, executor=executor, workers=args.workers,
                            retry_failed=args.retry_failed)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        print(f"swarmreg: interrupted; finished runs are kept in {args.out / 'runs.sqlite'}; "
              f"rerun the same command to resume", file=sys.stderr)
        return 130
    finally:
        if client is not None:
            client.close()
    print(summary.line(), file=sys.stderr)
    from .store import load_results
    failed = load_results(args.out).query("status == 'failed'")
    if len(failed):
        print(f"swarmreg: {len(failed)} run(s) failed, e.g. {failed['message'].iloc[0]}; "
              f"rerun with --retry-failed", file=sys.stderr)
        return 1
    return 0


def _load(out: Path, all_runs: bool = False):
    """The runs of the config last run into ``out`` (every stored run with ``all_runs``)."""
    from .store import StoreError, load_results
    try:
        return load_results(out, current_only=not all_runs)
    except (FileNotFoundError, StoreError) as exc:
        raise UsageError(str(exc)) from None


def _table(args: argparse.Namespace) -> int:
    from .report import check_metrics, format_table, summarize
    check_metrics(args.metrics)
    if args.ci:
        from .report import DEFAULT_METRICS
        from .stats import ci_summary
        from .stats_report import format_ci_table
        df = _load(args.out, args.all)
        metrics = [m for m in (args.metrics or DEFAULT_METRICS) if m in df.columns and df[m].notna().any()]
        print(format_ci_table(ci_summary(df, metrics), args.format))
        return 0
    print(format_table(summarize(_load(args.out, args.all), args.metrics), args.format))
    return 0


def _stats(args: argparse.Namespace) -> int:
    import warnings

    from .report import check_metrics
    from .stats import UnattainableAlpha, pairwise
    from .stats_report import format_pairwise
    check_metrics([args.metric])
    with warnings.catch_warnings(record=True, category=UnattainableAlpha) as caught:
        table = pairwise(_load(args.out, args.all), args.metric, by=args.by, family=args.family)
    for w in caught:  # one line, not Python's warning with its source line
        print(f"swarmreg: warning: {w.message}", file=sys.stderr)
    print(format_pairwise(table, args.format))
    return 0


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


def _methods(args: argparse.Namespace) -> int:
    from .registry import METHODS, PluginError, get_method, import_plugins
    try:
        import_plugins(args.plugins)
    except PluginError as exc:
        raise UsageError(str(exc)) from None
    methods = [get_method(n) for n in args.names] if args.names else [METHODS[n] for n in METHODS]
    for method in methods:
        kind = "gradient" if method.uses_gradient else "gradient-free"
        print(f"{method.name} ({kind}): {method.summary}")
        for option, (default, comment) in method.option_docs().items():
            print(f"    {option} = {default!r}" + (f"  # {comment}" if comment else ""))
    if not args.names:
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
    args.out = args.out or DEFAULT_OUT
    _check_out(args.out)
    profile = args.profile or ("quick" if args.quick else "full")
    try:
        report = reproduce(args.out, profile, args.workers, args.only, force=args.force)
    except (StoreError, ReportFolderError) as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        print(f"swarmreg: interrupted; finished runs are kept under {args.out}; rerun the same command to resume",
              file=sys.stderr)
        return 130
    print(report)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from .sweep import ConfigError
    commands = {"compare": _compare, "run": _run, "table": _table, "stats": _stats, "plot": _plot, "methods": _methods,
                "reproduce": _reproduce}
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
