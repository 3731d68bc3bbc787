"""The stage server: a ``textmine`` command served by a fork of a process that has imported
the pipeline gives what the command gives in a fresh interpreter, exit status and output
streams included; a server serves only its own code and environment, and leaves when idle."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from pipeline import launch

ROOT = Path(__file__).resolve().parents[1]
TEXTS = {
    "en-01.txt": "The Internet must remain open, affordable and secure for everyone.\n\n"
                 "Over-the-top services need a fair framework that protects consumers and "
                 "supports investment in broadband networks in developing countries.\n",
    "fr-01.txt": "L'Internet doit rester ouvert, abordable et sûr pour tous les citoyens.\n\n"
                 "Les services par contournement exigent un cadre équitable qui protège les "
                 "consommateurs et soutient l'investissement dans les réseaux à haut débit.\n",
}


def _servers(folder: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info.get("cmdline") or []
        if "pipeline.stage_server" in cmd and any(str(folder) in part for part in cmd):
            found.append(proc)
    return found


@pytest.fixture
def server_env(tmp_path):
    folder = tmp_path / "srv"
    folder.mkdir(mode=0o700)
    env = dict(os.environ, TEXTMINE_SERVER="1", TEXTMINE_SERVER_DIR=str(folder), TEXTMINE_SERVER_IDLE="20")
    yield env, folder
    for proc in _servers(folder):
        proc.terminate()
    psutil.wait_procs(_servers(folder), timeout=10)


def _textmine(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *argv], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def _wait_ready(folder: Path, timeout: float = 60.0, *, what: str = "successor ready") -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = _log(folder)
        if what in logs and list(folder.glob("*.sock")):
            return logs
        time.sleep(0.1)
    raise AssertionError(f"no stage server came up in {folder}")


def _log(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.glob("*.log"))


def test_a_served_stage_gives_what_a_fresh_process_gives(tmp_path, server_env):
    env, folder = server_env
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in TEXTS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    params = str(ROOT / "params.yaml")
    served_out, cold_out = tmp_path / "served", tmp_path / "cold"

    # No server yet: the first stage starts one and runs itself.
    res = _textmine(env, "ingest", "--out", str(served_out), "--corpus", str(corpus), "--params", params)
    assert res.returncode == 0, res.stderr
    _wait_ready(folder)
    assert not re.search(r"serving \d+:", _log(folder))

    cold_env = dict(env, TEXTMINE_SERVER="0")
    res = _textmine(cold_env, "ingest", "--out", str(cold_out), "--corpus", str(corpus), "--params", params)
    assert res.returncode == 0, res.stderr

    served = _textmine(env, "language", "--out", str(served_out), "--params", params)
    assert served.returncode == 0, served.stderr
    assert f"textmine language --out {served_out}" in _log(folder)  # it was served
    assert "pipeline.language" in served.stderr  # the stage's log reached the caller's stderr
    cold = _textmine(cold_env, "language", "--out", str(cold_out), "--params", params)
    assert cold.returncode == 0, cold.stderr
    tables = sorted(p.name for p in (served_out / "language").glob("*.parquet"))
    assert tables == sorted(p.name for p in (cold_out / "language").glob("*.parquet"))
    assert "languages.parquet" in tables
    for name in tables:
        a = pd.read_parquet(served_out / "language" / name)
        pd.testing.assert_frame_equal(a, pd.read_parquet(cold_out / "language" / name))
        assert len(a) > 0


def test_exit_status_and_messages_come_back_from_the_server(tmp_path, server_env):
    env, folder = server_env
    # `textmine --help` is no stage: it does not start a server ...
    assert _textmine(env, "--help").returncode == 0
    time.sleep(0.5)
    assert not _servers(folder)
    # ... a stage does, even one that fails.
    missing = tmp_path / "missing.yaml"
    res = _textmine(env, "language", "--out", str(tmp_path / "out"), "--params", str(missing))
    assert res.returncode == 2 and "missing.yaml" in res.stderr
    _wait_ready(folder)
    res = _textmine(env, "language", "--out", str(tmp_path / "out"), "--params", str(missing))
    assert re.search(r"serving \d+: textmine language", _log(folder))
    assert res.returncode == 2 and "missing.yaml" in res.stderr
    res = _textmine(env, "--help")
    assert res.returncode == 0 and "ingest" in res.stdout  # stdout comes back too


def test_a_killed_server_takes_its_command_along(tmp_path, server_env, sample_corpus):
    env, folder = server_env
    _textmine(env, "language", "--out", str(tmp_path / "out"), "--params", str(tmp_path / "none.yaml"))
    logs = _wait_ready(folder)
    (server,) = (int(pid) for pid in re.findall(r"\[(\d+)\] successor ready", logs))
    err_file = tmp_path / "stderr.txt"
    with open(err_file, "w") as err:  # a file, not a pipe: the command holds it too
        caller = subprocess.Popen([sys.executable, "-m", "pipeline", "ingest", "--out", str(tmp_path / "out"),
                                   "--corpus", str(sample_corpus), "--params", str(ROOT / "params.yaml")],
                                  env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 60
    while not (found := re.search(r"serving (\d+): textmine ingest", _log(folder))):
        assert time.monotonic() < deadline and caller.poll() is None
        time.sleep(0.05)
    command = int(found.group(1))
    os.kill(server, 9)
    assert caller.wait(timeout=60) == 1
    assert "stage server stopped" in err_file.read_text()
    # The stage has seconds of work left (ingesting the whole sample): only the server's
    # death can end it this soon.
    deadline = time.monotonic() + 1.5
    while _alive(command) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(command)  # the command went with its server


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_an_idle_server_leaves(tmp_path, server_env):
    env, folder = server_env
    env = dict(env, TEXTMINE_SERVER_IDLE="1")
    _textmine(env, "language", "--out", str(tmp_path / "out"), "--params", str(tmp_path / "none.yaml"))
    _wait_ready(folder, what="serving on")
    deadline = time.monotonic() + 30
    while _servers(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _servers(folder)
    assert not list(folder.glob("*.sock"))


def test_the_key_follows_the_code_and_the_environment(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "launch.py").write_text("# launch\n")
    (package / "stage.py").write_text("# stage\n")
    monkeypatch.setattr(launch, "__file__", str(package / "launch.py"))
    key = launch.server_key()
    assert launch.server_key() == key
    monkeypatch.setenv("PWD", "/elsewhere")  # set by shells, read by no import
    monkeypatch.setenv("DVC_STAGE", "themes")  # dvc repro names each stage's command
    assert launch.server_key() == key
    os.utime(package / "stage.py", ns=(1, 1))  # an edited module: a new server
    changed = launch.server_key()
    assert changed != key
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # read when numpy is imported
    assert launch.server_key() != changed


def test_no_server_in_a_folder_others_can_reach(tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o755)
    monkeypatch.setenv("TEXTMINE_SERVER_DIR", str(folder))
    assert launch.server_dir() is None
    assert launch.served(["language", "--help"]) is None
    assert not list(folder.iterdir())


def test_the_served_commands_are_the_pipeline_stages():
    from pipeline.cli import STAGES

    assert launch.SERVED == STAGES
