"""Experiment 6, `adam-vs-adamw`: see the docstring of swarmreg/experiments/adam_vs_adamw.py; its sweep is
swarmreg/experiments/configs/adam-vs-adamw.toml.
Usage: python experiments/adam_vs_adamw.py [--quick] [--out DIR] [--workers N]"""

from swarmreg.experiments import script

if __name__ == "__main__":
    script("adam-vs-adamw")
