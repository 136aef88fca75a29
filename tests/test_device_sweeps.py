"""Sweeps on a device: the config key, --device, refusal before any run, one process, the listing."""

from __future__ import annotations

import dataclasses

import pytest

from swarmreg.cli import main
from swarmreg.sweep import RunSpec, Sweep

pytest.importorskip("jax")

CONFIG = {"datasets": ["iris"], "hidden": [[3]], "methods": ["pso"], "lams": [0.01], "seeds": [0], "budget": 80}


def test_a_device_in_the_config_reaches_every_run_and_its_key():
    plain, on_cpu = Sweep.from_dict(CONFIG), Sweep.from_dict({**CONFIG, "device": "cpu"})
    (a,), (b,) = plain.runs(), on_cpu.runs()
    assert a.device is None and b.device == "cpu" and a.key != b.key
    assert '"device"' not in a.canonical()  # numpy runs keep the keys they had
    assert RunSpec.from_json(b.canonical()) == b


def test_cuda_where_there_is_none_is_refused_before_any_run(tmp_path, capsys):
    config = tmp_path / "s.toml"
    config.write_text('datasets = ["iris"]\nhidden = [[3]]\nmethods = ["pso"]\nlams = [0.0]\nseeds = [0]\n'
                      'budget = 80\ndevice = "cuda"\n')
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "found no GPU, only cpu:0" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
    config.write_text(config.read_text().replace('device = "cuda"\n', ""))
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--device", "cuda:1"]) == 2
    assert "found no GPU" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_device_sweep_runs_in_one_process(tmp_path, capsys):
    assert main(["compare", "--methods", "pso", "--hidden", "3", "--lams", "0", "--seeds", "0", "1",
                 "--budget", "80", "--device", "cpu", "--workers", "2"]) == 2
    assert "one local process" in capsys.readouterr().err
    assert main(["compare", "--methods", "pso", "adam", "--hidden", "3", "--lams", "0", "--seeds", "0",
                 "--budget", "80", "--device", "cpu", "--metrics", "fun"]) == 0
    out = capsys.readouterr().out
    assert "| pso " in out and "| adam " in out


def test_methods_says_which_run_natively(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "pso (gradient-free; native on a device)" in out
    assert "nelder-mead (gradient-free; on a device through host copies)" in out


def test_run_specs_without_a_device_are_unchanged():
    spec = Sweep.from_dict(CONFIG).runs()[0]
    assert dataclasses.replace(spec, device=None).key == spec.key


def test_run_device_overrides_a_gpu_config_on_a_machine_without_one(tmp_path, capsys):
    config = tmp_path / "s.toml"
    config.write_text('datasets = ["iris"]\nhidden = [[3]]\nmethods = ["pso"]\nlams = [0.0]\nseeds = [0]\n'
                      'budget = 80\ndevice = "cuda"\n')
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--device", "cpu"]) == 0, capsys.readouterr()
    import swarmreg as sr
    (spec,) = [RunSpec.from_json(s) for s in sr.load_results(tmp_path / "out")["spec"]]
    assert spec.device == "cpu"


def test_a_refused_device_sweep_leaves_the_stores_current_runs_alone(tmp_path):
    import swarmreg as sr
    sweep = Sweep.from_dict({**CONFIG, "seeds": [0, 1]})
    sr.run_sweep(sweep, tmp_path, executor="serial", progress=False)
    before = sr.load_results(tmp_path)["key"].tolist()
    with pytest.raises(ValueError, match="one local process"):
        sr.run_sweep(dataclasses.replace(sweep, device="cpu"), tmp_path, workers=2, progress=False)
    assert sr.load_results(tmp_path)["key"].tolist() == before
