"""The period reports render offline: report.html in headless Chromium, report.pdf with pdftoppm."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from assay.evidence.blobs import BlobStore
from assay.reports.period_pack import build_period_pack
from engine.test_periods import Q2, write_year_ledger

REQUIRE = bool(os.environ.get("ASSAY_REQUIRE_BROWSER"))
CHROMIUM = shutil.which("chromium")
PDFTOPPM = shutil.which("pdftoppm")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("render")
    ledger, key, _digests = write_year_ledger(workspace)
    return build_period_pack(ledger, BlobStore(workspace / "evidence" / "blobs"), key, Q2,
                             "production", workspace / "pack")


def _variance(image: Path) -> float:
    from PIL import Image

    from PIL import ImageStat

    return float(ImageStat.Stat(Image.open(image).convert("L")).var[0])


@pytest.mark.skipif(CHROMIUM is None and not REQUIRE,
                    reason="chromium is not installed and ASSAY_REQUIRE_BROWSER is unset")
def test_html_report_renders_offline(pack: Path, tmp_path: Path) -> None:
    assert CHROMIUM is not None, "ASSAY_REQUIRE_BROWSER is set but chromium is not installed"
    url = (pack / "report.html").as_uri()
    common = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert dom.count('class="control-row"') == 3
    assert "<svg" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1200,1600", url],
                   capture_output=True, timeout=120, check=True)
    assert _variance(shot) > 100


@pytest.mark.skipif(PDFTOPPM is None and not REQUIRE,
                    reason="pdftoppm is not installed and ASSAY_REQUIRE_BROWSER is unset")
def test_pdf_report_pages_not_blank(pack: Path, tmp_path: Path) -> None:
    assert PDFTOPPM is not None, "ASSAY_REQUIRE_BROWSER is set but pdftoppm is not installed"
    subprocess.run([PDFTOPPM, "-r", "40", "-png", str(pack / "report.pdf"), str(tmp_path / "page")],
                   check=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 4
    assert _variance(pages[0]) > 10
    assert max(_variance(page) for page in pages) > 100


def test_pdf_has_outline_and_svg_charts(pack: Path) -> None:
    pdf = (pack / "report.pdf").read_bytes()
    # WeasyPrint writes the catalog, with its /Outlines entry, into compressed object streams.
    streams = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            streams.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    assert any(b"/Outlines" in stream for stream in streams)
    html = (pack / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html
    assert 'href="evidence/sha256/' in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
