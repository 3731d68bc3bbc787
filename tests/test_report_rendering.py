"""The draft as readers open it: LibreOffice converts the DOCX, headless Chromium loads the
HTML from disk with no script running and every figure decoding."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docx import Document
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from summary_fixture import build_tables  # noqa: E402

from pipeline.config import Config, ReportConfig  # noqa: E402
from pipeline.report import render_report  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SOFFICE = shutil.which("soffice")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report-render")
    render_report(build_tables(hostile=True), out, Config(report=ReportConfig(languages=("en",))))
    return out


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=3000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)


@pytest.mark.slow
def test_report_html_in_chromium_runs_no_submitted_script(rendered, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make system-deps)")
    url = (rendered / "chair_summary.html").as_uri()
    result = _chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", url], tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-2000:]
    # Console errors (a script error, a blocked load) would be logged as CONSOLE lines.
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    bad = ("Uncaught", "Refused", "violates", "Failed to load")
    assert not [line for line in console if any(b in line for b in bad)], console
    dom = result.stdout
    title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert "pwned" not in title and title.startswith("Draft summary")
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]
    assert not re.search(r"<script", dom, re.I), "a submitted <script> became an element"
    assert not re.search(r"<img[^>]*onerror", dom, re.I), "a submitted <img> became an element"
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', dom)
    assert len(images) == 3
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            im.load()
            assert im.size[0] > 300 and im.size[1] > 100
    shot = tmp_path / "page.png"
    result = _chromium(["--window-size=1000,1400", f"--screenshot={shot}", url], tmp_path / "p2")
    assert result.returncode == 0 and shot.stat().st_size > 10_000


@pytest.mark.slow
def test_report_docx_opens_and_libreoffice_converts_it_to_pdf(rendered, tmp_path):
    doc = Document(str(rendered / "chair_summary.docx"))
    assert doc.paragraphs[0].text.startswith("Draft summary")
    assert len(doc.inline_shapes) == 3
    if SOFFICE is None:
        pytest.skip("LibreOffice is not installed (make system-deps)")
    profile = (tmp_path / "lo-profile").as_uri()
    result = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(rendered / "chair_summary.docx")],
        capture_output=True, text=True, timeout=120, check=False)
    pdf = tmp_path / "chair_summary.pdf"
    assert result.returncode == 0 and pdf.exists(), result.stderr[-2000:]
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "Summary of the consultation on" in text
