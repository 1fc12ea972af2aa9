"""What both Flink jobs do around their statements: a mini cluster inside this process's JVM, and the run.

Runs in ``.venv-flink`` (it imports pyflink). The environment variables are set before the first
pyflink object is made, because that starts the JVM.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import EnvironmentSettings, StatementSet, StreamTableEnvironment

from pipelines.flink import paths


def jvm_args(heap_mb: int) -> str:
    """The JVM of the client and mini cluster: a small heap and the serial collector (two cores)."""
    return (
        f"-Xmx{heap_mb}m -Xms64m -XX:+UseSerialGC -XX:MaxMetaspaceSize=192m "
        "-XX:ReservedCodeCacheSize=96m -Xss512k"
    )


def table_environment(
    options: Mapping[str, str], *, heap_mb: int
) -> tuple[StreamExecutionEnvironment, StreamTableEnvironment]:
    """A streaming table environment on a local mini cluster with ``options``, its JVM capped at
    ``heap_mb`` and its temporary files in a folder of this run's own."""
    tmp = paths.private_tmp()
    os.environ["JVM_ARGS"] = f"{os.environ.get('JVM_ARGS', jvm_args(heap_mb))} -Djava.io.tmpdir={tmp}"
    os.environ.setdefault("FLINK_LOG_DIR", str(paths.LOG_DIR))
    # Python functions run in worker processes started with python.executable, rather than in a Beam
    # loopback server inside this process (which costs ~150 MB and a second).
    os.environ.setdefault("_python_worker_execution_mode", "process")
    flink_config = Configuration()
    for key, value in {"io.tmp.dirs": str(tmp), **options}.items():
        flink_config.set_string(key, value)
    settings = EnvironmentSettings.new_instance().in_streaming_mode().with_configuration(flink_config).build()
    stream = StreamExecutionEnvironment.get_execution_environment(flink_config)
    return stream, StreamTableEnvironment.create(stream, settings)


def run(job: StatementSet, stream: StreamExecutionEnvironment, name: str, started: float) -> int:
    """Submit the INSERTs (and the Python functions between them) as one job, print the ``started``
    line (``{"event": "started", "job_id": …, "startup_s": …}``, which ``launch`` waits for) and wait
    until the job ends."""
    job.attach_as_datastream()
    client = stream.execute_async(name)
    startup_s = round(time.monotonic() - started, 2)
    event = {"event": "started", "job_id": str(client.get_job_id()), "startup_s": startup_s}
    print(json.dumps(event), flush=True)
    client.get_job_execution_result().result()
    return 0
