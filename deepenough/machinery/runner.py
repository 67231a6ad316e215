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
import copy
import fcntl
import functools
import hashlib
import json
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path

import jupytext
import nbformat
import papermill
import yaml
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError
from papermill.translators import PythonTranslator

from ..lab.smollm import GGUF_SHA256
from . import modelcheck, paths
from .results import PROFILES, TRACKED_PACKAGES
from .seeds import STABILITY

ROOT, PACKAGE, BUILD = paths.ROOT, paths.PACKAGE, paths.BUILD


def number_from_environment(name: str, default: float, kind=float, least: float = 0) -> float:
    """A positive setting from the environment, refused with a clear message when it is not one."""
    text = os.environ.get(name)
    try:
        value = default if text is None else kind(text)
    except ValueError:
        raise SystemExit(f"error: {name}={text!r} is not a number") from None
    if value <= least:
        raise SystemExit(f"error: {name} must be more than {least:g}, not {text}")
    return value


# A budget is a performance figure: a run over it finishes and is reported, with its time scaled to a quiet
# machine by a reference workload timed beside it; the tests fail on that scaled time past BUDGET_SLACK x
# the budget, never on wall time alone. A cell is stopped only past HANG_FACTOR x the budget (a hang).
BUDGET_SLACK = number_from_environment("DEEPENOUGH_BUDGET_SLACK", 2.0)
HANG_FACTOR = 10.0
REFERENCE_REPEATS = 1000
QUIET_REFERENCE_S = 0.1  # reference_seconds() on this project's 2-core machine with nothing else running
# Read by the results contract rather than imported, so the import graph does not find it. The claims registry
# counts by entry: a chapter's key covers its own claims' entries, so registering a new claim re-runs nothing.
SHARED_DATA = ("machinery/results.schema.json",)
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
    quiet_seconds: float | None = None    # the run's time scaled to a quiet machine (see BUDGET_SLACK)


def toc_files(root: Path = ROOT) -> list[Path]:
    """The pages of the book in reading order, as source paths."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    entries = [toc["root"]]
    for part in toc.get("parts", [toc]):
        entries += [c["file"] for c in part.get("chapters", [])]
    return [root / f"{e}.md" for e in entries]


def meta(path: Path) -> dict | None:
    """A page's ``deepenough`` front matter, or None for a plain (unexecuted) page."""
    return copy.deepcopy(front_matter(Path(path).read_text()))


@functools.cache
def front_matter(text: str) -> dict | None:
    """Parsing a page takes tens of milliseconds and the suite asks hundreds of times: once per text."""
    return jupytext.reads(text, fmt="md:myst").metadata.get("deepenough")


def notebooks(root: Path = ROOT) -> dict[str, Path]:
    """Executable pages by chapter name: chapters first, summary pages last."""
    found = {m["chapter"]: p for p in toc_files(root) if (m := meta(p))}
    return dict(sorted(found.items(), key=lambda item: bool(meta(item[1]).get("summary"))))


PARAMETERS = ("profile", "seed", "results_dir")  # what the runner sets in every chapter's parameters cell


