"""Tasks import their services, never the reverse: a service queues a task by its name."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("cohorts", "knowledge", "neolight")


def service_modules() -> list[Path]:
    """Every services.py and every module of a services package, in the project's apps."""
    found = []
    for app in APPS:
        found += (ROOT / app).glob("services.py")
        found += (ROOT / app / "services").rglob("*.py")
    return sorted(found)


def imported_modules(tree: ast.AST) -> set[str]:
    """Modules an import statement anywhere in the tree names (inside functions too), as dotted names."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_services_are_found():
    assert {p.parent.name for p in service_modules()} >= {"services"}
    assert len(service_modules()) >= 8


def test_no_service_imports_a_tasks_module():
    offenders = [f"{path.relative_to(ROOT)} imports {name}" for path in service_modules()
                 for name in sorted(imported_modules(ast.parse(path.read_text())))
                 if name == "tasks" or name.endswith(".tasks") or ".tasks." in name]
    assert offenders == []


def test_a_task_is_found_by_name_before_its_module_is_imported():
    """A web process that never imported cohorts.tasks still queues the run a launch names."""
    import subprocess
    import sys

    probe = ("import sys, django; django.setup(); from neolight.celery import task_named;"
             "assert 'cohorts.tasks' not in sys.modules; print(task_named('cohorts.tasks.cohort_run_task').name)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "neolight.settings"})
    assert done.stdout.strip() == "cohorts.tasks.cohort_run_task", done.stderr[-2000:]


def test_bars_become_an_engine_market_in_one_place():
    """Outside the engine, only `BarWindow.market()` builds an engine Market: runs, allocation and learning
    all see the same arrays, tradable flags and session days."""
    builders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "engine" in path.relative_to(ROOT).parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "Market":
                    builders.append(str(path.relative_to(ROOT)))
    assert builders == ["cohorts/selectors/market.py"]
