"""Execute chapters with papermill, then build the HTML book from the executed notebooks.

A chapter is a MyST Markdown notebook listed in ``_toc.yml`` whose front matter carries a
``deepenough:`` block (chapter name, claims, time budget, expected verdicts). Each runs in its own
kernel; a failure is reported with the chapter and the cell, and the other chapters still run.
Summary pages (the claims ledger, the execution report) run after every chapter, since they read the
results files the chapters wrote.

A chapter re-executes only when something it depends on changed (see ``cache_key``). A change to its
prose alone re-renders the page: the stored outputs are merged into the fresh text.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path

import jupytext
import nbformat
import papermill
import yaml
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError

from ..lab.smollm import GGUF_SHA256
from . import paths
from .results import PROFILES, TRACKED_PACKAGES
from .seeds import STABILITY

ROOT, PACKAGE, BUILD = paths.ROOT, paths.PACKAGE, paths.BUILD
# A chapter is stopped at twice its declared budget (a cell, or the chapter as a whole). On a slower or
# busy machine, raise the factor with DEEPENOUGH_BUDGET_SLACK rather than editing budgets.
BUDGET_SLACK = float(os.environ.get("DEEPENOUGH_BUDGET_SLACK", 2.0))
# Read by the results contract and the verdict box rather than imported, so the import graph does not find them.
SHARED_DATA = ("machinery/results.schema.json", "machinery/claims.yml")
# Summary pages render the other chapters' results, so the ledger's code and the claims registry count too.
SUMMARY_CODE = ("machinery/ledger.py", "machinery/runner.py", "machinery/claims.yml")


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


def code_digest(notebook) -> str:
    """The chapter's code cells, their metadata and its front matter; prose and ``expected`` left out."""
    info = dict(notebook.metadata.get("deepenough", {}))
    for words in ("expected", "scope"):  # the regression snapshot and the ledger's scope lines: never executed
        info.pop(words, None)
    parts = [json.dumps(info, sort_keys=True)]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            parts += [cell.source, json.dumps(dict(cell.metadata), sort_keys=True)]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def package_imports(source: str, module: str) -> set[str]:
    """The ``deepenough`` modules (or names in them) that ``source``, the text of module ``module``, imports."""
    found = set()
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))  # magics
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + ([node.module] if node.module else []))
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] == "deepenough"}


def module_file(name: str, package: Path) -> Path | None:
    """The file of module ``deepenough.x.y`` inside ``package`` (a package's ``__init__.py``), if there is one."""
    base = package.joinpath(*name.split(".")[1:])
    for f in (base.with_suffix(".py"), base / "__init__.py"):
        if f.is_file():
            return f
    return None


def imported_files(sources: list[str], package: Path) -> set[Path]:
    """The package files that code in ``sources`` imports, directly or through other package modules."""
    pending = [(s, "deepenough.__main__") for s in sources]
    files: set[Path] = set()
    while pending:
        source, module = pending.pop()
        for name in package_imports(source, module):
            parts = name.split(".")
            for f in filter(None, (module_file(".".join(parts[:i]), package) for i in range(1, len(parts) + 1))):
                if f not in files:
                    files.add(f)
                    dotted = ".".join(("deepenough", *f.relative_to(package).with_suffix("").parts))
                    pending.append((f.read_text(), dotted))  # an __init__'s relative imports resolve from its package
    return files


def dependency_files(name: str, code: list[str] | None = None, summary: bool = False,
                     package: Path | None = None) -> list[Path]:
    """The package files a chapter's execution depends on: its module and data, and what its code imports.

    ``code`` is the notebook's code cells. Only the lab and machinery modules the chapter actually imports
    (directly or through one another) count, so editing a lab module re-executes the chapters that use it.
    """
    package = package or PACKAGE
    roots = [package / "chapters" / f"{name}.py", package / "data" / name,
             *(package / p for p in SHARED_DATA + (SUMMARY_CODE if summary else ()))]
    files = imported_files([*(code or []), *(r.read_text() for r in roots[:1] if r.exists())], package)
    for r in roots:
        files |= set(f for f in r.rglob("*") if f.is_file()) if r.is_dir() else {r} if r.exists() else set()
    return sorted(f for f in files if "__pycache__" not in f.parts)


