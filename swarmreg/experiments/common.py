"""What every experiment shares: its TOML (sub-sweeps plus profiles), running into one store, writing
tables (.md and .csv) and figures, and a report section in markdown.

An experiment config holds ``[sweeps.<part>]`` tables, each a sweep config, and ``[profiles.<name>]``
tables whose keys override every part (``full`` is the config as written; ``quick`` and ``smoke``
shrink it). Parts whose grid depends on the data (a lam computed from N) are built by the script.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..report import format_table, summarize
from ..runner import run_specs
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


def execute(name: str, specs: list[RunSpec], out: Path, workers: int | None, progress: bool | None) -> Outcome:
    """Run (or resume) the experiment's runs into ``out/name/runs.sqlite`` and read them back."""
    folder = out / name
    summary = run_specs(specs, folder, name=name, workers=workers, progress=progress)
    print(f"{name}: {summary.line()}")
    return Outcome(load_results(folder), load_traces(folder), load_weights(folder), folder)


def write_table(table: pd.DataFrame, folder: Path, stem: str, digits: int = 4) -> str:
    """Write ``stem.csv`` (every column) and ``stem.md``; return the markdown."""
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / f"{stem}.csv", index=False)
    if any(c.endswith("_mean") for c in table.columns):
        md = format_table(table, "markdown", digits)
    else:
        md = table.to_markdown(index=False, floatfmt=f".{digits}g")
    (folder / f"{stem}.md").write_text(md + "\n")
    return md


def summary_table(df: pd.DataFrame, metrics: list[str], folder: Path, stem: str) -> str:
    return write_table(summarize(df, metrics), folder, stem)


def figure_links(paths: list[Path], report_dir: Path) -> str:
    return "\n".join(f"![{p.stem}]({p.relative_to(report_dir).as_posix()})" for p in paths)


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
    best = np.minimum.accumulate(np.asarray(trace["fun"]))
    hit = np.nonzero(best <= target)[0]
    return float(trace["cost"][hit[0]]) if len(hit) else np.inf
