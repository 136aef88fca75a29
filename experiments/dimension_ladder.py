"""Experiment 7, `dimension-ladder`: see the docstring of swarmreg/experiments/dimension_ladder.py; its design is
swarmreg/experiments/configs/dimension-ladder.toml.
Usage: python experiments/dimension_ladder.py [--quick | --gpu] [--out DIR] [--workers N]
(--gpu, up to ~10^5 weights, is refused where runs cannot put J on a GPU.)"""

from swarmreg.experiments import script

if __name__ == "__main__":
    script("dimension-ladder")
