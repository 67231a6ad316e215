"""The three layers and the direction of their imports, read from the source.

The lab imports nothing above it; chapters import the lab and the results contract (results, rules, paths),
never each other; the machinery never imports a chapter. Chapter pages import only their own module.
"""
import ast
import re
from pathlib import Path

import jupytext

from deepenough.machinery import paths, runner

ALLOWED_FROM_CHAPTERS = {"deepenough.machinery.results", "deepenough.machinery.rules", "deepenough.machinery.paths"}


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the deepenough modules a file imports (relative imports resolved)."""
    package = ".".join(path.relative_to(paths.ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            if base.startswith("deepenough"):
                found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("deepenough")}
    return {m for m in found if m.count(".") >= 1}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("lab", "machinery", "chapters") else None


def violations(package: Path = paths.PACKAGE) -> list[str]:
    problems = []
    for path in sorted(package.rglob("*.py")):
        layer = path.relative_to(package).parts[0] if path.parent != package else None
        own = "deepenough." + ".".join(path.relative_to(package).with_suffix("").parts)
        for module in sorted(imported_modules(path)):
            target = layer_of(module)
            if layer == "lab" and target in ("machinery", "chapters"):
                problems.append(f"{path.name}: the lab imports {module}, a layer above it")
            if layer == "machinery" and target == "chapters":
                problems.append(f"{path.name}: the machinery imports a chapter ({module})")
            if layer == "chapters":
                if target == "chapters" and module not in ("deepenough.chapters", own) and \
                        not module.startswith(own + "."):
                    problems.append(f"{path.name}: a chapter imports another chapter ({module})")
                if target == "machinery" and not any(module.startswith(a) for a in ALLOWED_FROM_CHAPTERS) \
                        and module not in ("deepenough.machinery",):
                    problems.append(f"{path.name}: a chapter imports {module} "
                                    "(only the results contract, rules and paths)")
    return problems


def test_imports_run_downward_only():
    assert violations() == []


def test_a_chapter_importing_another_is_caught(tmp_path, monkeypatch):
    package = tmp_path / "deepenough"
    for layer in ("lab", "machinery", "chapters"):
        (package / layer).mkdir(parents=True)
    (package / "chapters" / "alpha.py").write_text("from . import beta\nfrom ..lab import stats\n")
    (package / "chapters" / "beta.py").write_text("from ..machinery.results import Ruling\n")
    (package / "chapters" / "gamma.py").write_text("from ..machinery import runner\n")
    (package / "lab" / "stats.py").write_text("from ..chapters import alpha\n")
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    problems = violations(package)
    assert any("alpha.py: a chapter imports another chapter (deepenough.chapters.beta)" in p for p in problems)
    assert any("gamma.py: a chapter imports deepenough.machinery.runner" in p for p in problems)
    assert any("stats.py: the lab imports deepenough.chapters.alpha" in p for p in problems)
    assert not any("beta.py" in p for p in problems)


def test_every_chapter_page_imports_only_its_own_chapter_module():
    for name, page in runner.notebooks().items():
        code = "\n".join(c.source for c in jupytext.read(page).cells if c.cell_type == "code")
        for imported in re.findall(r"from deepenough\.chapters import (\w+)", code):
            assert imported == name, f"book/{page.name} imports the chapter module {imported}"
