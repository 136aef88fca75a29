"""Experiment 5, `pso-vs-backprop`: see the docstring of swarmreg/experiments/pso_vs_backprop.py; its sweep is
swarmreg/experiments/configs/pso-vs-backprop.toml.
Usage: python experiments/pso_vs_backprop.py [--quick] [--out DIR] [--workers N]"""

from swarmreg.experiments import script

if __name__ == "__main__":
    script("pso-vs-backprop")
