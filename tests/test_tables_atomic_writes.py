"""A stage killed mid-write leaves the previous outputs intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from pipeline.tables import read_table, write_table

WRITER = """
import sys, pandas as pd
from pathlib import Path
from pipeline.tables import write_table
n = 3_000_000
df = pd.DataFrame({"doc_id": [f"d{i}" for i in range(n)], "page_no": range(n),
                   "text": ["lorem ipsum dolor sit amet " * 4] * n})
print("ready", flush=True)
while True:
    write_table(Path(sys.argv[1]), df, name="pages")
"""


def test_tables_kill_mid_write_keeps_previous_output(tmp_path: Path):
    target = tmp_path / "pages.parquet"
    previous = pd.DataFrame({"doc_id": ["a"], "page_no": [1], "text": ["previous output"]})
    write_table(target, previous, name="pages")
    before = target.read_bytes()

    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    deadline = time.monotonic() + 60
    # Wait until the writer is inside a write (its temporary file exists), then kill it.
    while not list(tmp_path.glob(".pages.parquet.*.tmp")):
        assert time.monotonic() < deadline, "writer never started writing"
        assert proc.poll() is None, "writer died on its own"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    assert target.read_bytes() == before, "the killed write must not touch the old table"
    assert read_table(target, name="pages")["text"].tolist() == ["previous output"]
