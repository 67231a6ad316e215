"""The book as one PDF, printed from the built HTML by the project's own Chromium (the browser the tests use).

Every page of the table of contents, in order, goes into one print page (its article only, each from a
new sheet), which Chromium prints with an outline: one bookmark per heading, so the PDF can be navigated
and checked for every chapter.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from bs4 import BeautifulSoup

PDF_NAME = "deep-enough.pdf"
PRINT_PAGE = "print.html"
PRINT_CSS = """
  .bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .header-article, .prev-next-area, footer,
  .headerlink, .toggle-button, .copybtn { display: none !important; }
  section.printed + section.printed { break-before: page; }
  article { max-width: none; }
"""


def print_page(html_dir: Path, pages: list[str]) -> str:
    """One HTML page holding every page's article in order, with the first page's head (styles, math)."""
    first = BeautifulSoup((html_dir / pages[0]).read_text(), "html.parser")
    body = []
    for page in pages:
        article = BeautifulSoup((html_dir / page).read_text(), "html.parser").find("article")
        if article is not None:
            body.append(f'<section class="printed">{article}</section>')
    style = f"<style>{PRINT_CSS}</style>"
    return f"<!DOCTYPE html><html><head>{first.head.decode_contents()}{style}</head><body>{''.join(body)}</body></html>"


def build_pdf(html_dir: Path, pages: list[str]) -> Path | None:
    """Print the book to ``html_dir/deep-enough.pdf``; ``pages`` are paths under ``html_dir``, all in one folder.
    Returns the PDF's path, or None where no Chromium is installed (the HTML book is built all the same)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    from playwright.sync_api import sync_playwright

    printed = html_dir / Path(pages[0]).parent / PRINT_PAGE  # beside the pages, so their relative links hold
    printed.write_text(print_page(html_dir, pages))
    target = html_dir / PDF_NAME
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True)
            page = browser.new_page()
            page.goto(printed.as_uri(), wait_until="load")
            page.wait_for_load_state("networkidle")
            page.pdf(path=target, format="A4", outline=True, tagged=True, print_background=True,
                     margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"})
            browser.close()
    finally:
        printed.unlink()
    return target


def outline_titles(pdf: bytes) -> list[str]:
    """The titles of a PDF's bookmarks (literal or UTF-16 hex strings), as Chromium writes them."""
    titles = []
    for literal, hexed in re.findall(rb"/Title\s*(?:\(((?:[^()\\]|\\.)*)\)|<([0-9A-Fa-f\s]+)>)", pdf):
        if hexed:
            raw = bytes.fromhex(re.sub(rb"\s", b"", hexed).decode())
            titles.append(raw[2:].decode("utf-16-be") if raw[:2] == b"\xfe\xff" else raw.decode("latin-1"))
        else:
            titles.append(re.sub(rb"\\(.)", rb"\1", literal).decode("latin-1"))
    return titles