def installed_versions() -> dict[str, str]:
    """Versions of the tracked packages as installed (what the kernel imports), not as requirements.txt says."""
    found = {}
    for name in TRACKED_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def cache_key(path: Path, parameters: dict, package: Path | None = None) -> str:
    """Everything an executed chapter depends on, hashed.

    Its code cells and front matter (not its prose), its chapter module and data folder, the package
    modules its code imports (the lab modules it uses, the results contract), the installed versions of
    the tracked packages, the Python version, the model file and the parameters. Editing one chapter's
    module re-executes that chapter only; editing a lab module, the chapters that import it.
    """
    package = package or PACKAGE
    notebook = jupytext.read(path)
    info = notebook.metadata.get("deepenough", {})
    digest = hashlib.sha256(code_digest(notebook).encode())
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    for f in dependency_files(info.get("chapter", path.stem), code, bool(info.get("summary")), package):
        digest.update(f.relative_to(package).as_posix().encode() + b"\x00" + f.read_bytes())
    environment = {"python": platform.python_version(), "packages": installed_versions(), "model": GGUF_SHA256}
    digest.update(json.dumps(environment, sort_keys=True).encode())
    digest.update(json.dumps(parameters, sort_keys=True).encode())
    return digest.hexdigest()


def text_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hide_injected_parameters(notebook) -> None:
    """Papermill's injected-parameters cell holds machine paths: keep it in the notebook, off the page."""
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")


def with_fresh_prose(source: Path, old):
    """The notebook ``old`` (an execution of ``source``) with the current text of ``source`` and its outputs.

    Used when only prose changed: the code cells are the same (the cache key says so), so their outputs
    still belong to them, in order.
    """
    fresh = jupytext.read(source)
    injected = [c for c in old.cells if "injected-parameters" in c.metadata.get("tags", [])]
    ran = [c for c in old.cells if c.cell_type == "code" and c not in injected]
    code = [c for c in fresh.cells if c.cell_type == "code"]
    if [c.source for c in code] != [c.source for c in ran]:
        raise ChapterError(f"{source.name}: code cells differ from the stored execution; re-run it")
    stored, cells = iter(ran), []
    for cell in fresh.cells:
        if cell.cell_type == "code":
            done = next(stored)
            cell.outputs, cell.execution_count, cell.metadata = done.outputs, done.execution_count, done.metadata
        cells.append(cell)
        if "parameters" in cell.metadata.get("tags", []):
            cells += injected
    fresh.cells = cells
    fresh.metadata = {**old.metadata, **fresh.metadata}
    return fresh


def merge_outputs(source: Path, executed: Path) -> None:
    """Rewrite ``executed`` with the fresh text of ``source`` and the outputs it already holds."""
    atomic_write_notebook(with_fresh_prose(source, nbformat.read(executed, as_version=4)), executed)


