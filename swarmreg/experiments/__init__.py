"""The experiments behind the report, and ``reproduce`` that runs them all into REPORT.md.

Each module has ``NAME`` and ``run(out, profile, workers, progress) -> Section``; its sweep lives in
``configs/<NAME>.toml`` with ``full``, ``quick`` and ``smoke`` profiles.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from importlib.metadata import version
from pathlib import Path

from ..export import export_runs
from ..store import load_results
from . import (
    adam_vs_adamw,
    decay_meaning,
    dimension_ladder,
    equal_budget,
    l2_meanings,
    l2_path,
    overfitting,
    pso_vs_backprop,
)
from .common import PROFILES
from .folder import DEFAULT_OUT, ReportFolderError, claim

EXPERIMENTS = {m.NAME: m for m in (l2_path, decay_meaning, equal_budget, overfitting, pso_vs_backprop, adam_vs_adamw,
                                   dimension_ladder, l2_meanings)}
TRACE_POINTS = 64
"""Best-so-far records per run in a published ``traces.csv.gz``: the full traces of a report run
take tens of megabytes compressed; this many log-spaced costs draw its curves."""
PACKAGES = ("swarmreg", "numpy", "scipy", "pyswarms", "cma", "scikit-learn", "pandas", "matplotlib")


def reproduce(out: str | Path = DEFAULT_OUT, profile: str = "full", workers: int | None = None,
              only: list[str] | None = None, progress: bool | None = None, command: str | None = None,
              force: bool = False, device: str | None = None) -> Path:
    """Run every experiment into ``out`` and write ``out/REPORT.md``; return its path.

    Each experiment's runs are also published beside its tables as ``out/<name>/runs.csv`` and
    ``traces.csv.gz`` (:func:`swarmreg.export_runs`: every run's spec, seed, metrics, status and
    provenance, exact; its best-so-far trace at :data:`TRACE_POINTS` log-spaced costs, the full
    traces staying in the store), so its verdicts can be recomputed without rerunning.
    ``device`` puts every run's objective on that JAX device (one process: ``workers`` 1).

    A folder holding another profile's report is refused (:class:`ReportFolderError`) unless
    ``force``; one holding this profile's is resumed (runs already stored are not rerun).

    Each experiment also writes its own section to ``out/<name>/SECTION.md``. With ``only``, just
    those experiments run and only their sections are written: REPORT.md, which holds them all,
    is left as it was. The return value is then the last section written.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    names = list(EXPERIMENTS) if only is None else list(only)
    for name in names:
        if name not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    if device is not None:
        from ..sweep import check_device
        check_device(device)
        if workers not in (None, 1):
            raise ValueError(f"runs on a device go in one process (workers=1), got workers={workers}")
        workers = 1
    out = Path(out)
    claim(out, profile, EXPERIMENTS, force)
    sections, times = [], {}
    for name in names:
        t0 = time.perf_counter()
        section = EXPERIMENTS[name].run(out, profile, workers, progress, device)
        (out / name / "SECTION.md").write_text(section.markdown() + "\n")
        export_runs(out / name, out / name, "csv", traces=True, force=True, trace_points=TRACE_POINTS)
        sections.append(section)
        times[name] = time.perf_counter() - t0
    if only is not None:
        return out / names[-1] / "SECTION.md"
    command = command or " ".join(shlex.quote(a) for a in ["swarmreg", *sys.argv[1:]])
    runs = {n: load_results(out / n) for n in names}
    total = sum(r["wall_time"].sum() for r in runs.values())
    header = [
        "# swarmreg report",
        f"Made by `{command}` (profile `{profile}`). Every number below is read from the run stores "
        f"`<experiment>/runs.sqlite` made by that command; rerunning it resumes them, and reproduces them bit for "
        "bit only on the same machine with the same BLAS (another machine's rerun agrees to rounding, not to the "
        "bit); values below 1e-12 print as < 1e-12 for that reason.",
        "Seeds: each run's seed fixes its optimizer's randomness and, unless the experiment fixes a `split_seed`, "
        "its train/test split; the seeds of each experiment are listed in its section and in "
        "`swarmreg/experiments/configs/`.",
        "Versions: " + ", ".join(f"{p} {version(p)}" for p in PACKAGES) + f", Python {platform.python_version()}.",
        "Compute: " + ", ".join(f"{n} {len(r)} runs, {r['wall_time'].sum():.0f} s summed over runs"
                                for n, r in runs.items())
        + f"; in all {sum(len(r) for r in runs.values())} runs, {total:.0f} s ({total / 60:.1f} min) summed over "
        f"runs, about {total / 60 / (workers or os.cpu_count() or 1):.1f} min of wall time on "
        f"{workers or os.cpu_count() or 1} workers; this invocation took {sum(times.values()):.0f} s (runs already "
        "stored are not rerun).",
    ]
    report = out / "REPORT.md"
    report.write_text("\n\n".join(header + [s.markdown() for s in sections]) + "\n")
    return report


def script(name: str, argv: list[str] | None = None) -> None:
    """Command line of one experiment script: ``python experiments/<name>.py [--quick] [--out DIR]``.

    Writes ``DIR/<name>/`` (runs.sqlite, tables as .md and .csv, figures) and prints its report section.
    An experiment with its own ``PROFILES`` and ``check_profile`` (the dimension ladder's ``gpu``) gets a
    flag per extra profile, refused in one line (exit 2) where ``check_profile`` says it cannot run.
    """
    module = EXPERIMENTS[name]
    parser = argparse.ArgumentParser(prog=f"experiments/{name.replace('-', '_')}.py", description=module.__doc__)
    parser.add_argument("--quick", action="store_true", help="the quick profile")
    extra = [p for p in getattr(module, "PROFILES", PROFILES) if p not in PROFILES]
    for p in extra:
        parser.add_argument(f"--{p}", action="store_const", const=p, dest="profile", help=f"the {p} profile")
    parser.add_argument("--profile", choices=(*PROFILES, *extra), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"report folder (default: ./{DEFAULT_OUT}); one holding another profile's report "
                             "needs --force")
    parser.add_argument("--force", action="store_true", help="write over another profile's report")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a folder")
    profile = args.profile or ("quick" if args.quick else "full")
    try:
        getattr(module, "check_profile", lambda p: None)(profile)
    except RuntimeError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    try:
        claim(args.out, profile, EXPERIMENTS, args.force)
    except ReportFolderError as exc:
        parser.error(str(exc))
    print(module.run(args.out, profile, args.workers).markdown())
