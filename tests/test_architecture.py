"""The layers stay as docs/architecture.md says: import-linter's contracts hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken" in result.stdout


def test_core_library_imports_without_the_app_stack() -> None:
    code = (
        "import sys, quanta, quanta.settings, quanta.db, quanta.data, quanta.indicators, quanta.explorer\n"
        "app = {'reflex', 'pyflink', 'pyspark', 'aiokafka', 'state', 'components', 'quanta_app'}\n"
        "assert not app & set(sys.modules), app & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
