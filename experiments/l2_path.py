"""Experiment 1, `l2-path`: see the docstring of swarmreg/experiments/l2_path.py; its sweep is
swarmreg/experiments/configs/l2-path.toml.
Usage: python experiments/l2_path.py [--quick] [--out DIR] [--workers N]"""

from swarmreg.experiments import script

if __name__ == "__main__":
    script("l2-path")
