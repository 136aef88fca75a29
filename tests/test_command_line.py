"""The command as a newcomer meets it: a progress bar for ``compare`` on a terminal (and none in a pipe),
``plot`` on a store without a finished run, and output into a closed pipe ending quietly with the
status a shell reports for a tool that SIGPIPE ended."""

from __future__ import annotations

import dataclasses
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import tomllib
from pathlib import Path

import pytest

import swarmreg as sr
from swarmreg import cli
from swarmreg._pipes import EXIT_STATUS

SMALL = """\
name = "small"
datasets = ["iris"]
hidden = [[3]]
methods = ["pso", "backprop"]
lams = [0.0, 0.1]
seeds = [0, 1]
budget = 200

[options.pso]
n_particles = 10
"""
COMPARE = ["compare", "--budget", "200", "--seeds", "0", "--lams", "0", "0.1", "--methods", "pso", "backprop",
           "--hidden", "3", "--workers", "1"]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cmd") / "out"
    sr.run_sweep(sr.Sweep.from_dict(tomllib.loads(SMALL)), out, executor="serial")
    return out


def swarmreg(*args: object, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "swarmreg", *map(str, args)], text=True, timeout=300, **kwargs)


def test_compare_shows_progress_on_a_terminal():
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal has a size
    try:
        proc = swarmreg(*COMPARE, stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    terminal = b"".join(chunks).decode()
    assert proc.returncode == 0, terminal
    assert "compare: 100%" in terminal and "4/4" in terminal
    assert proc.stdout.startswith("| dataset")


def test_compare_in_a_pipe_prints_no_progress():
    proc = swarmreg(*COMPARE, capture_output=True)
    assert proc.returncode == 0 and proc.stderr == ""


def test_compare_progress_from_python(capsys):
    sr.compare(datasets=["iris"], hidden=[[3]], methods=["pso"], lams=[0.0], seeds=[0, 1], budget=100,
               executor="serial", progress=True)
    assert "compare: 100%" in capsys.readouterr().err
    sr.compare(datasets=["iris"], hidden=[[3]], methods=["pso"], lams=[0.0], seeds=[0], budget=100,
               executor="serial")
    assert capsys.readouterr().err == ""  # not a terminal under pytest: no bar by default


def test_plot_without_a_finished_run_says_so_and_exits_1(tmp_path, capsys):
    sweep = sr.Sweep.from_dict(tomllib.loads(SMALL.replace('["pso", "backprop"]', '["pso"]')))
    failing = dataclasses.replace(sweep, options={"pso": {"n_particles": 1000}})  # past the config check
    out = tmp_path / "out"
    summary = sr.run_sweep(failing, out, executor="serial")
    assert summary.failed == summary.total == 4
    code = cli.main(["plot", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.splitlines() == [f"swarmreg: {out} holds no finished run to plot (4 failed); nothing drawn"]
    assert not (out / "figures").exists()


@pytest.mark.parametrize("argv", [["table", "{out}", "--format", "csv"], ["--help"]])
def test_output_into_a_closed_pipe_ends_quietly(store, argv):
    """The reader is gone before the first write (``| head -1`` that already has its line)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = swarmreg(*[a.format(out=store) for a in argv], stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert proc.returncode == EXIT_STATUS == 141
    assert proc.stderr == ""


def test_compare_into_a_closed_pipe_ends_quietly():
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = swarmreg(*COMPARE, stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert proc.returncode == 141 and proc.stderr == ""


def test_head_in_a_shell_pipeline(store):
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {sys.executable} -m swarmreg table {store} | head -1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 141) and proc.stderr == ""
    assert proc.stdout.startswith("| dataset") and proc.stdout.count("\n") == 1


def test_closed_pipe_in_process(store, monkeypatch):
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w") as closed:
        monkeypatch.setattr(sys, "stdout", closed)
        assert cli.main(["table", str(store)]) == 141
        monkeypatch.undo()
