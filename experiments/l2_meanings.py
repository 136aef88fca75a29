"""Experiment 8, `l2-meanings`: see the docstring of swarmreg/experiments/l2_meanings.py; its sweep is
swarmreg/experiments/configs/l2-meanings.toml.
Usage: python experiments/l2_meanings.py [--quick] [--out DIR] [--workers N]"""

from swarmreg.experiments import script

if __name__ == "__main__":
    script("l2-meanings")
