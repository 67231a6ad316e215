"""The three layers and the direction of their imports, read from the source.

The lab imports nothing above it; chapters import the lab and the results contract (results, rules, paths),
never each other; the machinery never imports a chapter. Chapter pages import only their own module.
"""
import ast
from pathlib import Path

import jupytext

from deepenough.machinery import paths, runner

ALLOWED_FROM_CHAPTERS = {"deepenough.machinery.results", "deepenough.machinery.rules", "deepenough.machinery.paths",
                         "deepenough.machinery.power", "deepenough.machinery.seeds"}


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


def chapter_modules_imported(code: str) -> set[str]:
    """Every chapter module a page's code imports, in any form: ``from deepenough.chapters import a, b``,
    ``import deepenough.chapters.a as x``, ``from deepenough.chapters.a import f``, and
    ``importlib.import_module`` / ``__import__`` with a literal name."""
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module == "deepenough.chapters":
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("deepenough.chapters."):
            found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("deepenough.chapters.")}
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            text = str(node.args[0].value)
            if name in ("import_module", "__import__") and text.startswith("deepenough.chapters."):
                found.add(text.split(".")[2])
    return found


def page_code(page: Path) -> str:
    cells = [c.source for c in jupytext.read(page).cells if c.cell_type == "code"]
    return "\n".join("\n".join(line for line in c.splitlines() if not line.lstrip().startswith(("%", "!")))
                     for c in cells)


def test_every_chapter_page_imports_only_its_own_chapter_module():
    for name, page in runner.notebooks().items():
        others = chapter_modules_imported(page_code(page)) - {name}
        assert not others, f"book/{page.name} imports the chapter module(s) {sorted(others)}"


def test_every_form_of_a_chapter_to_chapter_import_is_caught():
    forms = {"from deepenough.chapters import kv_cache, models": {"kv_cache", "models"},
             "import deepenough.chapters.models as other": {"models"},
             "from deepenough.chapters.jokes import TABLES": {"jokes"},
             "import importlib\nm = importlib.import_module('deepenough.chapters.forgetting')": {"forgetting"},
             "m = __import__('deepenough.chapters.serial_depth')": {"serial_depth"}}
    for code, expected in forms.items():
        assert chapter_modules_imported(code) == expected, code


def test_the_package_has_no_import_cycle():
    graph = {}
    for path in sorted(paths.PACKAGE.rglob("*.py")):
        own = "deepenough." + ".".join(path.relative_to(paths.PACKAGE).with_suffix("").parts)
        own = own.removesuffix(".__init__")
        graph[own] = {m for m in imported_modules(path) if m != own}
    modules = set(graph)
    graph = {m: {t for t in targets if t in modules and t != "deepenough"} for m, targets in graph.items()}

    def reaches(start, goal, seen):
        return any(t == goal or (t not in seen and not seen.add(t) and reaches(t, goal, seen)) for t in graph[start])

    cycles = sorted(m for m in graph if reaches(m, m, set()))
    assert cycles == [], f"modules on an import cycle: {cycles}"
