"""Experiment 4, ``overfitting``: a noisy 50-item training set, an oversized network, and the lam a
validation split picks for each method."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..datasets import load
from ..report import plot_lam_path
from ..stats import holm, two_sample_test
from .common import (
    CI_NOTE,
    Section,
    build_specs,
    cite,
    execute,
    figure_links,
    load_config,
    parts,
    summary_table,
    write_table,
)

NAME = "overfitting"


def picks(runs: pd.DataFrame) -> pd.DataFrame:
    """Per method: the lam with the best mean validation accuracy, and its test accuracy."""
    ok = runs[runs["status"] != "failed"]
    means = ok.groupby(["method", "lam"])[["val_accuracy", "test_accuracy", "train_accuracy"]].mean().reset_index()
    rows = []
    for method, g in means.groupby("method"):
        best = g.loc[g["val_accuracy"].idxmax()]
        at_zero = g[g["lam"] == g["lam"].min()].iloc[0]
        rows.append({"method": method, "picked_lam": best["lam"], "val_accuracy": best["val_accuracy"],
                     "test_accuracy": best["test_accuracy"], "test_accuracy_lam0": at_zero["test_accuracy"],
                     "train_accuracy_lam0": at_zero["train_accuracy"]})
    return pd.DataFrame(rows)


def gain_tests(runs: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """Per method whose picked lam is not the smallest: test accuracy at the picked lam against lam = 0,
    Wilcoxon signed-rank paired on seed, Holm over those methods."""
    ok = runs[runs["status"] != "failed"]
    rows = []
    for r in chosen.itertuples():
        mine = ok[ok["method"] == r.method]
        if r.picked_lam == mine["lam"].min():
            continue
        picked = mine[mine["lam"] == r.picked_lam].set_index("seed")["test_accuracy"]
        zero = mine[mine["lam"] == mine["lam"].min()].set_index("seed")["test_accuracy"]
        seeds = picked.index.intersection(zero.index)
        res = two_sample_test(picked[seeds].to_numpy(), zero[seeds].to_numpy(), paired=True)
        rows.append({"method": r.method, "n": res["n"], "median_gain": res["median_diff"], "p": res["p"],
                     "min_p": res["min_p"]})
    table = pd.DataFrame(rows, columns=["method", "n", "median_gain", "p", "min_p"])
    table["p_holm"] = holm(table["p"])
    return table.set_index("method")


def run(out: Path, profile: str = "full", workers: int | None = None, progress: bool | None = None,
        device: str | None = None) -> Section:
    specs = build_specs(parts(load_config(NAME), profile), NAME)
    res = execute(NAME, specs, out, workers, progress, device)
    runs = res.runs
    n_train = len(load(specs[0].dataset, seed=0, test_size=specs[0].test_size, val_size=specs[0].val_size).X_train)
    table = summary_table(runs, ["train_accuracy", "test_accuracy", "val_accuracy", "weight_norm"], res.folder,
                          "overfitting")
    chosen = picks(runs)
    figures = plot_lam_path(runs, res.folder / "figures", metric="test_accuracy")
    section = Section("4. overfitting: a small noisy training set and an oversized network")
    gaps = chosen.assign(gain=chosen["test_accuracy"] - chosen["test_accuracy_lam0"])
    tests = gain_tests(runs, chosen)

    def tested(method: str) -> str:
        if method not in tests.index:
            return "picked lam = 0, nothing to test"
        t = tests.loc[method]
        return (f"median paired gain {t['median_gain']:+.3f}, p = {t['p_holm']:.2g}: "
                + ("significant at 0.05" if t["p_holm"] < 0.05 else
                   f"a gain is not shown at 0.05 (n = {int(t['n'])}; the smallest p the test can give is "
                   f"{t['min_p']:.2g})"))
    section.add(
        f"Noisy teacher data (20% of labels redrawn), about {n_train} training items, "
        f"a hidden layer of {specs[0].hidden[0]} units, "
        f"{runs['seed'].nunique()} seeds, budget {runs['budget'].iloc[0]:g}. The lam each method picks on the "
        "validation split, and what it buys on the test split against lam = 0:",
        write_table(chosen, res.folder, "picked_lam", digits=3),
        "Mean test accuracy gained by the picked lam over lam = 0: "
        + ", ".join(f"{r.method} {r.gain:+.3f} ({tested(r.method)})" for r in gaps.itertuples())
        + (f" ({cite('wilcoxon', int(tests['n'].min()), len(tests))}; the lam is picked on the validation split, "
           "the test split is untouched by the pick)." if len(tests) else "."),
        CI_NOTE, table, figure_links(figures, out))
    return section
