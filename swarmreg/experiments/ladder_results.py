"""The dimension ladder's numbers: references, which runs reach which targets, the largest size each
method reaches a target at in most seeds, aRT, and the settings comparison.

A run of size n with budget B has multiplier ``k = B / (n + 1)``. A target is met at lam > 0 when the
returned J is at most ``(1 + t) x`` the problem's reference J, at lam = 0 when the training accuracy
is at least ``a``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as st

from .. import stats
from ..claims import Claim, not_shown
from .ladder_design import REFERENCE, depth_name, n_params


def with_size(runs: pd.DataFrame) -> pd.DataFrame:
    """Adds ``n_params`` (from the spec's network), ``depth`` and the multiplier ``k``."""
    out = runs.copy()
    hidden = [json.loads(h) for h in out["hidden"]]
    out["n_params"] = [n_params(h) for h in hidden]
    out["depth"] = [depth_name(h) for h in hidden]
    out["k"] = (out["budget"] / (out["n_params"] + 1)).round(6)
    return out


def references(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (hidden, lam): the reference J (the lowest of the reference starts), how many starts
    converged, and the starts' relative spread ``max J / min J - 1`` (a check that they agree)."""
    ref = runs[(runs["method"] == REFERENCE) & (runs["status"] != "failed")]
    rows = []
    for (hidden, lam), g in ref.groupby(["hidden", "lam"], sort=False):
        best = g.loc[g["fun"].idxmin()]
        rows.append({"depth": best["depth"], "hidden": hidden, "n_params": best["n_params"], "lam": lam,
                     "reference_J": best["fun"], "best_seed": best["seed"], "starts": len(g),
                     "converged": int((g["status"] == "converged").sum()),
                     "spread": g["fun"].max() / g["fun"].min() - 1, "evaluations": g["cost"].max()})
    return pd.DataFrame(rows)


def successes(runs: pd.DataFrame, refs: pd.DataFrame, j_targets: list[float],
              accuracy_targets: list[float]) -> pd.DataFrame:
    """One row per compared run and target: ``reached`` (a failed run reaches nothing)."""
    compared = runs[runs["method"] != REFERENCE]
    ref_j = refs.set_index(["hidden", "lam"])["reference_J"]
    tables = []
    for lam, part in compared.groupby("lam"):
        ok = part["status"] != "failed"
        if lam > 0:
            j_ref = np.array([ref_j.get((h, lam), np.nan) for h in part["hidden"]])
            for t in j_targets:
                tables.append(part.assign(target=f"J <= {1 + t:g} J_ref", target_value=t,
                                          reached=ok & (part["fun"] <= (1 + t) * j_ref)))
        else:
            for a in accuracy_targets:
                tables.append(part.assign(target=f"train acc >= {a:g}", target_value=a,
                                          reached=ok & (part["train_accuracy"] >= a)))
    return pd.concat(tables, ignore_index=True)


def clopper_pearson(hits: int, n: int) -> tuple[float, float]:
    """The exact 95% interval of a success rate (scipy's binomtest)."""
    ci = st.binomtest(hits, n).proportion_ci(0.95, method="exact")
    return float(ci.low), float(ci.high)


def breakdown(hits: pd.DataFrame) -> pd.DataFrame:
    """Per method, depth, lam, k and target: the largest size reached in most seeds (more than half),
    its successes and their 95% Clopper-Pearson interval, and the next larger size on the ladder with
    its own; the breakdown lies between the two. ``largest`` is NaN when no size is reached."""
    rows = []
    keys = ["method", "depth", "lam", "k", "target"]
    for key, g in hits.groupby(keys, sort=False):
        per_size = g.groupby("n_params")["reached"].agg(["sum", "count"]).sort_index()
        majority = per_size[per_size["sum"] * 2 > per_size["count"]]
        largest = majority.index.max() if len(majority) else np.nan
        larger = per_size[per_size.index > largest] if len(majority) else per_size
        row = dict(zip(keys, key), largest=largest, next=larger.index.min() if len(larger) else np.nan)
        for col, n in (("largest", largest), ("next", row["next"])):
            if not np.isnan(n):
                hit, runs = int(per_size.at[n, "sum"]), int(per_size.at[n, "count"])
                row[f"{col}_hits"], row[f"{col}_runs"] = hit, runs
                row[f"{col}_low"], row[f"{col}_high"] = clopper_pearson(hit, runs)
        rows.append(row)
    return pd.DataFrame(rows)


def _size_text(row: pd.Series, col: str) -> str:
    return (f"{row[col]:.0f} ({row[f'{col}_hits']:.0f}/{row[f'{col}_runs']:.0f} "
            f"[{row[f'{col}_low']:.0%}, {row[f'{col}_high']:.0%}])")


def breakdown_text(row: pd.Series) -> str:
    """Where the breakdown lies: ``316 (5/5 [48%, 100%]) → 979 (1/5 [1%, 72%])`` (reached at 316 in most
    seeds, not at the next size), ``≥ 979 (...)`` (reached at the top), ``< 112 (...)`` (at no size)."""
    if np.isnan(row["largest"]):
        return f"< {_size_text(row, 'next')}"
    if np.isnan(row["next"]):
        return f"≥ {_size_text(row, 'largest')}"
    return f"{_size_text(row, 'largest')} → {_size_text(row, 'next')}"


def breakdown_table(broken: pd.DataFrame, lam_positive: bool) -> pd.DataFrame:
    """Rows (depth, lam, k, method), one column per target, cells :func:`breakdown_text`."""
    part = broken[(broken["lam"] > 0) == lam_positive].copy()
    part["cell"] = part.apply(breakdown_text, axis=1)
    table = part.pivot_table(index=["depth", "lam", "k", "method"], columns="target", values="cell",
                             aggfunc="first", sort=False)
    return table.sort_index().reset_index().rename_axis(columns=None)


def art_table(runs: pd.DataFrame, traces: Mapping, refs: pd.DataFrame, j_targets: list[float]) -> pd.DataFrame:
    """aRT (COCO, :func:`swarmreg.stats.ert`) to ``(1 + t) x`` the reference J, from the largest-budget runs
    at lam > 0, in units of n + 1 evaluations, with its percentile bootstrap interval over runs."""
    k_max = runs["k"].max()
    rows = []
    for ref in refs.itertuples():
        part = runs[(runs["hidden"] == ref.hidden) & (runs["lam"] == ref.lam) & (runs["k"] == k_max)
                    & (runs["method"] != REFERENCE)]
        for t in j_targets:
            table = stats.ert(part, traces, (1 + t) * ref.reference_J, within=["hidden", "lam"])
            for col in ("ert", "ert_low", "ert_high"):
                table[col] = table[col] / (ref.n_params + 1)
            rows.append(table.assign(n_params=ref.n_params, depth=ref.depth, t=t))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def sensitivity(hits: pd.DataFrame, variants: dict[str, dict]) -> pd.DataFrame:
    """Per variant, size and target: the default's and the variant's successes over seeds (``hits`` at
    the sensitivity lam and multiplier)."""
    rows = []
    for name, opts in variants.items():
        base = opts["method"]
        part = hits[hits["method"].isin([name, base])]
        for (target, n), g in part.groupby(["target", "n_params"], sort=False):  # targets in the config's order
            a, b = g[g["method"] == base], g[g["method"] == name]
            if len(b):
                rows.append({"variant": name, "method": base, "n_params": n, "target": target,
                             "cell": f"{int(a['reached'].sum())}/{len(a)} → {int(b['reached'].sum())}/{len(b)}",
                             "default_majority": a["reached"].sum() * 2 > len(a),
                             "variant_majority": b["reached"].sum() * 2 > len(b)})
    return pd.DataFrame(rows)


def sensitivity_table(sens: pd.DataFrame) -> pd.DataFrame:
    """Rows (variant, size), one column per target, cells ``default successes → variant successes``."""
    table = sens.pivot_table(index=["variant", "method", "n_params"], columns="target", values="cell",
                             aggfunc="first", sort=False)
    return table.reset_index().rename_axis(columns=None)


def breakdown_moves(sens: pd.DataFrame) -> pd.DataFrame:
    """Per variant and target: the largest of the sensitivity sizes reached in most seeds, with the
    default and with the variant; ``moves`` when they differ."""
    rows = []
    for (variant, target), g in sens.groupby(["variant", "target"], sort=False):
        d = g.loc[g["default_majority"], "n_params"].max() if g["default_majority"].any() else np.nan
        v = g.loc[g["variant_majority"], "n_params"].max() if g["variant_majority"].any() else np.nan
        rows.append({"variant": variant, "target": target, "default_largest": d, "variant_largest": v,
                     "moves": not (d == v or (np.isnan(d) and np.isnan(v)))})
    return pd.DataFrame(rows)


def moves_table(moves: pd.DataFrame) -> pd.DataFrame:
    """Rows variant, one column per target: ``default's largest size → variant's`` (``-`` = neither size)."""
    def size(n: float) -> str:
        return "-" if np.isnan(n) else f"{n:.0f}"
    cells = moves.assign(cell=[f"{size(a)} → {size(b)}" + (" (moves)" if m else "")
                               for a, b, m in zip(moves["default_largest"], moves["variant_largest"], moves["moves"])])
    return cells.pivot_table(index="variant", columns="target", values="cell", aggfunc="first",
                             sort=False).reset_index().rename_axis(columns=None)


def settings_test(runs: pd.DataFrame, refs: pd.DataFrame, variants: dict[str, dict], lam: float, k: float,
                  claim: Claim) -> pd.DataFrame:
    """The stated claim's test per variant: Wilcoxon signed-rank, paired on (size, seed), of the relative
    gaps ``J / reference J - 1`` of variant and default at ``lam`` and multiplier ``k``; p adjusted as the
    claim states."""
    gap = runs[runs["lam"] == lam].merge(refs[["hidden", "lam", "reference_J"]], on=["hidden", "lam"])
    gap["gap"] = gap["fun"] / gap["reference_J"] - 1
    rows = []
    for name, opts in variants.items():
        v = gap[gap["method"] == name].set_index(["n_params", "seed"])["gap"]
        d = gap[(gap["method"] == opts["method"]) & (gap["k"] == k)]
        d = d[d["n_params"].isin(v.index.get_level_values(0))].set_index(["n_params", "seed"])["gap"]
        pairs = v.index.intersection(d.index)
        if len(pairs) < 2:
            continue
        diff = (v[pairs] - d[pairs]).to_numpy()
        test = stats.two_sample_test(v[pairs].to_numpy(), d[pairs].to_numpy(), paired=True)
        rows.append({"variant": name, "method": opts["method"], "n": len(pairs), "median_diff": float(np.median(diff)),
                     "p": test["p"]})
    table = pd.DataFrame(rows)
    if len(table):
        table["p_adjusted"] = claim.adjust(table["p"].to_numpy())
    return table


def settings_verdict(row: pd.Series, claim: Claim) -> str:
    """The claim's verdict for one variant, in DESIGN section 6's words."""
    if row["p_adjusted"] < claim.alpha:
        side = "larger" if row["median_diff"] > 0 else "smaller"
        return (f"`{row['variant']}` changes the gap: median paired difference {row['median_diff']:+.3g} "
                f"({side} gap than the default), p = {row['p_adjusted']:.2g} ({claim.correction})")
    n = int(row["n"])
    return f"`{row['variant']}`: " + not_shown(row["p_adjusted"], n, f"a shift of one sign in nearly all {n} pairs "
                                                 f"(the smallest p the exact test gives is {2 * 0.5 ** n:.2g})")
