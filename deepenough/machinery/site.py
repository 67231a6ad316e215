"""The site: the book's source laid out with executed notebooks, and the HTML built from it.

A chapter whose full record is current is rendered from the record; any other from its quick execution,
with a note saying why the record is not shown. Under every chapter's verdict box, links download the
results the page shows (JSON, its measurements as CSV, and the record's provenance).
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import nbformat

from . import paths, pdf, records
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
            shown = {"results.json": records_dir / info["chapter"] / "results.json",
                     "provenance.json": records_dir / info["chapter"] / "provenance.json"}
        else:
            notebook = nbformat.read(executed, as_version=4)
            note_on_profile(notebook, state, record)
            shown = {"results.json": build / "results" / f"{info['chapter']}.json"}
        downloads = target.parent / "downloads" / info["chapter"]
        for name, path in shown.items():
            if path.exists():
                wanted[downloads / name] = path.read_bytes()
        if shown["results.json"].exists():
            wanted[downloads / "measurements.csv"] = measurements_csv(json.loads(shown["results.json"].read_text()))
            add_downloads(notebook, info["chapter"], list(shown))
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


def measurements_csv(results: dict) -> bytes:
    """A results file's measurements as a table: one row per measurement, its interval and what it is over."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["measurement", "what", "mean", "low", "high", "n", "unit", "over"])
    for key, m in results.get("measurements", {}).items():
        writer.writerow([key, m.get("what", ""), m["mean"], m["low"], m["high"], m.get("n", ""), m.get("unit", ""),
                         m.get("over", "")])
    return out.getvalue().encode()


def add_downloads(notebook, chapter: str, files: list[str]) -> None:
    """Under the verdict box, links to the results the page shows (JSON, its measurements as CSV, and the
    record's provenance when the page shows a record)."""
    labels = {"results.json": "results (JSON)", "provenance.json": "provenance of the record (JSON)"}
    links = [f"{{download}}`{labels[f]} <downloads/{chapter}/{f}>`" for f in files]
    links.insert(1, f"{{download}}`measurements (CSV) <downloads/{chapter}/measurements.csv>`")
    cell = nbformat.v4.new_markdown_cell("Download what this page shows: " + " · ".join(links) + ".")
    cell.metadata["tags"] = ["downloads"]
    boxes = [i for i, c in enumerate(notebook.cells) if c.cell_type == "markdown" and "-at-a-glance" in c.source]
    notebook.cells.insert(boxes[0] + 1 if boxes else 0, cell)


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
    """Stage the source, build the HTML book, then print it to one PDF beside it (deepenough.machinery.pdf)."""
    src = stage(root, build)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(src), "--path-output",
               str(build.parent), "--builder", "html", "-W", "-n", "--keep-going"]
    code = subprocess.run(command, cwd=root).returncode
    if code == 0:
        pages = [p.relative_to(root).with_suffix(".html").as_posix() for p in toc_files(root)]
        printed = pdf.build_pdf(build / "html", pages)
        print(f"pdf: {printed}" if printed else "pdf: no Chromium installed, so no PDF (make install adds it)")
    return code
