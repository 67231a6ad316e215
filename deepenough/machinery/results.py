"""The results contract: what every chapter writes, and the schema that checks it.

A chapter ends by calling ``ChapterRun.write`` with its verdicts and key measurements. The file lands in
``<results_dir>/<chapter>.json`` (temp file, then rename), and the claims ledger, the execution report,
the tests and the verdict diff all read it.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import jsonschema

from ..lab.smollm import GGUF_NAME, GGUF_SHA256, PACKAGE
from . import modelcheck, paths, seeds
from .glance import hardware  # noqa: F401 (pages describe the machine through the results contract)
from .power import Table
from .rules import VERDICTS, Ruling, check  # noqa: F401 (chapters take both from the results contract)

PROFILES = ("quick", "full")
SCHEMA = json.loads(paths.SCHEMA.read_text())
TRACKED_PACKAGES = ("torch", "transformers", "numpy", "scipy", "scikit-learn", "papermill", "jupyter-book")


# Units of quantities bounded by 0 and 1 (and by 0 and 100 for "%"): no interval of theirs may leave them.
SHARE_UNITS = {"share", "fraction", "accuracy", "success rate", "share of samples", "share of steps"}


def bounds_of(unit: str) -> tuple[float, float] | None:
    return (0.0, 1.0) if unit in SHARE_UNITS else (0.0, 100.0) if unit == "%" else None


def measurement(stat: dict, unit: str = "", what: str = "", over: str = "") -> dict:
    """A key number: a ``stats`` interval dict, its unit, a few words on what it is, and what its interval is
    over: the independent unit the interval resamples ("seeds", "prompts", "countries"; clusters where
    observations nest), whose count is ``stat["n"]``; "exact" for a count or a computation with no
    uncertainty. A value without an interval and without ``over`` is recorded as a single value."""
    if not over and stat["low"] != stat["high"]:
        raise ValueError(f"say what the interval of {what or 'this measurement'!r} is over (seeds, prompts, ...)")
    if not stat["low"] <= stat["mean"] <= stat["high"]:
        raise ValueError(f"{what or 'this measurement'!r}: {stat['mean']} lies outside its interval")
    limits = bounds_of(unit)
    if limits and (stat["low"] < limits[0] or stat["high"] > limits[1]):
        raise ValueError(f"{what or 'this measurement'!r} is a {unit} but its interval runs past {limits}: "
                         "use a bounded interval (Wilson, or a bootstrap of the bounded statistic)")
    return {**stat, "unit": unit, "what": what, "over": over or "a single value, no interval"}


def verdict(claim: str, ruling: Ruling, key: str | None = None) -> dict:
    """One claim's computed verdict, for a chapter not yet moved to ``ChapterRun.verdict`` (no power)."""
    if ruling.verdict not in VERDICTS:
        raise ValueError(f"verdict for {claim} must be one of {VERDICTS}, not {ruling.verdict!r}")
    return {"claim": claim, "verdict": ruling.verdict, "reason": ruling.reason, "why": ruling.why or ruling.reason,
            "key": key, "rule": ruling.rule}


def environment() -> dict:
    import torch

    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "python": platform.python_version(),
        "packages": versions,
        "machine": platform.machine(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "model": {"file": GGUF_NAME, "source": f"PyPI package {PACKAGE}", "sha256": GGUF_SHA256,
                  "safetensors_sha256": modelcheck.noted_sha256()},
    }


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.ROOT, capture_output=True, text=True)
        # the published records aside: a record being made is not a change to the code that makes it
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!records"],
                               cwd=paths.ROOT, capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except OSError:
        return "unknown"


def validate(results: dict) -> None:
    jsonschema.validate(results, SCHEMA)
    names = set(results["measurements"])
    for v in results["verdicts"]:
        if v["key"] is not None and v["key"] not in names:
            raise jsonschema.ValidationError(f"verdict for {v['claim']} cites unknown measurement {v['key']!r}")


def write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


