"""The dimension ladder's design: sizes, budgets k x (n + 1), reference and settings-variant runs.

Read from ``configs/dimension-ladder.toml``: ``[ladder]``, ``[parameters]`` and ``[sensitivity]``,
each overridden key by key by the profile's table of the same name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..network import Network
from ..sweep import RunSpec, Sweep, check_device

DATASET = "mnist1d"
N_FEATURES, N_CLASSES = 40, 10
REFERENCE = "reference"  # the variant name of the reference runs: l-bfgs at ftol = gtol = 0
PROFILES = ("full", "quick", "smoke", "gpu")


class DeviceUnavailable(RuntimeError):
    """The gpu profile asked for on a machine (or a build) where no run can put J on a GPU."""


@dataclass(frozen=True)
class Design:
    ladder: dict[str, Any]
    params: dict[str, Any]
    sensitivity: dict[str, Any]

    @property
    def hidden(self) -> list[tuple[int, ...]]:
        return [tuple(h) for h in self.ladder["hidden"]]

    @property
    def multipliers(self) -> list[float]:
        return sorted(self.ladder["multipliers"])

    def methods_at(self, hidden: tuple[int, ...]) -> list[str]:
        """The methods run at this size (``max_weights`` drops a method above its cap)."""
        n = n_params(hidden)
        return [m for m in self.ladder["methods"] if n <= self.ladder.get("max_weights", {}).get(m, math.inf)]


def n_params(hidden: tuple[int, ...] | list[int]) -> int:
    """Weights and biases of the 40-...-10 network with these hidden layers."""
    return Network((N_FEATURES, *hidden, N_CLASSES)).n_params


def depth_name(hidden: tuple[int, ...] | list[int]) -> str:
    """``40-h-10`` or ``40-h-h-10``: the family of networks a size belongs to."""
    return "40-" + "-".join("h" for _ in hidden) + "-10"


def design(config: dict[str, Any], profile: str) -> Design:
    """The config's tables with the profile's overrides, checked."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    over = config.get("profiles", {}).get(profile, {})
    tables = {name: {**config[name], **over.get(name, {})} for name in ("ladder", "parameters", "sensitivity")}
    d = Design(tables["ladder"], tables["parameters"], tables["sensitivity"])
    missing = [h for h in d.sensitivity["hidden"] if tuple(h) not in d.hidden]
    if missing or d.sensitivity["lam"] not in d.ladder["lams"]:
        raise ValueError(f"[sensitivity] hidden {missing} and lam {d.sensitivity['lam']} must be on the ladder: "
                         "its variants are compared with the ladder's default runs")
    return d


def check_profile(profile: str) -> None:
    """Refuse the gpu profile, in one line, where JAX finds no GPU to put the objective on."""
    if profile == "gpu":
        try:
            check_device("cuda")
        except (TypeError, ValueError) as exc:
            raise DeviceUnavailable(f"the gpu profile (up to ~10^5 weights) runs its objectives on a GPU: {exc}; "
                                    "use --quick or the full profile") from None


def _sweep(name: str, hidden: tuple[int, ...], methods: list[str], lams: list[float], seeds: list[int],
           budget: float, variants: dict | None = None) -> list[RunSpec]:
    return Sweep.from_dict({"name": name, "datasets": [DATASET], "hidden": [list(hidden)], "methods": methods,
                            "lams": lams, "seeds": seeds, "budget": budget, "split_seed": 0,
                            "variants": variants or {}}, where=f"dimension-ladder {name}").runs()


def ladder_specs(d: Design) -> list[RunSpec]:
    """One run per size, method, lam, seed and multiplier k, with budget k x (n + 1)."""
    return [spec for h in d.hidden for k in d.multipliers
            for spec in _sweep(f"{list(h)} k={k:g}", h, d.methods_at(h), d.ladder["lams"], d.ladder["seeds"],
                               k * (n_params(h) + 1))]


def reference_specs(d: Design) -> list[RunSpec]:
    """Per size and lam > 0: swarmreg.reference_minimum's L-BFGS starts (ftol = gtol = 0) as stored runs,
    from seeds no compared run uses."""
    lams = [lam for lam in d.ladder["lams"] if lam > 0]
    if not lams:
        return []
    variants = {REFERENCE: {"method": "l-bfgs", "ftol": 0.0, "gtol": 0.0}}
    return [spec for h in d.hidden
            for spec in _sweep(f"{list(h)} reference", h, [REFERENCE], lams, d.params["reference_seeds"],
                               d.params["reference_multiplier"] * (n_params(h) + 1), variants)]


def variant_options(d: Design, hidden: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """The settings variants at this size: DE's 5 n members capped (and at most a quarter of the budget,
    which binds only in the small profiles), CMA-ES 4 x pycma's default population."""
    n = n_params(hidden)
    budget = d.multipliers[-1] * (n + 1)
    out = {}
    for name, opts in d.sensitivity["variants"].items():
        opts = dict(opts)
        if name == "de-5n":
            opts["population"] = int(min(5 * n, d.sensitivity["de_population_cap"], budget // 4))
        elif name == "cma-es-4x":
            opts["popsize"] = 4 * (4 + int(3 * math.log(n)))
        out[name] = opts
    return out


def sensitivity_specs(d: Design) -> list[RunSpec]:
    """Each variant at the sensitivity sizes, lam and the largest multiplier (the defaults are ladder runs)."""
    k = d.multipliers[-1]
    return [spec for h in (tuple(x) for x in d.sensitivity["hidden"])
            for spec in _sweep(f"{list(h)} settings", h, list(d.sensitivity["variants"]), [d.sensitivity["lam"]],
                               d.ladder["seeds"], k * (n_params(h) + 1), variant_options(d, h))]
