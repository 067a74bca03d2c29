"""The package's layering, as CONTRIBUTING.md states it: each folder imports only what it may, so a
maintainer can tell from a module's folder what it can reach (and lessons never start or stop a cluster)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "whyk8s"

#: folder → modules of the course it must not import (prefixes of dotted names).
FORBIDDEN = {
    "k8s": ("whyk8s.lessons", "whyk8s.notebook", "whyk8s.cluster", "whyk8s.labs", "whyk8s.cli", "whyk8s.site"),
    "lessons": ("whyk8s.notebook.widgets", "whyk8s.notebook.display", "whyk8s.cluster.providers",
                "whyk8s.cluster.kind", "whyk8s.cluster.kwok", "whyk8s.cluster.controlplane", "whyk8s.labs",
                "whyk8s.cli", "whyk8s.site"),
    "cluster": ("whyk8s.lessons", "whyk8s.notebook", "whyk8s.labs"),
    "notebook": ("whyk8s.labs", "whyk8s.cluster.providers", "whyk8s.cluster.kind", "whyk8s.cluster.kwok"),
}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (absolute names), top level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_each_folder_imports_only_what_it_may(folder):
    bad = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for name in imports_of(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[folder]):
                bad.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not bad, "\n".join(bad)


def test_the_rule_catches_a_forbidden_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from whyk8s.cluster.kwok import KwokProvider\n")
    assert "whyk8s.cluster.kwok" in imports_of(module)
