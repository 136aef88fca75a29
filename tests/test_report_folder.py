"""``swarmreg reproduce`` and the experiment scripts never write over a checkout's committed report unasked:
their default ``--out`` is ``./swarmreg-report`` (named in ``--help``), and a folder holding another
profile's report needs ``--force``."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from swarmreg import cli
from swarmreg.experiments import script
from swarmreg.experiments.folder import DEFAULT_OUT, MARKER, held_profile

REPO = Path(__file__).resolve().parents[1]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A folder like a checkout: the committed report of the full profile under results/."""
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "results", root / "results", ignore=shutil.ignore_patterns("*.sqlite*", ".lock"))
    assert held_profile(root / "results", ["l2-path"]) == "full"
    return root


def run_main(argv: list[object], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_names_the_default_folder():
    text = subprocess.run([sys.executable, "-m", "swarmreg", "reproduce", "--help"], capture_output=True,
                          text=True).stdout
    assert f"./{DEFAULT_OUT}" in text and "--force" in text


def test_reproduce_in_a_checkout_leaves_the_committed_report_alone(checkout):
    before = digest(checkout / "results")
    proc = subprocess.run([sys.executable, "-m", "swarmreg", "reproduce", "--profile", "smoke", "--only", "l2-path",
                           "--workers", "2"], cwd=checkout, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert digest(checkout / "results") == before
    assert (checkout / DEFAULT_OUT / "l2-path" / "SECTION.md").is_file()
    assert json.loads((checkout / DEFAULT_OUT / MARKER).read_text()) == {"profile": "smoke"}
    assert sorted(p.name for p in checkout.iterdir()) == sorted(["results", str(DEFAULT_OUT)])


def test_another_profile_over_a_report_needs_force(checkout, capsys):
    results = checkout / "results"
    before = digest(results)
    argv = ["reproduce", "--profile", "smoke", "--only", "l2-path", "--workers", "2", "--out", results]
    code, out, err = run_main(argv, capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "holds the full profile's report" in err and "--force" in err
    assert digest(results) == before

    code, out, err = run_main([*argv, "--force"], capsys)
    assert code == 0, err
    assert held_profile(results, ["l2-path"]) == "smoke"
    assert (results / "REPORT.md").read_bytes() == (REPO / "results" / "REPORT.md").read_bytes()  # --only


def test_the_same_profile_resumes_without_force(tmp_path, capsys):
    out = tmp_path / "report"
    argv = ["reproduce", "--profile", "smoke", "--only", "l2-path", "--workers", "2", "--out", out]
    assert run_main(argv, capsys)[0] == 0
    code, stdout, _ = run_main(argv, capsys)
    assert code == 0 and "0 finished, 0 failed" in stdout


def test_a_folder_of_unknown_profile_needs_force(tmp_path, capsys):
    (tmp_path / "old" / "l2-path").mkdir(parents=True)
    code, _, err = run_main(["reproduce", "--profile", "smoke", "--only", "l2-path", "--out", tmp_path / "old"],
                            capsys)
    assert code == 2 and "a report of unknown profile" in err and "--force" in err
    assert not (tmp_path / "old" / MARKER).exists()


def test_experiment_scripts_have_the_same_default_and_guard(checkout, capsys):
    with pytest.raises(SystemExit) as info:
        script("l2-path", ["--help"])
    assert info.value.code == 0 and f"./{DEFAULT_OUT}" in capsys.readouterr().out
    before = digest(checkout / "results")
    with pytest.raises(SystemExit) as info:
        script("l2-path", ["--profile", "smoke", "--out", str(checkout / "results")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "holds the full profile's report" in err and "--force" in err
    assert digest(checkout / "results") == before
