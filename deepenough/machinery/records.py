"""The published record: each chapter's ``full`` run, committed with its provenance.

``records/<chapter>/`` holds the executed notebook, its results file and ``provenance.json`` (commit,
cache key, profile, seeds, hardware, package versions, wall time, date, the decision tables' digests,
the development verdicts and whether the record confirmed them, and the sha256 of the notebook and the
results). A record is the confirmation run: the ``full`` profile at seeds development never used
(``seeds.RECORD``). The site renders a record when its cache key still matches the chapter's code and
its files still match their hashes; otherwise the page shows the ``quick`` execution with a note saying why.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from . import paths, runner, seeds
from .glance import hardware
from .results import development_verdicts, validate

PROFILE = "full"
PROVENANCE = ("commit", "key", "profile", "seed", "seeds", "hardware", "packages", "python", "model_sha256",
              "safetensors_sha256", "wall_time_s", "finished", "rule_digests", "development", "confirmation", "sha256")
MAX_RECORD_BYTES = 4_000_000          # one chapter's record: a few MB at most
MAX_FOLDER_BYTES = 20_000_000         # the whole records folder


class RecordError(RuntimeError):
    """A record cannot be written; the message says why."""


def record_dir(name: str, records: Path = paths.RECORDS) -> Path:
    return records / name


def full_key(name: str, root: Path = paths.ROOT, package: Path | None = None, seed: int = seeds.RECORD) -> str:
    """The cache key a current record of ``name`` must carry."""
    page = runner.notebooks(root)[name]
    return runner.cache_key(page, {"profile": PROFILE, "seed": seed}, package)


def read(name: str, records: Path = paths.RECORDS) -> dict | None:
    """A chapter's record (results and provenance), or None when it has none."""
    folder = record_dir(name, records)
    if not (folder / "provenance.json").exists():
        return None
    found = {"notebook": folder / "notebook.ipynb"}
    for part in ("results", "provenance"):
        try:
            found[part] = json.loads((folder / f"{part}.json").read_text())
        except (OSError, ValueError) as e:
            raise RecordError(f"{folder / f'{part}.json'} cannot be read ({e}); re-make the record with "
                              f"`deepenough record {name}` or restore it from git") from None
    return found


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def hashes(folder: Path) -> dict[str, str]:
    return {name: sha256(folder / f"{name}.{ext}") for name, ext in (("notebook", "ipynb"), ("results", "json"))}


def status(name: str, root: Path = paths.ROOT, records: Path = paths.RECORDS) -> tuple[str, dict | None]:
    """("current" | "stale" | "altered" | "missing", the record); "altered": a file no longer matches its hash."""
    record = read(name, records)
    if record is None:
        return "missing", None
    recorded = record["provenance"].get("sha256")
    if recorded is not None and recorded != hashes(record_dir(name, records)):
        return "altered", record
    current = record["provenance"]["key"] == full_key(name, root, seed=record["provenance"]["seed"])
    return ("current" if current else "stale"), record


def check(record: dict) -> list[str]:
    """Problems with a record's contents (not its freshness)."""
    problems = []
    try:
        validate(record["results"])
    except Exception as e:  # jsonschema's errors carry the path of the bad field
        problems.append(f"results do not match the schema: {e}")
    missing = [k for k in PROVENANCE if k not in record["provenance"]]
    if missing:
        problems.append(f"provenance lacks {', '.join(missing)}")
    if record["results"].get("profile") != PROFILE:
        problems.append(f"a record must come from the {PROFILE} profile")
    if not record["notebook"].exists():
        problems.append("the executed notebook is missing")
    elif record["provenance"].get("sha256") != hashes(record["notebook"].parent):
        problems.append("the notebook or results no longer match the hashes in provenance.json")
    glued = glued_verdicts(record["notebook"], record["results"]["chapter"]) if record["notebook"].exists() else {}
    written = {v["claim"]: v["verdict"] for v in record["results"].get("verdicts", [])}
    if glued != written:
        problems.append(f"results.json says {written} but the notebook's verdict box shows {glued}")
    fresh = set(record["results"].get("seeds", [])) & seeds.development()
    if fresh:
        problems.append(f"a record must run at seeds development never used; it drew {sorted(fresh)}")
    return problems


