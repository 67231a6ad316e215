"""Execute chapters with papermill, then build the HTML book from the executed notebooks.

A chapter is a MyST Markdown notebook listed in ``_toc.yml`` whose front matter carries a
``deepenough:`` block (chapter name, claims, time budget, expected verdicts). Each runs in its own
kernel; a failure is reported with the chapter and the cell, and the other chapters still run.
Summary pages (the claims ledger, the execution report) run after every chapter, since they read the
results files the chapters wrote.
"""
from __future__ import annotations

import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import jupytext
import papermill
import yaml
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError

from .results import PROFILES
from ..lab.smollm import GGUF_SHA256

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "deepenough"
BUILD = ROOT / "_build"
EXECUTED = BUILD / "executed"
RESULTS = BUILD / "results"
SOURCE = BUILD / "src"
# A chapter is stopped at twice its declared budget (a cell, or the chapter as a whole). On a slower or
# busy machine, raise the factor with DEEPENOUGH_BUDGET_SLACK rather than editing budgets.
BUDGET_SLACK = float(os.environ.get("DEEPENOUGH_BUDGET_SLACK", 2.0))


class ChapterError(RuntimeError):
    """Raised for a chapter that cannot run; the message names the chapter and what to do."""


@dataclass
class Outcome:
    chapter: str
    ok: bool
    message: str
    executed: Path | None = None
    results: Path | None = None
    seconds: float = 0.0
    cached: bool = False


def toc_files(root: Path = ROOT) -> list[Path]:
    """The pages of the book in reading order, as source paths."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    entries = [toc["root"]]
    for part in toc.get("parts", [toc]):
        entries += [c["file"] for c in part.get("chapters", [])]
    return [root / f"{e}.md" for e in entries]


def meta(path: Path) -> dict | None:
    """A page's ``deepenough`` front matter, or None for a plain (unexecuted) page."""
    return jupytext.read(path).metadata.get("deepenough")


def notebooks(root: Path = ROOT) -> dict[str, Path]:
    """Executable pages by chapter name: chapters first, summary pages last."""
    found = {m["chapter"]: p for p in toc_files(root) if (m := meta(p))}
    return dict(sorted(found.items(), key=lambda item: bool(meta(item[1]).get("summary"))))


def parameter_names(notebook) -> set[str]:
    for cell in notebook.cells:
        if "parameters" in cell.metadata.get("tags", []):
            names = set()
            for line in cell.source.splitlines():
                name = line.split("=")[0].strip()
                if "=" in line and name.isidentifier():
                    names.add(name)
            return names
    return set()


def cache_key(path: Path, parameters: dict) -> str:
    """Everything an executed chapter depends on: its source, the package, the pins, the model, the parameters.

    The expected verdicts in the front matter are left out: they are checked by the tests, not executed.
    """
    notebook = jupytext.read(path)
    notebook.metadata.get("deepenough", {}).pop("expected", None)
    digest = hashlib.sha256(jupytext.writes(notebook, fmt="md:myst").encode())
    for f in sorted(PACKAGE.rglob("*")):
        if f.is_file() and f.suffix in {".py", ".json", ".yml", ".csv", ".txt", ".md"}:
            digest.update(f.relative_to(PACKAGE).as_posix().encode() + f.read_bytes())
    digest.update((ROOT / "requirements.txt").read_bytes())
    digest.update(GGUF_SHA256.encode() + json.dumps(parameters, sort_keys=True).encode())
    return digest.hexdigest()


