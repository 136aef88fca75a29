"""Experiment 5, ``pso-vs-backprop``: the cost to reach an error goal on y = 2x^2 + 1."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..budget import GRAD_COST
from ..stats import ert, holm, two_sample_test
from .common import (
    Section,
    build_specs,
    cite,
    cost_to_target,
    execute,
    figure_links,
    hit_stats,
    load_config,
    parts,
    write_table,
)
from .equal_budget import plot_ecdf

NAME = "pso-vs-backprop"


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None,
        device: str | None = None) -> Section:
    config = load_config(NAME)
    goal = config["parameters"]["error_goal"]
    specs = build_specs(parts(config, profile), NAME)
    res = execute(NAME, specs, out, workers, progress, device)
    ok = res.runs[res.runs["status"] != "failed"]
    costs = pd.DataFrame([{"dataset": r["dataset"], "hidden": r["hidden"], "lam": r["lam"], "method": r["method"],
                           "seed": r["seed"], "target": goal, "cost": cost_to_target(res.traces[r["key"]], goal)}
                          for _, r in ok.iterrows()])

    def stats(g: pd.DataFrame) -> pd.Series:
        hits = hit_stats(g["cost"])
        hits["reached_goal"] = hits.pop("success_rate")
        order = ["runs", "reached_goal", "median_cost", "q25_cost", "q75_cost"]
        return pd.Series({**{k: hits[k] for k in order},
                          "final_E_median": ok.loc[ok["method"] == g.name, "error"].median(),
                          "test_mse_median": ok.loc[ok["method"] == g.name, "test_mse"].median()})
    table = costs.groupby("method")[["cost"]].apply(stats).reset_index()
    figures = plot_ecdf(costs, float(ok["budget"].max()), res.folder, relative=False)
    pso = table.set_index("method").loc["pso"]
    others = table[table["method"] != "pso"].set_index("method")
    # PSO "converges in fewer computations" than a variant when its cost to the goal is significantly
    # lower: Mann-Whitney U on the costs, runs that never reach the goal ranked last, Holm over the variants
    pso_costs = costs.loc[costs["method"] == "pso", "cost"].to_numpy()
    tests = pd.DataFrame([{"method": m, **two_sample_test(pso_costs, costs.loc[costs["method"] == m, "cost"],
                                                          paired=False)} for m in others.index]).set_index("method")
    tests["p_holm"] = holm(tests["p"])
    beaten = [m for m, t in tests.iterrows() if t["p_holm"] < 0.05 and t["sign"] < 0]
    slower = [m for m, t in tests.iterrows() if t["p_holm"] < 0.05 and t["sign"] > 0]
    art = ert(res.runs, res.traces, goal, within=("dataset", "hidden", "lam")).set_index("method")
    verdict = ("; ".join(f"against {m}: PSO reached the goal in {pso['reached_goal']:.0%} of runs against "
                         f"{r['reached_goal']:.0%}, median cost {pso['median_cost']:.0f} against "
                         f"{r['median_cost']:.0f}, "
                         f"aRT {_art(art.loc['pso'])} against {_art(art.loc[m])}, p = {tests.loc[m, 'p_holm']:.2g}"
                         for m, r in others.iterrows())
               + f" ({cite('mann-whitney', int(tests['n'].min()), len(tests))} on the cost to the goal, runs that "
               "never reach it ranked last; aRT with 95% percentile bootstrap intervals over runs). "
               f"PSO is significantly cheaper than {len(beaten)} of {len(others)} backprop variants "
               f"({', '.join(beaten) or 'none'}) and significantly dearer than {len(slower)} "
               f"({', '.join(slower) or 'none'}): the claim "
               + ("holds" if len(beaten) == len(others) else "holds only partly" if beaten else "is not shown")
               + " under swarmreg's accounting")
    section = Section("5. pso-vs-backprop: y = 2x^2 + 1 with one hidden layer")
    section.add(
        f"Network 1-{specs[0].hidden[0]}-1 (tanh), lam = 0, {ok['seed'].nunique()} seeds, budget "
        f"{ok['budget'].iloc[0]:g}; goal: training E = 0.5*MSE <= {goal:g}. A gradient costs {GRAD_COST:g} "
        "evaluations of J, so cost compares computations. Backprop variants: full batch with momentum 0.9 "
        "(swarmreg's default), full batch without momentum, online (batch 1) without momentum.",
        write_table(table, res.folder, "cost_to_goal", digits=4),
        f"**Claim (Gudise & Venayagamoorthy 2003): PSO converges in fewer computations than backprop.** {verdict}.",
        figure_links(figures, out))
    return section


def _art(row: pd.Series) -> str:
    return f"{row['ert']:.0f} [{row['ert_low']:.0f}, {row['ert_high']:.0f}]"
