"""Claims stated before the run: what an experiment's verdict may say, fixed in its config.

An experiment config lists its claims as ``[[claims]]`` tables (DESIGN section 6)::

    [[claims]]
    id = "shrink"                                  # how the verdict code names the claim
    hypothesis = "L2 shrinks the non-bias weights under every optimizer"
    test = "wilcoxon"                              # a key of TESTS
    sides = "two-sided"                            # "two-sided" | "greater" | "less"
    family = "the 36 (dataset, method) pairs"      # what the tests of this claim range over
    correction = "intersection-union"              # a key of CORRECTIONS
    alpha = 0.05
    margin = 0.005                                 # equivalence tests only: the margin, in the metric's unit

The report prints each claim as stated (:meth:`Claim.describe`) next to its verdict, and the verdict
code fetches the claim with :func:`require`, naming the test it runs: a verdict cannot use a test
its config does not state, so a change of test is a change of config, visible in its history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .stats import holm

TESTS = {
    "wilcoxon": "Wilcoxon signed-rank test, paired on seed",
    "mann-whitney": "Mann-Whitney U test",
    "page": "Page's trend test over the ordered levels, blocks paired on seed",
    "friedman": "Friedman test over blocks",
    "tost": "two one-sided tests for equivalence (paired t)",
    "bootstrap": "bootstrap interval over seeds",
    "binomial": "exact binomial test",
}
"""Test name -> how the report names it."""

SIDES = ("two-sided", "greater", "less")

CORRECTIONS = {
    "holm": "Holm-corrected over the family",
    "intersection-union": ("intersection-union: each test at alpha, no correction; the claim holds only if every "
                           "test rejects (Berger 1982)"),
    "none": "single test, no correction",
}


@dataclass(frozen=True)
class Claim:
    """One claim as the config states it, before any data is seen."""

    id: str
    hypothesis: str
    test: str
    sides: str
    family: str
    correction: str
    alpha: float = 0.05
    margin: float | None = None  # equivalence margin; required when test = "tost"

    def describe(self) -> str:
        """One markdown line: the hypothesis and how it is tested."""
        margin = "" if self.margin is None else f", equivalence margin ±{self.margin:g}"
        return (f"**Claim `{self.id}`** (stated before the run): {self.hypothesis}. Test: {TESTS[self.test]}, "
                f"{self.sides}, over {self.family}; {CORRECTIONS[self.correction]}; alpha = {self.alpha:g}{margin}.")

    def adjust(self, pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
        """The p-values the verdict compares with alpha: Holm-corrected for ``holm``, as they are
        for ``intersection-union`` (each test at alpha) and ``none``."""
        p = np.asarray(pvalues, dtype=float)
        return holm(p) if self.correction == "holm" else p

    def holds(self, pvalues: Sequence[float] | np.ndarray) -> bool:
        """Whether the claim is shown: every adjusted p below alpha (intersection-union), or, for a
        single test, that one."""
        p = self.adjust(pvalues)
        return bool(len(p)) and bool(np.all(p < self.alpha))


def _claim(entry: Mapping[str, Any], where: str) -> Claim:
    if not isinstance(entry, Mapping):
        raise TypeError(f"{where}: each [[claims]] entry must be a table, got {entry!r}")
    required = ("id", "hypothesis", "test", "sides", "family", "correction")
    missing = [k for k in required if k not in entry]
    if missing:
        raise ValueError(f"{where}: claim {entry.get('id', '?')!r} lacks {', '.join(missing)}")
    unknown = sorted(set(entry) - {*required, "alpha", "margin"})
    if unknown:
        raise ValueError(f"{where}: claim {entry['id']!r} has unknown key(s) {', '.join(unknown)}")
    claim = Claim(**entry)
    if claim.test not in TESTS:
        raise ValueError(f"{where}: claim {claim.id!r} names test {claim.test!r}; known: {', '.join(TESTS)}")
    if claim.sides not in SIDES:
        raise ValueError(f"{where}: claim {claim.id!r} has sides {claim.sides!r}; expected one of {', '.join(SIDES)}")
    if claim.correction not in CORRECTIONS:
        raise ValueError(f"{where}: claim {claim.id!r} has correction {claim.correction!r}; "
                         f"expected one of {', '.join(CORRECTIONS)}")
    if not 0 < claim.alpha < 1:
        raise ValueError(f"{where}: claim {claim.id!r} has alpha {claim.alpha!r}; expected 0 < alpha < 1")
    if (claim.test == "tost") != (claim.margin is not None):
        raise ValueError(f"{where}: claim {claim.id!r}: an equivalence margin goes with test = 'tost' and only there "
                         f"(test {claim.test!r}, margin {claim.margin!r})")
    if claim.margin is not None and not claim.margin > 0:
        raise ValueError(f"{where}: claim {claim.id!r} has margin {claim.margin!r}; expected > 0")
    return claim


def parse_claims(config: Mapping[str, Any], where: str = "config") -> dict[str, Claim]:
    """The config's ``[[claims]]`` by id, validated (unknown test, sides or correction, a missing
    field, a margin without TOST or TOST without a margin, a repeated id: ``ValueError``)."""
    out: dict[str, Claim] = {}
    for entry in config.get("claims", []):
        claim = _claim(entry, where)
        if claim.id in out:
            raise ValueError(f"{where}: claim id {claim.id!r} is stated twice")
        out[claim.id] = claim
    return out


def require(claims: Mapping[str, Claim], claim_id: str, test: str) -> Claim:
    """The stated claim ``claim_id``, checked to name ``test``: a verdict may only run the test its
    config states."""
    if claim_id not in claims:
        raise KeyError(f"no claim {claim_id!r} is stated in the config; stated: {', '.join(claims) or 'none'}")
    claim = claims[claim_id]
    if claim.test != test:
        raise ValueError(f"claim {claim_id!r} is stated with test {claim.test!r}, but the verdict runs {test!r}")
    return claim


def not_shown(p: float, n: int, detectable: str) -> str:
    """How a test that does not reject reads: never "no difference" (DESIGN section 6)."""
    return f"not shown (p = {p:.2g}, n = {n}; the smallest effect this design detects: {detectable})"
