"""The promotion engine is pure: the standard library and numpy only (no Django, no database, no clock)."""
import ast
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[3] / "promotions" / "engine"
ALLOWED = {"numpy", "promotions"}


def test_the_promotion_engine_imports_only_the_standard_library_and_numpy():
    imported = set()
    for path in ENGINE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    assert imported, "no engine module found"
    assert imported - ALLOWED <= set(sys.stdlib_module_names), sorted(imported - ALLOWED - set(sys.stdlib_module_names))
