"""Execute the exploratory notebooks (``notebooks/*.py``, Jupytext percent format) with this environment's Python.

The kernel is described by a kernel spec written to a temporary folder, pointing at
``sys.executable``: nothing is installed into the user's Jupyter folders, and a ``python3`` kernel
found elsewhere (another Python, without this project) is never picked up by mistake. The
notebooks read ``$PACER_PROCESSED`` (default: the newest run under ``data/processed/``).

``pacer notebooks`` (and ``tests/test_notebooks.py``) use :func:`execute_notebook`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pipelines.paths import PROJECT_ROOT

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
"""The notebooks' sources (``<name>.py``); the executed ``.ipynb`` go beside the outputs (:func:`executed_path`)."""
NOTEBOOKS = ("crs_timeline_explorer", "survival_explorer", "comparison_sensitivity")
KERNEL_NAME = "pacer-python"


class NotebookError(RuntimeError):
    """A notebook cell raised; the message names the notebook and the error, never the cell's output."""


def notebook_source(name: str) -> Path:
    """``notebooks/<name>.py`` (``name`` with or without ``.py``)."""
    path = NOTEBOOKS_DIR / f"{Path(name).stem}.py"
    if not path.is_file():
        raise FileNotFoundError(
            f"no notebook {path.name} in {NOTEBOOKS_DIR}; the notebooks are: {', '.join(NOTEBOOKS)}"
        )
    return path


def write_kernel_spec(folder: Path) -> Path:
    """A kernel spec ``KERNEL_NAME`` in ``folder/kernels`` that runs ipykernel on this Python; return ``folder/kernels``."""
    kernels = Path(folder) / "kernels"
    spec = kernels / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "PACER (this environment)",
                "language": "python",
                "metadata": {"debugger": False},
            }
        ),
        encoding="utf-8",
    )
    return kernels


def execute_notebook(
    source: Path,
    processed: Path | None = None,
    output: Path | None = None,
    timeout: int = 600,
    environ: Mapping[str, str] | None = None,
):
    """Execute the Jupytext notebook ``source``; write the executed ``.ipynb`` to ``output`` when given.

    ``processed`` sets ``PACER_PROCESSED`` for the kernel. ``timeout`` bounds each cell (seconds).

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook.

    Raises
    ------
    NotebookError
        when a cell raises (the executed notebook, with the traceback, is still written to ``output``).
    """
    import jupytext
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    source = Path(source)
    notebook = jupytext.read(source)
    env = dict(os.environ if environ is None else environ)
    if processed is not None:
        env["PACER_PROCESSED"] = str(Path(processed).resolve())
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    with tempfile.TemporaryDirectory(prefix="pacer-kernel-") as folder:
        specs = KernelSpecManager(kernel_dirs=[str(write_kernel_spec(Path(folder)))])
        manager = AsyncKernelManager(
            kernel_name=KERNEL_NAME, kernel_spec_manager=specs, transport="ipc", ip=str(Path(folder) / "kernel")
        )
        client = NotebookClient(
            notebook,
            km=manager,
            kernel_name=KERNEL_NAME,
            timeout=timeout,
            resources={"metadata": {"path": str(source.parent)}},
        )
        try:
            client.execute(env=env, cleanup_kc=True)  # we made the kernel manager: stop the kernel and its channels
        except CellExecutionError as exc:
            raise NotebookError(f"{source.name}: {exc.ename}: {exc.evalue}") from exc
        finally:
            if output is not None:
                write_executed(notebook, Path(output))
    return notebook


def executed_path(processed: Path, name: str) -> Path:
    """Where ``pacer notebooks`` writes an executed notebook: beside the outputs it read, ``<processed>/notebooks/<name>.ipynb``.

    Its outputs can show participant-level data, so it belongs with the tables it shows, not in
    the source tree.
    """
    return Path(processed) / "notebooks" / f"{Path(name).stem}.ipynb"


def write_executed(notebook, output: Path) -> None:
    """Write the executed notebook to ``output`` at the outputs' modes (files 0640, a new folder 0750; ``PACER_OUTPUT_MODE``,
    ``PACER_DIR_MODE``), through a temporary file renamed into place: a reader sees the previous notebook or this one."""
    import nbformat

    from analysis.store.permissions import ensure_output_dir, output_file_mode

    ensure_output_dir(output.parent)
    partial = output.with_name(f".{output.name}.tmp")
    nbformat.write(notebook, str(partial))
    os.chmod(partial, output_file_mode())
    os.replace(partial, output)
