"""The built site in a real browser (Debian's Chromium driven by Playwright), at a desk's width and a phone's.

Every page in the table of contents loads with no console error at all; images load and carry alt text;
no page shows a traceback, a machine path, Python's True/False, "inf", a code constant or a stray
backtick in its prose; every chapter opens with its verdict box and the landing page carries badges;
nothing overflows sideways on a phone and no table is wider than its column (under 600 px tables read as
cards); glued values take the weight of the text around them; every figure is shown at 60% of its natural
width or more, its tick text above the minimum size.
Screenshots of every page at both widths go to _build/screenshots (a CI artifact).
"""
import re
import socket
import subprocess
import sys
import time
from urllib.parse import urljoin

import pytest
from playwright.sync_api import sync_playwright

from deepenough.lab import plotting
from deepenough.machinery import ledger, paths, pdf, runner

pytestmark = pytest.mark.book

PAGES = [p.relative_to(runner.ROOT).with_suffix(".html").as_posix() for p in runner.toc_files()]
CHAPTERS = {p.relative_to(runner.ROOT).with_suffix(".html").as_posix() for name, p in runner.notebooks().items()
            if runner.meta(p).get("claims")}
WIDTHS = {"desk": 1280, "phone": 390}
MIN_TICK_PX = {"desk": 9.0, "phone": 9.0}
MIN_SHOWN = 0.6   # of a figure's natural width, at either width
SHOTS = paths.BUILD / "screenshots"
# Prose only: code, math and the cells' own output blocks are left out before these are checked.
PROSE = """a => { const c = a.cloneNode(true);
  c.querySelectorAll('pre, code, script, style, .math, mjx-container, .cell_input, .highlight')
   .forEach(e => e.remove());
  return c.textContent; }"""
TOO_WIDE = "ts => ts.filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).map(t => t.innerText.slice(0, 60))"
LEAKS = {
    "a machine path": re.compile(r"(/tmp/|/work/|/root/|/home/\w|site-packages)"),
    "Python's True or False": re.compile(r"\b(True|False)\b"),
    "inf": re.compile(r"\b-?inf\b"),
    "a code constant": re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z][A-Z0-9_]*\b"),  # SERIAL_GAIN, not the Q4_1 format
    "a stray backtick": re.compile(r"`"),
    "a number in e-notation": re.compile(r"\b\d+(\.\d+)?e[-+]?\d+\b"),
    "a negative zero": re.compile(r"(?<![\w.])[-−]0(\.0+)?(?![\d.])"),
    "a doubled word": re.compile(r"\b(the|a|an|of|to|in|is|and)\s+\1\b", re.IGNORECASE),
}


@pytest.fixture(scope="module")
def site(built_book):
    with socket.socket() as s:  # a free port; the server's own log goes nowhere, so it can never fill a pipe
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=built_book,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        yield chromium
        chromium.close()


def open_page(browser, site, page_path, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text + " " + str(m.location)))
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = page.goto(f"{site}/{page_path}", wait_until="load")
    assert response.ok, f"{page_path}: HTTP {response.status}"
    page.wait_for_load_state("networkidle")
    return page, errors


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page_path", PAGES)
def test_page_reads_cleanly(site, browser, page_path, width):
    page, errors = open_page(browser, site, page_path, WIDTHS[width])
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{page_path.replace('/', '_')[:-5]}-{width}.png", full_page=True)
    assert not errors, f"{page_path}: console errors {errors}"

    images = page.eval_on_selector_all(
        "article img", "imgs => imgs.map(i => ({src: i.src, w: i.naturalWidth, shown: i.clientWidth, alt: i.alt}))")
    figures = page.eval_on_selector_all("article figure", "fs => fs.map(f => f.id + ':' + !!f.querySelector('img'))")
    assert all(f.endswith(":true") for f in figures), f"{page_path}: figures rendered without an image: {figures}"
    for image in images:
        assert image["w"] > 0, f"{page_path}: image {image['src']} did not load"
        assert image["alt"].strip() and not image["alt"].endswith(".png"), f"{page_path}: {image['src']} lacks alt text"
        if "_images/" in image["src"] or image["src"].startswith("data:"):
            assert image["shown"] >= MIN_SHOWN * image["w"], (
                f"{page_path}: a figure is shown at {image['shown']} of its {image['w']} px at the {width} width")
            tick_px = plotting.TICK_PT * plotting.DPI / 72 * image["shown"] / image["w"]
            assert tick_px >= MIN_TICK_PX[width], (
                f"{page_path}: a figure is drawn at {image['shown']} of its {image['w']} px, so its tick text is "
                f"{tick_px:.1f} px at the {width} width (minimum {MIN_TICK_PX[width]}): narrow it or stack its panels")

    assert "Traceback" not in page.inner_text("article"), f"{page_path} shows a traceback"
    assert not page.query_selector_all("article .output.error, article .output.traceback, article .output.stderr"), \
        f"{page_path} shows error output"
    bold_glue = page.eval_on_selector_all(
        "article p span.pasted-text",
        "ss => ss.filter(s => getComputedStyle(s).fontWeight !== getComputedStyle(s.parentElement).fontWeight)"
        ".map(s => s.innerText.slice(0, 40))")
    assert not bold_glue, f"{page_path}: glued text bolder or lighter than the text around it: {bold_glue[:3]}"
    prose = page.eval_on_selector("article", PROSE)
    for what, pattern in LEAKS.items():
        found = pattern.findall(prose)
        assert not found, f"{page_path}: the prose shows {what}: {found[:5]}"

    if width == "phone":
        wide = page.eval_on_selector_all("article table", TOO_WIDE)
        assert not wide, f"{page_path}: tables wider than their column at {WIDTHS[width]} px: {wide}"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{page_path}: the page scrolls sideways by {overflow} px at {WIDTHS[width]} px"
    if page_path in CHAPTERS:
        assert page.query_selector("article .admonition:has-text('The verdict at a glance') .sd-badge"), \
            f"{page_path}: no verdict box with a badge under the title"
        downloads = page.eval_on_selector_all("article a.download", "as => as.map(a => a.href)")
        assert any(d.endswith("results.json") for d in downloads), f"{page_path}: no results download"
        for href in downloads:
            response = page.request.get(href)
            assert response.ok, f"{page_path}: download {href} gives HTTP {response.status}"
            if href.endswith(".json"):
                assert response.json(), href
    page.close()


