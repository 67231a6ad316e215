"""The built site in a real browser (Debian's Chromium driven by Playwright): every page in the table
of contents loads without console errors, every image has loaded and has alt text, no page shows a
traceback, and the ledger lists C1–C10."""
import re
import subprocess
import sys

import pytest
from playwright.sync_api import sync_playwright

from deepenough.machinery import runner

pytestmark = pytest.mark.book

# The Jupyter Book 1.x theme logs these on every page, with or without our content.
THEME_NOISE = ("Identifier 'THEBE_JS_URL' has already been declared", "Got invalid theme mode", "favicon.ico")
PAGES = [p.relative_to(runner.ROOT).with_suffix(".html").as_posix() for p in runner.toc_files()]


@pytest.fixture(scope="module")
def site(built_book):
    server = subprocess.Popen([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"], cwd=built_book,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port = re.search(r"port (\d+)", server.stdout.readline()).group(1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("page_path", PAGES)
def test_page_loads_cleanly(site, browser, page_path):
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text + " " + str(m.location)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(f"{site}/{page_path}", wait_until="load")
    assert response.ok, f"{page_path}: HTTP {response.status}"
    page.wait_for_load_state("networkidle")
    real = [e for e in errors if not any(noise in e for noise in THEME_NOISE)]
    assert not real, f"{page_path}: console errors {real}"
    images = page.eval_on_selector_all(
        "article img", "imgs => imgs.map(i => ({src: i.src, w: i.naturalWidth, alt: i.alt}))")
    figures = page.eval_on_selector_all("article figure", "fs => fs.map(f => f.id + ':' + !!f.querySelector('img'))")
    assert all(f.endswith(":true") for f in figures), f"{page_path}: figures rendered without an image: {figures}"
    for image in images:
        assert image["w"] > 0, f"{page_path}: image {image['src']} did not load"
        assert image["alt"].strip() and not image["alt"].endswith(".png"), f"{page_path}: image {image['src']} has no alt text"
    text = page.inner_text("article")
    assert "Traceback" not in text, f"{page_path} shows a traceback"
    assert not page.query_selector_all("article .output.error, article .output.traceback, article .output.stderr"), \
        f"{page_path} shows error output"
    page.close()


def test_index_redirects_into_the_book_and_ledger_lists_all_claims(site, browser):
    page = browser.new_page()
    page.goto(f"{site}/index.html")
    page.wait_for_url(re.compile(r"intro\.html"))
    page.goto(f"{site}/book/ledger.html")
    text = page.inner_text("article")
    for i in range(1, 11):
        assert re.search(rf"\bC{i}\b", text), f"C{i} missing from the ledger page"
    page.close()
