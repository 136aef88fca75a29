"""examples/compare_optimizers.ipynb runs from top to bottom (nbclient, a real kernel) on a small budget,
so it cannot rot: a data set, compare on several methods and lams, the table, a lam-path figure, the
paired tests, and a method registered in the notebook."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "compare_optimizers.ipynb"
SMALL = "BUDGET = 300\nSEEDS = [0, 1, 2]\nWORKERS = 1"


def outputs(cell) -> str:
    """Everything a cell showed, as text (plain text, HTML tables, stream output)."""
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        data = out.get("data", {})
        parts.append(data.get("text/plain", "") + data.get("text/html", ""))
    return "\n".join(parts)


def test_the_notebook_runs_on_a_small_budget(tmp_path, monkeypatch):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")  # committed clean
    [params] = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    nb.cells.insert(params + 1, nbformat.v4.new_code_cell(SMALL))  # papermill's convention
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # where the notebook's figures go
    (tmp_path / "tmp").mkdir()
    (tmp_path / "cwd").mkdir()
    # a kernel of this very interpreter, whatever "python3" kernels the machine has installed
    spec = tmp_path / "jupyter" / "kernels" / "swarmreg-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "swarmreg test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    NotebookClient(nb, timeout=120, kernel_name="swarmreg-test",
                   resources={"metadata": {"path": str(tmp_path / "cwd")}}).execute()

    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    shown = "\n".join(outputs(cell) for cell in code)
    assert "iris: classification, 105 training and 45 test items" in shown
    assert f"{3 * 3 * 3} runs, 0 failed" in shown
    for method in ("pso", "nelder-mead", "backprop", "my-search"):
        assert f"| {method}" in shown, method
    assert "wilcoxon" in shown and "verdict" in shown
    assert "my-search passes swarmreg.testing.check_method" in shown
    images = [out for cell in code for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]
    assert len(images) == 1  # the lam path of iris
    assert not any((tmp_path / "cwd").iterdir())  # nothing written where the notebook runs
    assert len(list((tmp_path / "tmp").glob("swarmreg-figures-*/lam_path_iris_h8.png"))) == 1
