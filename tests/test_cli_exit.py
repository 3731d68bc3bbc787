"""``textmine`` exits without the interpreter's teardown, but not without its exit work."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROGRAM = """
import atexit, sys, tempfile, threading, time
from pathlib import Path
from pipeline.cli import exit_now
tmp = tempfile.TemporaryDirectory(prefix="textmine-exit-test-")
Path(sys.argv[1]).write_text(tmp.name)
atexit.register(lambda: print("atexit handler ran"))
print("buffered output", end="")  # stdout is a pipe: block-buffered, not yet written
if sys.argv[2] == "thread":
    threading.Thread(target=lambda: (time.sleep(0.3), print(" thread finished"))).start()
exit_now(3)
"""


@pytest.mark.parametrize("mode", ["plain", "thread"])
def test_exit_now_runs_exit_handlers_and_flushes(tmp_path, mode):
    marker = tmp_path / "tmpdir.txt"
    res = subprocess.run([sys.executable, "-c", PROGRAM, str(marker), mode],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 3, res.stderr
    assert "buffered output" in res.stdout
    assert "atexit handler ran" in res.stdout
    # The temporary folder's finaliser ran: nothing is left behind in /tmp.
    from pathlib import Path

    assert not Path(marker.read_text()).exists()
    if mode == "thread":
        # A running non-daemon thread is waited for, as by a normal exit.
        assert "thread finished" in res.stdout


def test_textmine_command_exit_status_on_error(tmp_path):
    res = subprocess.run([sys.executable, "-m", "pipeline", "ingest", "--out", str(tmp_path / "out"),
                          "--corpus", str(tmp_path / "missing")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    assert "does not exist" in res.stderr