def parameter_names(notebook) -> set[str] | None:
    """The names papermill can set in the notebook's cell tagged ``parameters`` (None when it has none)."""
    cell = next((c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])), None)
    return None if cell is None else {p.name for p in PythonTranslator.inspect(cell)}


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
    modules its code imports (the lab modules it uses, the results contract), its own claims' registry entries,
    the installed versions of the tracked packages, the Python version, the model file and the parameters.
    Editing one chapter's module re-executes that chapter only; editing a lab module, the chapters that
    import it; registering a new claim, none.
    """
    package = package or PACKAGE
    notebook = jupytext.read(path)
    info = notebook.metadata.get("deepenough", {})
    digest = hashlib.sha256(code_digest(notebook).encode())
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    for f in dependency_files(info.get("chapter", path.stem), code, bool(info.get("summary")), package):
        digest.update(f.relative_to(package).as_posix().encode() + b"\x00" + f.read_bytes())
    registry = yaml.safe_load((package / "machinery" / "claims.yml").read_text())
    digest.update(json.dumps({c: registry.get(c) for c in info.get("claims", [])}, sort_keys=True).encode())
    if info.get("summary"):  # summary pages show the records: a pulled record must re-render them
        for f in sorted(r for r in (package.parent / "records").rglob("*") if r.is_file()):
            digest.update(f.relative_to(package.parent).as_posix().encode() + b"\x00" + f.read_bytes())
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
    """Execute one chapter (or reuse its verified execution), one run of a chapter at a time."""
    if profile not in PROFILES:
        raise ChapterError(f"unknown profile {profile!r}: use one of {', '.join(PROFILES)}")
    if seed < 0:
        raise ChapterError(f"seed must be 0 or more, not {seed}")
    pages = notebooks(root)
    if name not in pages:
        raise ChapterError(f"no chapter named {name!r} in _toc.yml; known: {', '.join(pages)}")
    path = pages[name]
    notebook = jupytext.read(path)
    missing = set(PARAMETERS) - (parameter_names(notebook) or set())
    if missing:
        raise ChapterError(f"{path.name}: the cell tagged 'parameters' must define {', '.join(sorted(missing))}")
    (build / "executed").mkdir(parents=True, exist_ok=True)
    with chapter_lock(build / "executed" / f".{name}.lock", name):
        return execute_or_reuse(name, path, notebook, profile, seed, force, build)


@contextmanager
def chapter_lock(path: Path, name: str):
    """An exclusive lock on one chapter's execution folder entries: a second run of the chapter waits."""
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another run of {name} to finish", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def vouched(key_file: Path, key: str, files: dict[str, Path]) -> tuple[bool, str]:
    """Whether the key file vouches for ``files`` as they are: the same key and the same content hashes."""
    try:
        stored = json.loads(key_file.read_text())
    except (OSError, ValueError):
        return False, ""
    if stored.get("key") != key:
        return False, ""
    for what, file in files.items():
        try:
            if sha256(file) != stored.get(what):
                return False, f"{file} does not match the execution it was cached with; re-executing"
        except OSError:
            return False, f"{file} is missing or unreadable; re-executing"
    return True, ""


def execute_or_reuse(name: str, path: Path, notebook, profile: str, seed: int, force: bool, build: Path) -> Outcome:
    info = meta(path)
    executed_dir, results_dir = build / "executed", build / "results"
    executed, results = executed_dir / f"{name}.ipynb", results_dir / f"{name}.json"
    files = {"notebook": executed, **({} if info.get("summary") else {"results": results})}
    # where the results file goes changes nothing in it, so it is not part of the key
    key = cache_key(path, {"profile": profile, "seed": int(seed)})
    key_file, text_file = executed_dir / f"{name}.key", executed_dir / f"{name}.text"
    fine, why = vouched(key_file, key, files)
    if why:
        print(f"{name}: {why}", flush=True)
    timing = {k: v for k, v in json.loads(key_file.read_text()).items() if k in TIMING} if fine else {}
    if not force and fine:
        message = "unchanged since its last run (cached)"
        if not (text_file.exists() and text_file.read_text() == text_digest(path)):
            merge_outputs(path, executed)
            text_file.write_text(text_digest(path))
            write_key(key_file, key, files, timing)
            message = "only its prose changed: re-rendered with the stored outputs, not re-executed"
        return Outcome(name, True, message, executed, results if results.exists() else None, cached=True, **timing)

    for stale in (key_file, results):  # a failed run must leave nothing a later step trusts
        stale.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{name}.", dir=build) as private:
        outcome = execute(name, path, notebook, profile, seed, Path(private), info)
        if not outcome.ok:
            if outcome.executed and outcome.executed.exists():
                os.replace(outcome.executed, executed)  # the partial notebook, for the traceback; no key vouches
            return replace(outcome, executed=executed)
        ran = nbformat.read(outcome.executed, as_version=4)
        hide_injected_parameters(ran)
        nbformat.write(ran, outcome.executed)
        results_dir.mkdir(parents=True, exist_ok=True)
        if outcome.results:
            os.chmod(outcome.results, 0o644)
            os.replace(outcome.results, results)
        os.replace(outcome.executed, executed)
    write_key(key_file, key, files, {"seconds": outcome.seconds, "quiet_seconds": outcome.quiet_seconds})  # last
    text_file.write_text(text_digest(path))
    return replace(outcome, executed=executed, results=results if results.exists() else None)