def test_index_redirects_into_the_book_and_the_landing_page_and_ledger_carry_every_claim(site, browser):
    page = browser.new_page()
    page.goto(f"{site}/index.html")
    page.wait_for_url(re.compile(r"intro\.html"))
    assert len(page.query_selector_all("article table .sd-badge")) >= 10, "the claims table needs a badge per claim"
    page.goto(f"{site}/book/ledger.html")
    text = page.inner_text("article")
    registry = ledger.claims()
    for cid in registry:
        assert re.search(rf"\b{cid}\b", text), f"{cid} missing from the ledger page"
    parts = len(registry) + sum("untestable" in c for c in registry.values())
    assert len(page.query_selector_all("article .sd-row > .sd-col")) == parts, "one card per claim and untestable part"
    page.close()


def test_the_landing_page_links_a_pdf_that_holds_every_page(site, browser):
    page = browser.new_page()
    page.goto(f"{site}/book/intro.html")
    href = page.get_attribute("article a[href$='deep-enough.pdf']", "href")
    assert href, "the landing page links the PDF"
    response = page.request.get(urljoin(page.url, href))
    assert response.ok and response.body()[:5] == b"%PDF-", f"{href}: HTTP {response.status}"
    bookmarks = "".join("".join(t.split()) for t in pdf.outline_titles(response.body()))  # Chromium may split one
    for page_path in PAGES:
        page.goto(f"{site}/{page_path}")
        title = page.eval_on_selector("article h1", "h => h.firstChild.textContent")
        assert "".join(title.split()) in bookmarks, f"{page_path}: '{title.strip()}' is not among the PDF's bookmarks"
    page.close()


def plain(text: str) -> str:
    """Text as compared: no Markdown marks, straight quotes (the site curls them), single spaces."""
    for curly, straight in (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"')):
        text = text.replace(curly, straight)
    return " ".join(text.replace("*", "").replace("`", "").split())


def test_the_ledger_shows_each_verdict_and_deciding_number_as_its_chapter_page_does(site, browser):
    """One source of truth: the ledger's card for a claim shows the verdict and deciding number of the very
    results file its chapter page shows (the one the page offers for download)."""
    page = browser.new_page()
    page.goto(f"{site}/book/ledger.html")
    cards = [plain(c) for c in page.eval_on_selector_all("article .sd-card", "cs => cs.map(c => c.innerText)")]
    for chapter_path in sorted(CHAPTERS):
        page.goto(f"{site}/{chapter_path}")
        box = plain(page.inner_text("article .admonition:has-text('The verdict at a glance')"))
        hrefs = page.eval_on_selector_all("article a.download", "as => as.map(a => a.href)")
        results = page.request.get(next(h for h in hrefs if h.endswith("results.json"))).json()
        for v in results["verdicts"]:
            assert f"{v['claim']} {v['verdict']}" in box, f"{chapter_path}: the box does not show {v['claim']}"
            card = next(c for c in cards if c.startswith(f"{v['claim']} ") and "Why not:" not in c)
            assert v["verdict"] in card[:40], f"ledger card {v['claim']} does not show {v['verdict']}: {card[:80]}"
            if v.get("key"):
                m = results["measurements"][v["key"]]
                assert plain(f"{m['what']}: {ledger.format_number(m)}") in card, (
                    f"ledger card {v['claim']}: deciding number differs from {chapter_path}'s results")
    page.close()
