"""Where the PyFlink environment and the connector jars are (``make flink`` puts them there)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FLINK_VENV = REPO / ".venv-flink"
FLINK_PYTHON = FLINK_VENV / "bin" / "python"
JARS = REPO / ".tools" / "flink"
LOG_DIR = REPO / "var" / "flink" / "log"
TMP_DIR = REPO / "var" / "flink" / "tmp"


class FlinkSetupError(RuntimeError):
    """The PyFlink environment or the connector jar is missing: run ``make flink``."""


def flink_python() -> Path:
    """The PyFlink interpreter: ``QUANTA_FLINK_PYTHON`` or ``.venv-flink/bin/python``."""
    python = Path(os.environ.get("QUANTA_FLINK_PYTHON", FLINK_PYTHON))
    if not python.exists():
        msg = f"no PyFlink interpreter at {python}; run `make flink`"
        raise FlinkSetupError(msg)
    return python


def connector_jar() -> Path:
    """The Kafka SQL connector jar: ``QUANTA_FLINK_CONNECTOR_JAR`` or the one in ``.tools/flink``."""
    if configured := os.environ.get("QUANTA_FLINK_CONNECTOR_JAR"):
        return Path(configured)
    jars = sorted(JARS.glob("flink-sql-connector-kafka-*.jar"))
    if len(jars) != 1:
        msg = f"expected one flink-sql-connector-kafka jar in {JARS}, found {len(jars)}; run `make flink`"
        raise FlinkSetupError(msg)
    return jars[0]


def private_tmp() -> Path:
    """A temporary folder for this process's JVM, under ``QUANTA_FLINK_TMP`` or ``var/flink/tmp``.

    Flink unpacks about 65 MB of jars into the temporary folder at every start and leaves them when
    the process is killed; so each run gets its own folder, named after its pid, and the folders of
    runs that are gone are removed.
    """
    root = Path(os.environ.get("QUANTA_FLINK_TMP", TMP_DIR))
    root.mkdir(parents=True, exist_ok=True)
    for folder in root.iterdir():
        if folder.name.isdigit() and not _alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)
    mine = root / str(os.getpid())
    mine.mkdir(exist_ok=True)
    return mine


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