TIMING = ("seconds", "quiet_seconds")


def write_key(key_file: Path, key: str, files: dict[str, Path], timing: dict) -> None:
    """The key, the hashes of the files it vouches for, and how long their execution took."""
    tmp = key_file.with_name(f".{key_file.name}.partial")
    tmp.write_text(json.dumps({"key": key, **{what: sha256(f) for what, f in files.items()}, **timing}))
    os.replace(tmp, key_file)


def execute(name: str, path: Path, notebook, profile: str, seed: int, folder: Path, info: dict) -> Outcome:
    """Run the notebook with papermill into ``folder``; the outcome's time is also read against a reference
    workload measured beside it, so an overrun on a busy machine is reported, not refused."""
    executed, results = folder / f"{name}.ipynb", folder / "results" / f"{name}.json"
    source_nb = folder / f"{name}.source.ipynb"
    jupytext.write(notebook, source_nb)
    budget = info["budget_s"][profile]
    limit = HANG_FACTOR * budget
    parameters = {"profile": profile, "seed": int(seed), "results_dir": str(results.parent)}
    os.environ["HF_HUB_OFFLINE"] = "1"
    modelcheck.verified()  # a damaged converted model is converted again, never loaded
    before = reference_seconds()
    start = time.perf_counter()
    try:
        papermill.execute_notebook(source_nb, executed, parameters=parameters, kernel_name="python3",
                                   cwd=path.parent, progress_bar=False, execution_timeout=limit)
    except PapermillExecutionError as e:
        first_line = e.source.strip().splitlines()[0] if e.source.strip() else ""
        return Outcome(name, False, f"chapter {name!r} failed in cell {e.exec_count} (`{first_line}`): "
                       f"{e.ename}: {e.evalue}. Traceback in the executed notebook", executed,
                       seconds=time.perf_counter() - start)
    except (CellTimeoutError, DeadKernelError) as e:
        reason = (f"a cell ran past {limit:.0f} s ({HANG_FACTOR:g} × the {profile} budget: a hang, not a slow run)"
                  if isinstance(e, CellTimeoutError) else f"its kernel died ({e})")
        return Outcome(name, False, f"chapter {name!r} stopped: {reason}. Partial notebook kept", executed,
                       seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    reference = (before + reference_seconds()) / 2
    if not info.get("summary") and not results.exists():
        return Outcome(name, False, f"chapter {name!r} ran but did not write its results file", executed,
                       seconds=seconds)
    quiet = seconds * QUIET_REFERENCE_S / reference
    timing = f"ran in {seconds:.0f} s ({quiet:.0f} s on a quiet machine, by a reference workload)"
    if quiet > BUDGET_SLACK * budget:
        timing += f"; over {BUDGET_SLACK:g} × its {profile} budget of {budget} s"
    return Outcome(name, True, timing, executed, results if results.exists() else None, seconds, quiet_seconds=quiet)


def reference_seconds() -> float:
    """Seconds a fixed single-threaded workload takes now: the machine's speed at this moment."""
    import numpy as np

    a = np.random.default_rng(0).random((160, 160))
    start = time.perf_counter()
    for _ in range(REFERENCE_REPEATS):
        a = np.tanh(a @ a.T / 160)
    return time.perf_counter() - start


def cached(name: str, profile: str, seed: int, root: Path, build: Path) -> bool:
    """Whether the chapter's stored execution is vouched for by its key (so it need not run)."""
    try:
        page = notebooks(root)[name]
    except KeyError:
        return False
    files = {"notebook": build / "executed" / f"{name}.ipynb", "results": build / "results" / f"{name}.json"}
    key = cache_key(page, {"profile": profile, "seed": int(seed)})
    return vouched(build / "executed" / f"{name}.key", key, files)[0]


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
    return int(number_from_environment("DEEPENOUGH_JOBS", min(2, os.cpu_count() or 1), int))


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