class ChapterRun:
    """Created in a chapter's first cell; starts the clock, knows the profile, seeds and where to write."""

    def __init__(self, chapter: str, profile: str, seed: int, results_dir: str | Path | None = None):
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {PROFILES}")
        self.chapter, self.profile, self.seed = chapter, profile, int(seed)
        self.results_dir = Path(results_dir) if results_dir else paths.RESULTS
        self.started = time.perf_counter()
        self.models: list[dict] = []

    @property
    def confirming(self) -> bool:
        """A full run at seeds development never used: its verdicts confirm (or not) the development's."""
        return self.profile == "full" and not seeds.is_development(self.seed)

    def verdict(self, table: Table, ruling: Ruling, key: str | None = None) -> dict:
        """One claim's verdict, only as ``table`` decides it from the values the ruling carries, with the
        power of each of the table's outcomes at this profile's design."""
        check(table.rules, ruling)
        return {**verdict(table.claim, ruling, key), "row": ruling.row, "values": jsonable(ruling.values),
                "design": dict(table.designs[self.profile]), "power": table.power(self.profile)}

    def trained(self, route: str, seed: int, control: dict) -> dict:
        """Record a trained model's positive control (``lab.train.positive_control``); returns the control."""
        self.models.append({"route": route, "seed": int(seed), **control})
        return control

    def pick(self, quick, full):
        """The setting for this run's profile."""
        return quick if self.profile == "quick" else full

    def glue(self, name: str, value) -> None:
        """Glue ``value`` as ``<chapter>-<name>`` for the page's prose and figures.

        An interval (a dict with mean, low and high) is glued as ``name``, ``name-low`` and ``name-high``;
        a figure is first fitted to the page's width (``plotting.fit_to_width``).
        """
        from myst_nb import glue

        if hasattr(value, "savefig"):
            from ..lab import plotting

            plotting.fit_to_width(value)

        if isinstance(value, dict) and {"mean", "low", "high"} <= value.keys():
            for suffix, part in (("", "mean"), ("-low", "low"), ("-high", "high")):
                glue(f"{self.chapter}-{name}{suffix}", value[part], display=False)
        else:
            glue(f"{self.chapter}-{name}", value, display=False)

    def write(self, verdicts: list[dict], measurements: dict[str, dict], seeds: list[int]) -> Path:
        results = {
            "chapter": self.chapter,
            "claims": [v["claim"] for v in verdicts],
            "verdicts": verdicts,
            "measurements": measurements,
            "profile": self.profile,
            "seed": self.seed,
            "seeds": [int(s) for s in seeds],
            **({"models": self.models} if self.models else {}),
            "environment": environment(),
            "commit": git_commit(),
            "wall_time_s": time.perf_counter() - self.started,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if self.confirming:
            results["verdicts"] = [confirm(v, development_verdicts(self.chapter)) for v in verdicts]
        validate(results)
        path = self.results_dir / f"{self.chapter}.json"
        write_json_atomic(path, results)
        self.written = results
        self.glue_at_a_glance()
        return path

    def glue_at_a_glance(self) -> None:
        """Glue the verdict box the page shows under its title (``{glue:md}`<chapter>-at-a-glance```)."""
        from IPython.display import Markdown
        from myst_nb import glue

        from .glance import glance_markdown

        glue(f"{self.chapter}-at-a-glance", Markdown(glance_markdown(self.written)), display=False)

    def provenance(self):
        """A note for the end of the page: what produced the numbers the reader sees."""
        from IPython.display import Markdown

        r = self.written
        return Markdown(
            f"```{{admonition}} How this page was produced\n:class: note\n"
            f"Profile `{r['profile']}`, seeds {', '.join(map(str, r['seeds']))}, commit `{r['commit']}`, "
            f"on {hardware(r['environment'])}, in {r['wall_time_s']:.0f} s, finished {r['finished']} (UTC). "
            f"Re-run it with `deepenough run {r['chapter']} --profile {r['profile']} --seed {r['seed']}`.\n```")


def jsonable(values: dict) -> dict:
    """The rule's inputs as JSON keeps them (numpy scalars to Python numbers)."""
    return json.loads(json.dumps(values, default=lambda x: x.item() if hasattr(x, "item") else str(x)))


def development_verdicts(chapter: str, root: Path = paths.ROOT) -> dict[str, str]:
    """The verdicts development saw: the page's ``expected`` snapshot (for the full profile where it names one)."""
    import jupytext

    page = root / "book" / f"{chapter}.md"
    expected = (jupytext.read(page).metadata.get("deepenough") or {}).get("expected") or {} if page.exists() else {}
    return {claim: v.get("full", v.get("quick")) if isinstance(v, dict) else v for claim, v in expected.items()}


def confirm(v: dict, development: dict[str, str]) -> dict:
    """A confirmation run's verdict: kept where it equals the development verdict, else published as
    inconclusive with both readings in its reason."""
    seen = development.get(v["claim"])
    if seen is None or seen == v["verdict"]:
        return {**v, "confirmation": {"development": seen, "state": "confirmed" if seen else "no development verdict"}}
    both = (f"not confirmed at fresh seeds: development read {seen}, this run reads {v['verdict']} "
            f"({v['reason']})")
    return {**v, "verdict": "inconclusive", "decided": v["verdict"], "reason": both,
            "why": f"development read {seen} and fresh seeds read {v['verdict']}, so neither is published",
            "confirmation": {"development": seen, "state": "not confirmed"}}


def read_all(results_dir: str | Path) -> dict[str, dict]:
    """Every valid results file in ``results_dir``, by chapter name."""
    out = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        data = json.loads(path.read_text())
        validate(data)
        out[data["chapter"]] = data
    return out
