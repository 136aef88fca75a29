"""What every experiment shares: its TOML (sub-sweeps plus profiles), running into one store, writing
tables (.md and .csv) and figures, and a report section in markdown.

An experiment config holds ``[sweeps.<part>]`` tables, each a sweep config, and ``[profiles.<name>]``
tables whose keys override every part (``full`` is the config as written; ``quick`` and ``smoke``
shrink it). Parts whose grid depends on the data (a lam computed from N) are built by the script.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..execute import problem
from ..figstyle import caption_path
from ..provenance import mixed_note
from ..reference import reference_minimum
from ..report import format_table
from ..runner import run_specs
from ..stats import MIN_N_INTERVAL, bootstrap_ci, ci_summary, ert, first_hit
from ..stats_report import format_ci_table, interval_cell, number
from ..store import load_results, load_traces, load_weights
from ..sweep import RunSpec, Sweep

PROFILES = ("full", "quick", "smoke")


@dataclass
class Section:
    """One experiment's part of REPORT.md."""

    title: str
    body: list[str] = field(default_factory=list)

    def add(self, *paragraphs: str) -> None:
        self.body.extend(paragraphs)

    def markdown(self) -> str:
        return "\n\n".join([f"## {self.title}", *self.body])


def load_config(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath(f"configs/{name}.toml").read_text()
    return tomllib.loads(text)


def parameters(config: dict[str, Any], profile: str) -> dict[str, Any]:
    """The experiment's ``[parameters]`` with the profile's ``[profiles.<name>.parameters]`` applied;
    that table is taken out of the profile, so :func:`parts` does not see it."""
    overrides = config.get("profiles", {}).get(profile, {}).pop("parameters", {})
    return {**config.get("parameters", {}), **overrides}


def parts(config: dict[str, Any], profile: str) -> dict[str, dict[str, Any]]:
    """Each ``[sweeps.<part>]`` with the profile's overrides applied (deep copies)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    overrides = config.get("profiles", {}).get(profile, {})
    out = {}
    for part, cfg in config["sweeps"].items():
        merged = copy.deepcopy(cfg)
        merged.update({k: v for k, v in overrides.items() if k != "options" or "options" in cfg})
        merged["name"] = part
        out[part] = merged
    return out


def build_specs(parts_cfg: dict[str, dict[str, Any]], where: str) -> list[RunSpec]:
    specs: list[RunSpec] = []
    for part, cfg in parts_cfg.items():
        specs += Sweep.from_dict(cfg, where=f"{where} [sweeps.{part}]").runs()
    return specs


@dataclass
class Outcome:
    runs: pd.DataFrame
    traces: dict[str, dict[str, np.ndarray]]
    weights: dict[str, np.ndarray]
    folder: Path


def execute(name: str, specs: list[RunSpec], out: Path, workers: int | None, progress: bool | None,
            device: str | None = None) -> Outcome:
    """Run (or resume) the experiment's runs into ``out/name/runs.sqlite`` and read them back; with
    ``device``, every run that names none evaluates there (``reproduce --device``)."""
    folder = out / name
    if device is not None:
        specs = [s if s.device is not None else dataclasses.replace(s, device=device) for s in specs]
    summary = run_specs(specs, folder, name=name, workers=workers, progress=progress)
    if (stale := summary.stale_line()) is not None:
        print(f"{name}: {stale}")
    print(f"{name}: {summary.line()}")
    runs = load_results(folder)
    if (note := mixed_note(runs)) is not None:
        print(note, file=sys.stderr)
    return Outcome(runs, load_traces(folder), load_weights(folder), folder)


def write_table(table: pd.DataFrame, folder: Path, stem: str, digits: int = 4) -> str:
    """Write ``stem.csv`` (every column) and ``stem.md``; return the markdown."""
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / f"{stem}.csv", index=False)
    if any(c.endswith("_mean") for c in table.columns):
        md = format_table(table, "markdown", digits)
    else:  # rounding-level values as "< 1e-12" (they differ between machines)
        shown = table.copy()
        for col in shown.columns:
            if pd.api.types.is_float_dtype(shown[col]):
                shown[col] = shown[col].map(lambda x: number(x, digits))
        md = shown.to_markdown(index=False)
    (folder / f"{stem}.md").write_text(md + "\n")
    return md


CI_NOTE = (f"Median over seeds; from {MIN_N_INTERVAL} seeds on with its 95% bootstrap interval of the median, each "
           "cell naming it (BCa, or pct: percentile where BCa is undefined), below that the range and n (no "
           "interval from so few values):")
TEST_NAMES = {"wilcoxon": "Wilcoxon signed-rank, paired on seed", "mann-whitney": "Mann-Whitney U"}


def summary_table(df: pd.DataFrame, metrics: list[str], folder: Path, stem: str) -> str:
    """Median over seeds with its bootstrap interval per (dataset, hidden, method, lam): .csv and .md."""
    metrics = [m for m in metrics if m in df.columns and df[m].notna().any()]
    table = ci_summary(df, metrics)
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / f"{stem}.csv", index=False)
    md = format_ci_table(table)
    (folder / f"{stem}.md").write_text(md + "\n")
    return md


def cite(test: str, n: int, family: int) -> str:
    """The test behind a sentence's p-values: its name, sample size, and the Holm correction over its family."""
    size = f"n = {n} pairs" if test == "wilcoxon" else f"n = {n} runs"
    return (f"{TEST_NAMES.get(test, test)}, {size}" + (f" per comparison, two-sided p Holm-corrected over {family} "
                                                      "comparisons" if family > 1 else ", two-sided p"))


def median_ci(values: pd.Series | np.ndarray, digits: int = 3) -> str:
    """The median with its 95% bootstrap interval and its kind from MIN_N_INTERVAL values on, the range
    and n below (:func:`swarmreg.stats_report.interval_cell`)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return "n/a"
    ci = bootstrap_ci(x) if len(x) >= MIN_N_INTERVAL else None
    return interval_cell(float(np.median(x)), *(ci or (np.nan, np.nan)), ci.kind if ci else "range", len(x),
                         float(x.min()), float(x.max()), digits)


def figure_links(paths: list[Path], report_dir: Path, caption: str | None = None) -> str:
    """Each figure's link followed by its caption (the ``.txt`` saved beside it), then ``caption``."""
    blocks = []
    for p in paths:
        text = caption_path(p).read_text().strip() if caption_path(p).is_file() else ""
        blocks.append(f"![{p.stem}]({p.relative_to(report_dir).as_posix()})" + (f"\n\n*{text}*" if text else ""))
    links = "\n\n".join(blocks)
    return links if not caption else f"{links}\n\n{caption}"


def hit_stats(costs: pd.Series) -> dict[str, float]:
    """Runs, the fraction that reached the target (finite cost), and median and quartile costs of those."""
    hit = costs[np.isfinite(costs)]
    if not len(hit):
        return {"runs": len(costs), "success_rate": 0.0, "median_cost": np.nan, "q25_cost": np.nan,
                "q75_cost": np.nan}
    return {"runs": len(costs), "success_rate": len(hit) / len(costs), "median_cost": hit.median(),
            "q25_cost": hit.quantile(0.25), "q75_cost": hit.quantile(0.75)}


def cost_to_target(trace: dict[str, np.ndarray], target: float) -> float:
    """First cost at which the best J so far is at most ``target`` (inf if never)."""
    return first_hit(trace, target)


PROBLEM = ["dataset", "hidden", "lam"]
"""The columns that name one J (with the train split, which these experiments fix per problem)."""


def references(specs: list[RunSpec], budget: float, seeds: list[int]) -> pd.DataFrame:
    """Per problem (dataset, hidden, lam): its parameter count and the reference J, the best of
    L-BFGS starts at the tightest tolerances (:func:`swarmreg.reference_minimum`), and whether that
    start converged (without L2 on separable data J has no minimizer: the reference is then the
    lowest J L-BFGS reached within its budget)."""
    rows, seen = [], set()
    for spec in specs:
        key = (spec.dataset, json.dumps(list(spec.hidden)), spec.lam)
        if key not in seen:
            seen.add(key)
            obj = problem(spec)[1]
            best = reference_minimum(obj, budget=budget, seeds=seeds)
            rows.append(dict(zip(PROBLEM, key), n_params=obj.net.n_params, reference_J=float(best.fun),
                             converged=best.status == "converged"))
    return pd.DataFrame(rows)


def reference_ert(runs: pd.DataFrame, traces: dict, refs: pd.DataFrame, targets: list[float]) -> pd.DataFrame:
    """aRT per problem, method and target, the target being ``(1 + t) * reference_J``."""
    tables = []
    for ref in refs.itertuples():
        part = runs[(runs["dataset"] == ref.dataset) & (runs["hidden"] == ref.hidden) & (runs["lam"] == ref.lam)]
        for t in targets:
            table = ert(part, traces, (1 + t) * ref.reference_J)
            tables.append(table.assign(target=t, n_params=ref.n_params))
    return pd.concat(tables, ignore_index=True)
