"""The maths libraries run one thread per process (the worker pool is the parallelism)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHECK = r"""
import json, os, subprocess, sys
import numpy, scipy.linalg  # loaded first, as under `textmine`
from pipeline.parallel import limit_math_threads
limit_math_threads()
from threadpoolctl import threadpool_info
child = subprocess.run([sys.executable, "-c", "import os; print(os.environ['OPENBLAS_NUM_THREADS'])"],
                       capture_output=True, text=True, check=True).stdout.strip()
print(json.dumps({"threads": sorted({i["num_threads"] for i in threadpool_info()}), "child": child}))
"""


def _run(env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_math_libraries_get_one_thread_and_children_inherit_it() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    got = _run(env)
    assert got == {"threads": [1], "child": "1"}


def test_an_explicit_omp_num_threads_is_honoured() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    got = _run({**env, "OMP_NUM_THREADS": "2"})
    assert got == {"threads": [2], "child": "2"}
