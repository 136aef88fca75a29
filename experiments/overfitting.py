"""Experiment 4, `overfitting`: see the docstring of swarmreg/experiments/overfitting.py; its sweep is
swarmreg/experiments/configs/overfitting.toml.
Usage: python experiments/overfitting.py [--quick] [--out DIR] [--workers N]"""

from swarmreg.experiments import script

if __name__ == "__main__":
    script("overfitting")
