"""Every notebook in notebooks/ runs top to bottom on data/sample/.

Each notebook is executed with nbclient in a kernel that uses this virtual
environment's Python, with the notebook folder as working directory (the
notebooks read ``../data/sample/``). A failing cell fails the test with the
cell's source and error.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds per cell; the sample extract is small
# A cell that draws: calls a figure function of caseload.figures (``*_figure(``), the
# house style's ``finish(``, or a ``.plot(`` method.
FIGURE_CALL = re.compile(r"\b\w+_figure\(|\bfinish\(|\.plot\(")


def test_there_are_notebooks():
    assert any(p.name == "1.0-bestandsanalyse.ipynb" for p in NOTEBOOKS), \
        "notebooks/1.0-bestandsanalyse.ipynb is missing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch):
    # The kernel is a child process: it inherits the pseudonym key set in conftest.py and
    # runs this venv's python (see _VenvKernelManager), whatever kernels are registered.
    # No MPLBACKEND: the kernel chooses its inline backend, as under `jupyter nbconvert
    # --execute`, so that figures end up in the outputs (counted below).
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.kernel_manager_class = _VenvKernelManager
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: error outputs {errors}"
    figure_cells = [c for c in nb.cells if c.cell_type == "code" and FIGURE_CALL.search(c.source)]
    without = [c.source.splitlines()[0] for c in figure_cells if _n_images(c) == 0]
    assert not without, f"{path.name}: figure cells without an image: {without}"
    n_images = sum(_n_images(c) for c in nb.cells if c.cell_type == "code")
    assert n_images >= len(figure_cells), (path.name, n_images, len(figure_cells))
    if path.name == "1.0-bestandsanalyse.ipynb":
        # ladder steps, the A/B/C pyramid and the PMC heat map
        assert n_images == 3, f"{path.name}: {n_images} images, expected 3"


def _n_images(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def _venv_kernel_manager():
    from jupyter_client.manager import KernelManager

    class VenvKernelManager(KernelManager):
        """Start the kernel with this interpreter, not whatever `python3` a kernelspec names."""

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            if cmd and Path(cmd[0]).name.startswith("python"):
                cmd[0] = sys.executable
            return cmd

    return VenvKernelManager


_VenvKernelManager = _venv_kernel_manager()
