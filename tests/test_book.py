"""The HTML book builds with warnings as errors, and its summary pages hold what they promise."""
import pytest

from deepenough.machinery import ledger

pytestmark = pytest.mark.book


def test_book_builds_with_every_page(built_book):
    from deepenough.machinery import runner

    for page in runner.toc_files():
        assert (built_book / page.relative_to(runner.ROOT).with_suffix(".html")).exists(), page


def test_ledger_page_lists_every_registered_claim(built_book):
    html = (built_book / "book" / "ledger.html").read_text()
    for cid, claim in ledger.claims().items():
        labels = [f"{cid} {claim['part']}", f"{cid} {claim['untestable']['part']}"] if "part" in claim else [cid]
        for label in labels:
            assert f"<strong>{label}</strong>" in html, f"{label} missing from the ledger"
