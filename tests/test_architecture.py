"""The package's layering, enforced over its source: the library never imports the command-line
layer (``losscli.cli``), and no module takes another module's underscore names."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "losscli"


def imports(package: Path, path: Path):
    """(line, module imported from, names) of every import in a module of ``package``."""
    dotted = [package.name, *path.relative_to(package).parent.parts]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = dotted[: len(dotted) - node.level + 1] if node.level else []
            yield node.lineno, ".".join([*base, *([node.module] if node.module else [])]), [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def violations(package: Path) -> tuple[list[str], list[str]]:
    """(library imports of <package>.cli, underscore names taken from another module)."""
    cli = f"{package.name}.cli"
    upward, private = [], []
    for path in sorted(package.rglob("*.py")):
        in_cli = path.relative_to(package).parts[0] in ("cli", "__main__.py")
        for line, module, names in imports(package, path):
            where = f"{path.relative_to(package.parent)}:{line}"
            if not in_cli and (module.startswith(cli) or (module == package.name and "cli" in names)):
                upward.append(f"{where} imports {module}")
            if module.startswith(package.name):
                private += [f"{where} takes {name} from {module}" for name in names
                            if name.startswith("_") and not name.startswith("__")]
    return upward, private


def test_the_library_never_imports_the_command_line_layer():
    upward, _ = violations(PACKAGE)
    assert upward == [], "the library must not import losscli.cli:\n" + "\n".join(upward)


def test_no_module_takes_another_modules_private_names():
    _, private = violations(PACKAGE)
    assert private == [], "make these public or move them:\n" + "\n".join(private)


def test_the_checks_find_both_kinds_in_a_package_that_breaks_them(tmp_path):
    package = tmp_path / "pkg"
    (package / "cli").mkdir(parents=True)
    (package / "cli" / "inputs.py").write_text("def _helper(): pass\n")
    (package / "engine.py").write_text("from .cli.inputs import _helper\nfrom pkg import cli\n")
    (package / "cli" / "app.py").write_text("from ..engine import run\n")  # downward: fine
    upward, private = violations(package)
    assert upward == ["pkg/engine.py:1 imports pkg.cli.inputs", "pkg/engine.py:2 imports pkg"]
    assert private == ["pkg/engine.py:1 takes _helper from pkg.cli.inputs"]
