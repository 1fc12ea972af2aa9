"""Run every benchmark script in this folder (``make bench``), or the ones named: ``python -m bench data``.

Each script runs in a fresh process, so first-call ("cold") figures are not warmed by the scripts before.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    chosen = [s for s in scripts if not names or s.stem.removeprefix("bench_") in names]
    failed = 0
    for script in chosen:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.perf_counter()
        failed += subprocess.run([sys.executable, str(script)], check=False).returncode != 0
        print(f"({script.stem} took {time.perf_counter() - started:.1f}s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
