"""Every path the project uses, computed once. Nothing else computes a root."""
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
ROOT = PACKAGE.parent
MACHINERY = PACKAGE / "machinery"
LAB = PACKAGE / "lab"
CHAPTERS = PACKAGE / "chapters"
DATA = PACKAGE / "data"
BOOK = ROOT / "book"
TEMPLATE = BOOK / "template"
TOC = ROOT / "_toc.yml"
BIBLIOGRAPHY = ROOT / "references.bib"
CLAIMS = MACHINERY / "claims.yml"
SCHEMA = MACHINERY / "results.schema.json"
BUILD = ROOT / "_build"
RESULTS = BUILD / "results"
EXECUTED = BUILD / "executed"
RECORDS = ROOT / "records"


def chapter_data(chapter: str) -> Path:
    """The folder of data files a chapter reads (part of that chapter's cache key)."""
    return DATA / chapter
DEBATE = ROOT.parent / "shared" / "debate"  # the debate text, when a checkout sits beside it (tests skip otherwise)
