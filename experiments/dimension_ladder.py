"""Experiment 7, `dimension-ladder`: see the docstring of swarmreg/experiments/dimension_ladder.py; its sweep is
swarmreg/experiments/configs/dimension-ladder.toml.
Usage: python experiments/dimension_ladder.py [--quick] [--out DIR] [--workers N]"""

from swarmreg.experiments import script

if __name__ == "__main__":
    script("dimension-ladder")
