"""Ruff on the pages' code: each page is written as a notebook (jupytext) into a temporary folder and checked
with the project's ruff settings, so the code a chapter runs meets the rules the package does.

Line length is not checked on pages: their glue lines carry whole sentences of prose.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext

from . import paths
from .lint import Problem

RUFF = Path(sys.executable).with_name("ruff")
NOT_ON_PAGES = "E501"
PYTHON = {"name": "python3", "display_name": "Python 3", "language": "python"}


def page_code_problems(pages: list[Path], root: Path = paths.ROOT) -> list[Problem]:
    """Ruff's findings in the code cells of ``pages``, each named by page, cell and line."""
    with tempfile.TemporaryDirectory(prefix="pagecode-") as tmp:
        written = {}
        for page in pages:
            notebook = Path(tmp) / f"{page.stem}.ipynb"
            code = jupytext.read(page, fmt="md:myst")
            code.metadata["kernelspec"] = PYTHON  # ruff skips a notebook that does not say it is Python
            jupytext.write(code, notebook)
            written[str(notebook)] = page
        found = subprocess.run([str(RUFF), "check", "--config", str(root / "pyproject.toml"), "--ignore",
                                NOT_ON_PAGES, "--output-format", "json", *written], capture_output=True, text=True)
    if found.returncode not in (0, 1):
        raise RuntimeError(f"ruff failed on the pages' code: {found.stderr}")
    return [Problem(written[f["filename"]], 1, f"cell {f.get('cell')}, line {f['location']['row']}: "
                    f"{f['code']} {f['message']}", "fix the code cell (ruff's --fix works on the notebook form)")
            for f in json.loads(found.stdout or "[]")]
