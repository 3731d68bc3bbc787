"""pipeline.parallel.map_ordered gives the same results on every backend: in-process
(1 worker), a local process pool (2 workers) and a Dask distributed cluster (a
LocalCluster with two worker processes started here); so do ingestion and language
detection on a small real corpus. A dying worker raises a clear WorkerCrashError."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import ComputeConfig, Config, load_config
from pipeline.parallel import WorkerCrashError, close_dask_clients, map_ordered

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "corpora" / "raw" / "sample"

# Born-digital files in several formats and scripts, plus a broken one; no scanned PDF
# (OCR would dominate the test's time). Missing names are skipped.
SMALL_CORPUS = (
    "en-01-ministry-kenya.pdf",
    "zh-03-china-telecom-ott.pdf",
    "ru-04-ngo-uzbekistan.pdf",
    "ar-04-jordan-digital-rights.docx",
    "fr-02-ministere-cote-divoire.docx",
    "en-05-phone-bill-complaint.txt",
    "es-05-maestra-rural-argentina.html",
    "xx-broken-truncated.pdf",
)

TABLE_KEYS = {
    "manifest": ["source_path"],
    "documents": ["doc_id"],
    "pages": ["doc_id", "page_no"],
    "segments": ["doc_id", "seg_id"],
    "languages": ["doc_id", "seg_id"],
}


def _digest(x: int) -> tuple[int, str, int]:
    """Deterministic, a little CPU work, no process-specific state."""
    h = hashlib.sha256(str(x).encode())
    for _ in range(200):
        h = hashlib.sha256(h.digest())
    return x, h.hexdigest()[:16], sum(i * i for i in range(x % 97))


def _fail_on_13(x: int) -> int:
    if x == 13:
        raise ValueError("item 13 is bad")
    return x


def _die_on_3(x: int) -> int:
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


@pytest.fixture(scope="module")
def dask_scheduler() -> str:
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    # A task that kills its worker fails at once instead of being retried on the others.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        close_dask_clients()
        cluster.close()


@pytest.fixture(scope="module")
def backends(dask_scheduler: str) -> dict[str, ComputeConfig]:
    return {
        "local-1": ComputeConfig(workers=1),
        "local-2": ComputeConfig(workers=2),
        "dask": ComputeConfig(workers=2, backend="dask", scheduler=dask_scheduler),
    }


@pytest.mark.parametrize("chunksize", [1, 7])
def test_parallel_backends_identical_results(backends: dict[str, ComputeConfig], chunksize: int) -> None:
    items = list(range(60))
    expected = [_digest(x) for x in items]
    for name, compute in backends.items():
        got = list(map_ordered(_digest, items, compute=compute, desc=name, chunksize=chunksize))
        assert got == expected, f"backend {name} changed the results or their order"


def test_parallel_backends_empty_input(backends: dict[str, ComputeConfig]) -> None:
    for compute in backends.values():
        assert list(map_ordered(_digest, [], compute=compute)) == []


def test_parallel_backends_reraise_task_errors(backends: dict[str, ComputeConfig]) -> None:
    for name, compute in backends.items():
        with pytest.raises(ValueError, match="item 13 is bad"):
            list(map_ordered(_fail_on_13, list(range(20)), compute=compute, desc=name))


def test_parallel_backends_dask_client_reused(backends: dict[str, ComputeConfig]) -> None:
    from pipeline.parallel import get_dask_client

    compute = backends["dask"]
    assert get_dask_client(compute) is get_dask_client(compute)


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    present = [SAMPLE / n for n in SMALL_CORPUS if (SAMPLE / n).is_file()]
    if len(present) < 3:
        pytest.skip("corpora/raw/sample is not built (make sample)")
    folder = tmp_path_factory.mktemp("small-corpus") / "small"
    folder.mkdir()
    for p in present:
        shutil.copy2(p, folder / p.name)
    return folder


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df.sort_values(keys, kind="mergesort", na_position="first").reset_index(drop=True)


def test_parallel_backends_ingest_and_language_identical(
    backends: dict[str, ComputeConfig], small_corpus: Path, tmp_path: Path
) -> None:
    ingest = pytest.importorskip("pipeline.ingest")
    language = pytest.importorskip("pipeline.language")
    base = load_config(ROOT / "params.yaml")
    results: dict[str, dict[str, pd.DataFrame]] = {}
    for name, compute in backends.items():
        cfg = Config(base=base.base, compute=compute, ingest=base.ingest, language=base.language)
        # A separate cache per backend: each one really extracts every file.
        tables = ingest.ingest_corpus(small_corpus, cfg, cache_dir=tmp_path / name / "cache")
        tables["languages"] = language.detect_languages(tables["segments"], tables["documents"], cfg)
        results[name] = {t: _sorted(df, TABLE_KEYS[t]) for t, df in tables.items()}
    ref = results["local-1"]
    assert len(ref["documents"]) >= 3 and len(ref["segments"]) > 10
    for name in ("local-2", "dask"):
        for table, df in results[name].items():
            if not df.equals(ref[table]):
                pd.testing.assert_frame_equal(df, ref[table], obj=f"{name}:{table}")
                pytest.fail(f"{name}:{table} differs from the serial run (dtypes?)")


def test_parallel_backends_local_worker_crash_is_clear() -> None:
    # The pool breaks as a whole, so the error names the first unfinished item.
    with pytest.raises(WorkerCrashError, match="worker process died while computing item"):
        list(map_ordered(_die_on_3, list(range(8)), compute=ComputeConfig(workers=2), desc="crash"))


def test_parallel_backends_dask_worker_crash_is_clear(backends: dict[str, ComputeConfig]) -> None:
    # Item 3 kills its worker. Items queued on that worker die with it, and the first of
    # them may be the first one the caller waits for (item 1 or 2 in about one run in
    # four on 2 cores): never a later item, and the message says it may be another.
    with pytest.raises(WorkerCrashError, match=r"died while computing item [0-3] \([0-3]\) or one computed beside it"):
        list(map_ordered(_die_on_3, list(range(8)), compute=backends["dask"], desc="crash"))
