"""Wall time of the commands the README times: ``swarmreg compare`` and ``swarmreg run
experiments/quickstart.toml`` into a fresh folder, each as a new process, as a user types them.

    python -m benchmarks.commands             # each command 3 times
    python -m benchmarks.commands --repeat 1

Prints every wall time, the best and the median, with the load average before and after each
command, and the CPU time of the command and its worker processes: on a shared machine the best
wall time with a low load is the figure to quote, and the CPU time (which the load hardly changes)
divided by the cores in use says what an idle machine gives.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "swarmreg compare": ["compare"],
    "swarmreg run experiments/quickstart.toml": ["run", str(ROOT / "experiments" / "quickstart.toml"),
                                                 "--out", "{out}"],
}


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def cpu_seconds() -> float:
    """User + system time of this process's finished children and their own waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: list[str]) -> tuple[float, float, str, str]:
    """Wall and CPU seconds of one run of ``python -m swarmreg ARGV`` in a fresh temporary folder,
    and the load average before and after."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [a.format(out=Path(tmp) / "out") for a in argv]
        before, cpu0 = load(), cpu_seconds()
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "swarmreg", *args], cwd=tmp, check=True, capture_output=True)
        return time.perf_counter() - t0, cpu_seconds() - cpu0, before, load()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.commands", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} cores; python {sys.version.split()[0]}; load average (1/5/15 min) {load()}")
    for name, command in COMMANDS.items():
        times, cpus = [], []
        for _ in range(args.repeat):
            seconds, cpu, before, after = time_command(command)
            times.append(seconds)
            cpus.append(cpu)
            print(f"  {name}: {seconds:.1f} s wall, {cpu:.1f} s CPU (load {before} -> {after})", flush=True)
        print(f"{name}: best {min(times):.1f} s, median {statistics.median(times):.1f} s wall over {len(times)}; "
              f"median {statistics.median(cpus):.1f} s CPU")


if __name__ == "__main__":
    main()