def run_chapter(name: str, profile: str = "quick", seed: int = 0, force: bool = False,
                root: Path = ROOT, build: Path = BUILD) -> Outcome:
    if profile not in PROFILES:
        raise ChapterError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")
    pages = notebooks(root)
    if name not in pages:
        raise ChapterError(f"no chapter named {name!r} in _toc.yml; known: {', '.join(pages)}")
    path, info = pages[name], meta(pages[name])
    notebook = jupytext.read(path)
    results_dir = build / "results"
    parameters = {"profile": profile, "seed": int(seed), "results_dir": str(results_dir)}
    missing = {"profile", "seed"} - parameter_names(notebook)
    if missing:
        raise ChapterError(f"{path.name}: the cell tagged 'parameters' must define {', '.join(sorted(missing))}")
    unknown = set(parameters) - parameter_names(notebook)
    if unknown:
        raise ChapterError(f"{path.name}: parameter(s) {', '.join(sorted(unknown))} not defined in its parameters cell")

    executed_dir = build / "executed"
    executed_dir.mkdir(parents=True, exist_ok=True)
    executed = executed_dir / f"{name}.ipynb"
    results = results_dir / f"{name}.json"
    key = cache_key(path, parameters)
    key_file = executed_dir / f"{name}.key"
    fresh = executed.exists() and (results.exists() or info.get("summary"))
    if not force and fresh and key_file.exists() and key_file.read_text() == key:
        return Outcome(name, True, "unchanged since its last run (cached)", executed,
                       results if results.exists() else None, cached=True)

    key_file.unlink(missing_ok=True)
    results.unlink(missing_ok=True)  # a failed run must not leave an older run's verdicts in the ledger
    source_nb = executed_dir / f"{name}.source.ipynb"
    jupytext.write(notebook, source_nb)
    limit = BUDGET_SLACK * info["budget_s"][profile]
    os.environ["HF_HUB_OFFLINE"] = "1"
    start = time.perf_counter()
    try:
        papermill.execute_notebook(source_nb, executed, parameters=parameters, kernel_name="python3",
                                   cwd=path.parent, progress_bar=False, execution_timeout=limit)
    except PapermillExecutionError as e:
        first_line = e.source.strip().splitlines()[0] if e.source.strip() else ""
        return Outcome(name, False, f"chapter {name!r} failed in cell {e.exec_count} (`{first_line}`): "
                       f"{e.ename}: {e.evalue}. Traceback in {executed}", executed,
                       seconds=time.perf_counter() - start)
    except (CellTimeoutError, DeadKernelError) as e:
        reason = (f"a cell ran past {limit:.0f} s ({BUDGET_SLACK:g} × the {profile} budget)" if isinstance(e, CellTimeoutError)
                  else f"its kernel died ({e})")
        return Outcome(name, False, f"chapter {name!r} stopped: {reason}. Partial notebook in {executed}", executed,
                       seconds=time.perf_counter() - start)
    finally:
        source_nb.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    if seconds > limit:
        return Outcome(name, False, f"chapter {name!r} took {seconds:.0f} s, over {BUDGET_SLACK:g} × its {profile} budget "
                       f"of {info['budget_s'][profile]} s", executed, seconds=seconds)
    if not info.get("summary") and not results.exists():
        return Outcome(name, False, f"chapter {name!r} ran but did not write {results}", executed, seconds=seconds)
    key_file.write_text(key)
    return Outcome(name, True, f"ran in {seconds:.0f} s", executed, results if results.exists() else None, seconds)


def run_all(profile: str = "quick", seed: int = 0, force: bool = False, root: Path = ROOT,
            build: Path = BUILD) -> list[Outcome]:
    """Run every notebook page; a summary page re-runs whenever any chapter did."""
    outcomes = []
    for name, path in notebooks(root).items():
        rerun = force or (meta(path).get("summary") and any(not o.cached for o in outcomes))
        try:
            outcome = run_chapter(name, profile, seed, rerun, root, build)
        except ChapterError as e:
            outcome = Outcome(name, False, str(e))
        print(f"[{'ok' if outcome.ok else 'FAILED'}] {name}: {outcome.message}", flush=True)
        outcomes.append(outcome)
    return outcomes


def stage(root: Path = ROOT, build: Path = BUILD) -> Path:
    """Lay out the book's source with executed notebooks in place of the chapters' MyST files.

    Files whose content has not changed are left untouched, so Sphinx's incremental build has nothing
    to redo when nothing changed.
    """
    src = build / "src"
    wanted = {src / name: root / name for name in ("_config.yml", "_toc.yml", "references.bib")}
    for page in toc_files(root):
        info = meta(page)
        target = src / page.relative_to(root)
        wanted[target.with_suffix(".ipynb") if info else target] = (
            build / "executed" / f"{info['chapter']}.ipynb" if info else page)
    for asset in (root / "book").rglob("*"):
        if asset.suffix in {".png", ".svg", ".jpg", ".css"}:
            wanted[src / asset.relative_to(root)] = asset
    for existing in (p for p in src.rglob("*") if p.is_file()) if src.exists() else []:
        if existing not in wanted:
            existing.unlink()
    for target, origin in wanted.items():
        if not (target.exists() and filecmp.cmp(origin, target, shallow=False)):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(origin, target)
    return src


def build_html(root: Path = ROOT, build: Path = BUILD) -> int:
    src = stage(root, build)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(src), "--path-output",
               str(build.parent), "--builder", "html", "-W", "-n", "--keep-going"]
    return subprocess.run(command, cwd=root).returncode