def atomic_write_notebook(notebook, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    nbformat.write(notebook, tmp)
    os.replace(tmp, path)


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
    # where the results file goes changes nothing in it, so it is not part of the key
    key = cache_key(path, {k: v for k, v in parameters.items() if k != "results_dir"})
    key_file, text_file = executed_dir / f"{name}.key", executed_dir / f"{name}.text"
    fresh = executed.exists() and (results.exists() or info.get("summary"))
    if not force and fresh and key_file.exists() and key_file.read_text() == key:
        message = "unchanged since its last run (cached)"
        if not (text_file.exists() and text_file.read_text() == text_digest(path)):
            merge_outputs(path, executed)
            text_file.write_text(text_digest(path))
            message = "only its prose changed: re-rendered with the stored outputs, not re-executed"
        return Outcome(name, True, message, executed, results if results.exists() else None, cached=True)

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
        reason = (f"a cell ran past {limit:.0f} s ({BUDGET_SLACK:g} × the {profile} budget)"
                  if isinstance(e, CellTimeoutError)
                  else f"its kernel died ({e})")
        return Outcome(name, False, f"chapter {name!r} stopped: {reason}. Partial notebook in {executed}", executed,
                       seconds=time.perf_counter() - start)
    finally:
        source_nb.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    if seconds > limit:
        return Outcome(name, False, f"chapter {name!r} took {seconds:.0f} s, over {BUDGET_SLACK:g} × its {profile} "
                       f"budget "
                       f"of {info['budget_s'][profile]} s", executed, seconds=seconds)
    if not info.get("summary") and not results.exists():
        return Outcome(name, False, f"chapter {name!r} ran but did not write {results}", executed, seconds=seconds)
    ran = nbformat.read(executed, as_version=4)
    hide_injected_parameters(ran)
    atomic_write_notebook(ran, executed)
    key_file.write_text(key)
    text_file.write_text(text_digest(path))
    return Outcome(name, True, f"ran in {seconds:.0f} s", executed, results if results.exists() else None, seconds)


def cached(name: str, profile: str, seed: int, root: Path, build: Path) -> bool:
    """Whether the chapter's stored execution still matches what it depends on (so it need not run)."""
    try:
        page = notebooks(root)[name]
    except KeyError:
        return False
    key_file = build / "executed" / f"{name}.key"
    return key_file.exists() and (build / "results" / f"{name}.json").exists() and \
        key_file.read_text() == cache_key(page, {"profile": profile, "seed": int(seed)})


def run_in_worker(name: str, profile: str, seed: int, force: bool, root: Path, build: Path, threads: int) -> Outcome:
    """One chapter in a worker process, its kernel limited to ``threads`` threads."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    try:
        return run_chapter(name, profile, seed, force, root, build)
    except ChapterError as e:
        return Outcome(name, False, str(e))


def last_wall_time(name: str, build: Path, default: float) -> float:
    """How long the chapter took last time it ran here (its budget if it never did)."""
    try:
        return json.loads((build / "results" / f"{name}.json").read_text())["wall_time_s"]
    except (OSError, ValueError, KeyError):
        return default


def default_jobs() -> int:
    """Two at a time where there are two cores (measured faster on the whole book); DEEPENOUGH_JOBS=1 for one."""
    return int(os.environ.get("DEEPENOUGH_JOBS", min(2, os.cpu_count() or 1)))


def run_all(profile: str = "quick", seed: int = 0, force: bool = False, root: Path = ROOT,
            build: Path = BUILD, jobs: int | None = None) -> list[Outcome]:
    """Run every notebook page, ``jobs`` chapters at a time; summary pages last, re-run whenever a chapter ran.

    With ``jobs`` > 1 the cores are shared out: each chapter's kernel gets cpu_count / jobs threads (tiny
    models gain little from a second thread, so two chapters side by side finish sooner than in turn).
    """
    jobs = jobs or default_jobs()
    pages = notebooks(root)
    chapters = [n for n, p in pages.items() if not meta(p).get("summary")]
    if jobs > 1:  # longest first, so the last chapter to start is a short one
        chapters.sort(key=lambda n: -last_wall_time(n, build, meta(pages[n])["budget_s"][profile]))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    done: dict[str, Outcome] = {}

    def report(outcome: Outcome) -> None:
        print(f"[{'ok' if outcome.ok else 'FAILED'}] {outcome.chapter}: {outcome.message}", flush=True)
        done[outcome.chapter] = outcome

    stale = [n for n in chapters if force or not cached(n, profile, seed, root, build)]
    for name in (n for n in chapters if n not in stale):  # cheap: no worker processes for a rebuild
        report(run_chapter(name, profile, seed, False, root, build))
    if jobs > 1 and len(stale) > 1:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_in_worker, n, profile, seed, force, root, build, threads) for n in stale]
            for future in as_completed(futures):
                report(future.result())
    else:
        for name in stale:
            try:
                report(run_chapter(name, profile, seed, force, root, build))
            except ChapterError as e:
                report(Outcome(name, False, str(e)))
    for name in (n for n in pages if n not in chapters):
        rerun = force or any(not o.cached for o in done.values())
        try:
            report(run_chapter(name, profile, seed, rerun, root, build))
        except ChapterError as e:
            report(Outcome(name, False, str(e)))
    return [done[n] for n in pages]


def stability(name: str, seeds=STABILITY, profile: str = "quick", root: Path = ROOT,
              build: Path = BUILD) -> dict[int, dict[str, str]]:
    """The chapter's verdicts at each seed (each run in its own build folder, so cached runs are reused)."""
    found = {}
    for seed in seeds:
        folder = build / "stability" / f"seed-{seed}"
        outcome = run_chapter(name, profile, seed, root=root, build=folder)
        if not outcome.ok:
            raise ChapterError(outcome.message)
        data = json.loads(outcome.results.read_text())
        found[seed] = {v["claim"]: v["verdict"] for v in data["verdicts"]}
    return found


def stage(root: Path = ROOT, build: Path = BUILD, records_dir: Path | None = None) -> Path:
    """Lay out the book's source with executed notebooks in place of the chapters' MyST files.

    A chapter whose full record is current is rendered from the record's outputs; any other from its quick
    execution, with a note saying the record is stale or missing. Files whose content has not changed
    are left untouched, so Sphinx's incremental build has nothing to redo when nothing changed.
    """
    from . import records

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
