"""Experiment 3, `equal-budget`: see the docstring of swarmreg/experiments/equal_budget.py; its sweep is
swarmreg/experiments/configs/equal-budget.toml.
Usage: python experiments/equal_budget.py [--quick] [--out DIR] [--workers N]"""

from swarmreg.experiments import script

if __name__ == "__main__":
    script("equal-budget")
