"""Experiment 2, `decay-meaning`: see the docstring of swarmreg/experiments/decay_meaning.py; its sweep is
swarmreg/experiments/configs/decay-meaning.toml.
Usage: python experiments/decay_meaning.py [--quick] [--out DIR] [--workers N]"""

from swarmreg.experiments import script

if __name__ == "__main__":
    script("decay-meaning")
