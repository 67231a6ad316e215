"""The site: the book's source laid out with executed notebooks, and the HTML built from it.

A chapter whose full record is current is rendered from the record; any other from its quick execution,
with a note saying why the record is not shown.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

from . import paths, records
from .runner import BUILD, ROOT, meta, toc_files, with_fresh_prose


def stage(root: Path = ROOT, build: Path = BUILD, records_dir: Path | None = None) -> Path:
    """Lay out the book's source with executed notebooks in place of the chapters' MyST files.

    A chapter whose full record is current is rendered from the record's outputs; any other from its quick
    execution, with a note saying the record is stale or missing. Files whose content has not changed
    are left untouched, so Sphinx's incremental build has nothing to redo when nothing changed.
    """
    records_dir = records_dir or paths.RECORDS
    src = build / "src"
    wanted: dict[Path, bytes] = {src / name: (root / name).read_bytes()
                                 for name in ("_config.yml", "_toc.yml", "references.bib") if (root / name).exists()}
    for page in toc_files(root):
        info = meta(page)
        target = src / page.relative_to(root)
        if not info:
            wanted[target] = page.read_bytes()
            continue
        executed = build / "executed" / f"{info['chapter']}.ipynb"
        if info.get("summary"):
            wanted[target.with_suffix(".ipynb")] = executed.read_bytes()
            continue
        state, record = records.status(info["chapter"], root, records_dir)
        if state == "current":  # the record's outputs under the page's current prose (a prose edit keeps it current)
            notebook = with_fresh_prose(page, nbformat.read(record["notebook"], as_version=4))
            wanted[target.with_suffix(".ipynb")] = nbformat.writes(notebook).encode()
        else:
            notebook = nbformat.read(executed, as_version=4)
            note_on_profile(notebook, state, record)
            wanted[target.with_suffix(".ipynb")] = nbformat.writes(notebook).encode()
    for asset in (root / "book").rglob("*"):
        if asset.suffix in {".png", ".svg", ".jpg", ".css", ".ico", ".js"}:
            wanted[src / asset.relative_to(root)] = asset.read_bytes()
    for existing in (p for p in src.rglob("*") if p.is_file()) if src.exists() else []:
        if existing not in wanted:
            existing.unlink()
    for target, content in wanted.items():
        if not (target.exists() and target.read_bytes() == content):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    return src


def note_on_profile(notebook, state: str, record: dict | None) -> None:
    """Put a visible note under the page title: this is the quick profile, and why the full record is not shown."""
    if state in ("stale", "altered"):
        p = record["provenance"]
        why = (f"the full record (commit `{p['commit']}`, {p['hardware']}, {p['finished'][:10]}) is {state}: "
               + ("the chapter's code has changed since it was made" if state == "stale" else
                  "its notebook or results no longer match the hashes it was recorded with"))
    else:
        why = "this chapter has no full record yet"
    note = nbformat.v4.new_markdown_cell(
        f"```{{admonition}} Quick profile\n:class: warning\nYou are reading the `quick` profile, which CI runs "
        f"on two CPU cores; {why}. Regenerate it with `deepenough record {notebook.metadata['deepenough']['chapter']}`."
        "\n```")
    note.metadata["tags"] = ["profile-note"]
    titles = (i for i, c in enumerate(notebook.cells) if c.cell_type == "markdown" and c.source.startswith("# "))
    title = next(titles, 0)
    notebook.cells.insert(title + 1, note)


def build_html(root: Path = ROOT, build: Path = BUILD) -> int:
    src = stage(root, build)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(src), "--path-output",
               str(build.parent), "--builder", "html", "-W", "-n", "--keep-going"]
    return subprocess.run(command, cwd=root).returncode
