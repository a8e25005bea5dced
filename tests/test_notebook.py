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
