"""Every Python code block of README.md runs as written, and so does every ``swarmreg`` command of its
shell blocks but the expensive ones (compare, run, reproduce: the store they would make is made here
from the quickstart config at a small budget), in README order, in one fresh process."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import swarmreg as sr

ROOT = Path(__file__).resolve().parents[1]
EXPENSIVE = {"compare", "run", "reproduce"}  # minutes of CPU; their outputs are checked by other tests
DRIVER = """
import json, sys
from swarmreg.cli import main
for i, (kind, code) in enumerate(json.load(sys.stdin)):
    print(f"README block {i} ({kind}):", code if kind == "sh" else code.splitlines()[0], flush=True)
    if kind == "python":
        exec(compile(code, f"README.md block {i}", "exec"), {"__name__": f"readme_block_{i}"})
    elif main(code) != 0:
        raise SystemExit(f"swarmreg {' '.join(code)} failed")
"""


def blocks() -> list[tuple[str, str]]:
    return re.findall(r"^```(\w*)\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.S | re.M)


def steps() -> tuple[list[tuple[str, object]], list[str]]:
    """The Python blocks and the cheap ``swarmreg`` command lines, in order, and the skipped commands."""
    todo, skipped = [], []
    for kind, code in blocks():
        if kind == "python":
            todo.append(("python", code))
        elif kind == "sh":
            for line in code.splitlines():
                argv = shlex.split(line, comments=True)
                if argv[:1] == ["swarmreg"] and argv[1] not in EXPENSIVE:
                    todo.append(("sh", argv[1:]))
                elif "swarmreg" in argv:
                    skipped.append(line)
    return todo, skipped


def test_readme_blocks_run_as_written(tmp_path):
    cfg = tomllib.loads((ROOT / "experiments" / "quickstart.toml").read_text())
    cfg.update(datasets=["iris"], budget=400)  # the README's store, small: 36 runs
    sr.run_sweep(sr.Sweep.from_dict(cfg), tmp_path / "out" / "quickstart", executor="serial", progress=False)
    todo, skipped = steps()
    assert sum(kind == "python" for kind, _ in todo) >= 5 and sum(kind == "sh" for kind, _ in todo) >= 6
    assert {shlex.split(line.split("&&")[-1], comments=True)[1] for line in skipped} <= EXPENSIVE
    env = {**os.environ, "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(todo), cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "out" / "quickstart-ioh" / "pso").is_dir()  # the export commands wrote where they say
    assert (tmp_path / "out" / "quickstart" / "ecdf.txt").is_file()


def test_the_plugin_block_is_the_example_file():
    plugin = [code for kind, code in blocks() if kind == "python" and "register_method(\"hill-climb\"" in code]
    assert plugin == [(ROOT / "examples" / "hill_climb.py").read_text()]
