"""Smoke test in a real headless Chromium: build a one-condition segment.

Debian's chromium (``/usr/bin/chromium``, installed by ``.ci/install-browser``)
is driven by playwright; the app runs on 127.0.0.1 on a free port with a
database of its own. Without the browser the test is skipped, except in CI
(``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_app import ROOT, build_db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 900}  # a laptop with the sidebar open
# Texts of metric labels and values cut short (shown with an ellipsis).
CUT_METRICS = """() => [...document.querySelectorAll(
    '[data-testid=stMetricLabel], [data-testid=stMetricLabel] *, '
    + '[data-testid=stMetricValue], [data-testid=stMetricValue] *')]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)"""


def browser_or_skip() -> None:
    in_ci = os.environ.get("CI", "").lower() == "true"
    if not CHROMIUM.exists():
        if in_ci:
            pytest.fail(f"{CHROMIUM} is missing in CI: run .ci/install-browser")
        pytest.skip(f"{CHROMIUM} is not installed (run .ci/install-browser); "
                    "CI is not set, so the browser smoke test is skipped")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} in {timeout:.0f} s")


@pytest.fixture
def server(tmp_path):
    browser_or_skip()
    build_db(tmp_path / "browser.duckdb")
    shutil.copytree(ROOT / "data" / "segments", tmp_path / "segments")
    port = free_port()
    env = {**os.environ, "WORKBENCH_DB": str(tmp_path / "browser.duckdb"),
           "WORKBENCH_SEGMENTS": str(tmp_path / "segments")}
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_builder_counts_a_one_condition_segment_in_chromium(server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{server}/builder", wait_until="domcontentloaded")
            expect(page.get_by_role("heading", name="Builder")).to_be_visible(
                timeout=30_000)
            members = page.get_by_test_id("stMetric").filter(has_text="Members")
            expect(members).to_contain_text("6", timeout=30_000)

            page.get_by_role("button", name="+ Condition").first.click()
            value = page.get_by_label("Value")
            expect(value).to_be_visible(timeout=30_000)
            value.fill("Anna")
            value.press("Enter")

            expect(members.get_by_test_id("stMetricValue")).to_have_text(
                "1", timeout=30_000)
            assert page.get_by_test_id("stException").count() == 0
            assert page.get_by_test_id("stMetric").count() == 5
            assert page.evaluate(CUT_METRICS) == []
        finally:
            browser.close()
