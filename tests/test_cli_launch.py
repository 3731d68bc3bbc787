"""The ``textmine`` command starts through ``pipeline.launch``: the CLI is imported with the
garbage collector paused, which is back on (and the import frozen) once it runs."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import gc, sys
from pipeline import launch
cli = launch.import_cli()
print(gc.isenabled(), gc.get_freeze_count() > 0, "pandas" in sys.modules, cli.__name__)
"""


def test_import_cli_leaves_the_collector_on_and_the_import_frozen():
    res = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["True", "True", "True", "pipeline.cli"]


def test_the_command_and_python_m_pipeline_use_the_launcher():
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "textmine"]
    assert ep.value == "pipeline.launch:entry"
    res = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert "ingest" in res.stdout
