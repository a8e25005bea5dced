"""The notebook runs top to bottom on the shipped model, without error, and is committed without
outputs."""

import nbclient
import nbformat

from conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "inside_the_cell.ipynb"


def test_the_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_notebook_runs_top_to_bottom():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()  # raises on any error
    printed = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.outputs)
    assert "True True" in printed  # equations (6) and (7) by hand equal the cell's
    assert "answer 9 decided at row 20" in printed and "the peephole cell passes" in printed


def test_the_notebooks_training_snippet_trains_the_peephole_cell(synthetic_dir, tmp_path):
    """The last cell tells how to train the peephole cell of exercise 5: its code, with one solution,
    runs as written (on the synthetic digits, shortened) and trains the peepholes too."""
    import re
    from pathlib import Path

    import torch

    from lstm_mnist.cell import LSTMCell, LSTMState

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    [solution] = [cell.source for cell in notebook.cells if "class PeepholeLSTMCell" in cell.source]
    [snippet] = re.findall(r"```python\n(.*?)```", notebook.cells[-1].source, re.S)
    assert "TrainConfig()" in snippet and '"path/to/mnist"' in snippet and '"peephole.pt"' in snippet
    snippet = (snippet.replace("TrainConfig()", "TrainConfig(epochs=1, limit_train=200, batch_size=50)")
               .replace('"path/to/mnist"', repr(str(synthetic_dir)))
               .replace('"peephole.pt"', repr(str(tmp_path / "peephole.pt"))))
    namespace = {"torch": torch, "Path": Path, "LSTMCell": LSTMCell, "LSTMState": LSTMState}
    exec(solution.replace("check_peephole(PeepholeLSTMCell)", ""), namespace)
    exec(snippet, namespace)
    assert namespace["metrics"][-1]["event"] == "test" and (tmp_path / "peephole.pt").is_file()
    assert all(getattr(namespace["peephole"].cell, name).abs().sum() > 0 for name in ("w_ci", "w_cf", "w_co"))
