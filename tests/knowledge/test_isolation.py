"""The learning package is pure: importing it pulls in no web framework or task queue."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("django", "rest_framework", "channels", "celery")


def test_learning_imports_no_framework():
    probe = "import sys, knowledge.learning; print(','.join(sorted({m.split('.')[0] for m in sys.modules})))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin"})
    loaded = set(done.stdout.strip().split(","))
    assert {"numpy", "optuna"} <= loaded
    assert not loaded & set(FORBIDDEN)


def test_learning_sources_name_no_framework():
    for path in (ROOT / "knowledge" / "learning").glob("*.py"):
        text = path.read_text()
        for name in FORBIDDEN:
            assert f"import {name}" not in text and f"from {name}" not in text, path
