"""The analyst notebooks run top to bottom with a real Jupyter kernel on pipeline outputs."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_fixture import build_tables, write_tables  # noqa: E402

from pipeline.config import Config  # noqa: E402
from pipeline.report import render_report  # noqa: E402
from pipeline.summarize import summarize, write_summaries  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01-corpus-overview", "02-themes-explorer", "03-chair-summary")


@pytest.fixture(scope="module")
def synthetic_outputs(tmp_path_factory) -> tuple[Path, Path]:
    """Stage tables and reports of the synthetic consultation, where the pipeline puts them."""
    out = tmp_path_factory.mktemp("nb-run")
    tables = build_tables(hostile=True)
    write_tables(out, tables)
    reports = out / "reports"
    write_summaries(summarize(tables, Config()), reports)
    render_report(tables, reports, Config())
    return out, reports


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, name


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebooks_execute_on_synthetic_outputs(name, synthetic_outputs, monkeypatch):
    _execute(name, *synthetic_outputs, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebooks_execute_on_sample_outputs(name, sample_run, monkeypatch):
    _execute(name, sample_run, sample_run / "reports", monkeypatch)


def _execute(name: str, out: Path, reports: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits the environment: point the notebooks at this run's outputs.
    monkeypatch.setenv("TEXTMINE_OUT", str(out))
    monkeypatch.setenv("TEXTMINE_REPORTS", str(reports))
    # Find the venv's own "python3" kernelspec (installed by ipykernel) before any user-level
    # one that might point at another interpreter.
    monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix) / "share" / "jupyter"))
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    # kernel "python3" is the venv's own ipykernel spec; jupyter_client starts it with
    # sys.executable, so the kernel imports this checkout's `pipeline`.
    client = NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                   + str(o.get("data", {}).get("text/markdown", ""))
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    expected = {"01-corpus-overview": "encrypted", "02-themes-explorer": "quote",
                "03-chair-summary": "Summary of the consultation on"}[name]
    assert expected in text