def glued_verdicts(notebook: Path, chapter: str) -> dict[str, str]:
    """The verdicts the executed notebook's verdict box shows, by claim."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == f"{chapter}-at-a-glance":
                text = "".join(str(v) for v in output.get("data", {}).values())
                return dict(re.findall(r"\*\*(C\d+)\*\* \{bdg-[a-z]+\}`([^`]+)`", text))
    return {}


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0


def dirty(root: Path, records: Path = paths.RECORDS) -> bool:
    """Uncommitted changes to tracked files, the records folder aside (one record must not block the next)."""
    exclude = f":!{records.relative_to(root)}" if records.is_relative_to(root) else "."
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", exclude], cwd=root,
                         capture_output=True, text=True)
    return out.returncode != 0 or bool(out.stdout.strip())


def make(name: str, seed: int = seeds.RECORD, root: Path = paths.ROOT, records: Path = paths.RECORDS,
         allow_dirty: bool = False) -> Path:
    """Run ``name`` in the full profile and store the record atomically (nothing is written if the run fails)."""
    if not allow_dirty and dirty(root, records):
        raise RecordError("the working tree has uncommitted changes: commit first, so the record names the code")
    if seeds.is_development(seed):
        raise RecordError(f"seed {seed} is a development seed: a record confirms at fresh seeds "
                          f"({seeds.RECORD} and above)")
    with tempfile.TemporaryDirectory(prefix=f"record-{name}-") as tmp:
        outcome = runner.run_chapter(name, PROFILE, seed, force=True, root=root, build=Path(tmp))
        if not outcome.ok:
            raise RecordError(f"the {PROFILE} run failed, so no record was written: {outcome.message}")
        results = json.loads(outcome.results.read_text())
        env = results["environment"]
        provenance = {
            "commit": results["commit"], "key": full_key(name, root, seed=seed), "profile": PROFILE,
            "seed": seed, "seeds": results["seeds"],
            "hardware": hardware(env),
            "packages": env["packages"], "python": env["python"], "model_sha256": env["model"]["sha256"],
            "safetensors_sha256": env["model"]["safetensors_sha256"],
            "wall_time_s": outcome.seconds, "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "rule_digests": {v["claim"]: v["rule"] for v in results["verdicts"]},
            "development": development_verdicts(name, root),
            "confirmation": {v["claim"]: v.get("confirmation", {}).get("state", "no development verdict")
                             for v in results["verdicts"]},
        }
        records.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=records))
        shutil.copy(outcome.results, staging / "results.json")
        notebook = nbformat.read(outcome.executed, as_version=4)
        nbformat.write(notebook, staging / "notebook.ipynb")
        provenance["sha256"] = hashes(staging)
        staging.chmod(0o755)  # mkdtemp makes it private; a record is for everyone to read
        for file in staging.iterdir():
            file.chmod(0o644)
        (staging / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
        size = folder_bytes(staging)
        if size > MAX_RECORD_BYTES:
            shutil.rmtree(staging)
            raise RecordError(f"the record would take {size / 1e6:.1f} MB, over {MAX_RECORD_BYTES / 1e6:.0f} MB")
        target = record_dir(name, records)
        old = target.with_name(f".{name}.old")
        if target.exists():
            os.replace(target, old)
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    return target


def make_all(seed: int = seeds.RECORD, root: Path = paths.ROOT, records: Path = paths.RECORDS) -> list[tuple[str, str]]:
    """Record every chapter whose record is missing or stale, one by one (a rerun resumes where it stopped)."""
    done = []
    for name, page in runner.notebooks(root).items():
        if runner.meta(page).get("summary"):
            continue
        state, _ = status(name, root, records)
        if state == "current":
            done.append((name, "current, kept"))
            continue
        make(name, seed, root, records)
        done.append((name, "recorded"))
    return done

