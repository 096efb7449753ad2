"""The report in a real browser: headless Chromium renders index.html.

Checks, after rendering: every section and figure id is in the DOM (``--dump-dom``),
each figure holds an <svg>, and the page logs nothing to the console: Chromium run with
``--enable-logging=stderr --v=0`` prints every console message and uncaught exception of
the page as a ``CONSOLE`` line on stderr; the report has no scripts, so any such line
is a failure. The detector itself is checked on a page that does log an error, so the
test cannot pass by missing the log format. A screenshot (1280 x 4000) is kept in
``$CARTKIT_ARTIFACTS_DIR`` when set (CI uploads it), else in the test's tmp folder.

Skipped, with a message, only when no Chromium binary is installed; nothing is
installed at test time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_fixture import parse_page, written_seed_report

pytestmark = pytest.mark.browser

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p and Path(p).exists()), None)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
SECTION_IDS = ("toc", "summary", "plan", "baseline", "responses", "response-rates", "course-response-survival", "adverse-events",
               "grade-compare", "toxicity-grades", "kinetics", "cytokines", "comparisons", "grading-systems",
               "disagreements", "reproduction", "methods", "warnings")
FIGURE_IDS = ("patient-course", "best-response", "survival-curves", "car-t-kinetics", "expansion-peaks", "toxicity-grade-bars", "cytokine-kinetics", "cytokine-peaks")
CONSOLE_LINE = re.compile(r":CONSOLE[:(]|Uncaught|console\.(error|warn)", re.IGNORECASE)

if CHROMIUM is None:  # pragma: no cover - depends on the machine
    pytest.skip("no Chromium binary (/usr/bin/chromium, chromium, chromium-browser, google-chrome) found: "
                "install Debian's 'chromium' package to run the browser test", allow_module_level=True)


def _chromium(tmp: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def console_errors(stderr: str, page: str) -> list[str]:
    """Console messages and uncaught exceptions that Chromium logged for ``page``."""
    return [line for line in stderr.splitlines() if CONSOLE_LINE.search(line) and
            (page in line or "Uncaught" in line)]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    return written_seed_report(tmp_path_factory)[0]


def test_console_detector_sees_errors(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><p id="x">x</p>'
                   '<script>console.error("report-test-error"); throw new Error("report-test-throw");</script>'
                   "</body></html>", encoding="utf-8")
    run = _chromium(tmp_path, "--dump-dom", bad.as_uri())
    assert 'id="x"' in run.stdout
    errors = console_errors(run.stderr, bad.as_uri())
    assert any("report-test-error" in e for e in errors), run.stderr[-2000:]
    assert any("report-test-throw" in e for e in errors), run.stderr[-2000:]


def test_report_renders_every_section_and_figure_without_console_errors(report, tmp_path):
    page = (report / "index.html").as_uri()
    run = _chromium(tmp_path, "--dump-dom", page)
    assert run.returncode == 0, run.stderr[-2000:]
    dom = parse_page(run.stdout)
    missing = [i for i in SECTION_IDS if i not in dom.ids]
    assert not missing, missing
    for fid in FIGURE_IDS:
        assert dom.tag_of.get(fid) == "figure", fid
        assert fid in dom.figures_with_svg, fid
    assert console_errors(run.stderr, page) == []


def test_screenshot_is_kept(report, tmp_path):
    out_dir = Path(os.environ.get("CARTKIT_ARTIFACTS_DIR") or tmp_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    shot = out_dir / "report-screenshot.png"
    shot.unlink(missing_ok=True)
    page = (report / "index.html").as_uri()
    run = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,4000", page)
    assert run.returncode == 0, run.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 4000)
    assert console_errors(run.stderr, page) == []
