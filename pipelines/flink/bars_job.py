"""The Flink bars job: ``.venv-flink/bin/python -m pipelines.flink.bars_job --bootstrap HOST:PORT``.

It builds the statements of :mod:`pipelines.flink.bars`, submits them as one job to a local mini cluster
(Flink's default local environment, inside this process's JVM) and waits. The first line on stdout is a
JSON object ``{"event": "started", "job_id": …, "startup_s": …}``; the process runs until the job fails
or the process is stopped. Restart it with ``--restore-from`` a checkpoint (``launch.latest_checkpoint``)
to resume exactly where that checkpoint was taken.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import EnvironmentSettings, StatementSet, StreamTableEnvironment

from pipelines.flink import bars, paths
from pipelines.flink.indicators import register_indicated_view


def jvm_args(config: bars.BarsJobConfig) -> str:
    """The JVM of the client and mini cluster: a small heap and the serial collector (two cores)."""
    return (
        f"-Xmx{config.jvm_heap_mb}m -Xms64m -XX:+UseSerialGC -XX:MaxMetaspaceSize=192m "
        "-XX:ReservedCodeCacheSize=96m -Xss512k"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job until it fails (or print its plan with ``--explain``)."""
    started = time.monotonic()
    config, explain = bars.parse(argv)
    tmp = paths.private_tmp()
    os.environ["JVM_ARGS"] = f"{os.environ.get('JVM_ARGS', jvm_args(config))} -Djava.io.tmpdir={tmp}"
    os.environ.setdefault("FLINK_LOG_DIR", str(paths.LOG_DIR))
    # Python functions, if a job ever has them, run in worker processes started with python.executable,
    # rather than in a Beam loopback server inside this process (which costs ~150 MB and a second).
    os.environ.setdefault("_python_worker_execution_mode", "process")
    # pyflink starts its JVM here, on first use, with the environment above.
    options = bars.flink_options(config, python=sys.executable, connector_jar=paths.connector_jar())
    options.setdefault("io.tmp.dirs", str(tmp))
    flink_config = Configuration()
    for key, value in options.items():
        flink_config.set_string(key, value)
    settings = EnvironmentSettings.new_instance().in_streaming_mode().with_configuration(flink_config).build()
    stream = StreamExecutionEnvironment.get_execution_environment(flink_config)
    tables = StreamTableEnvironment.create(stream, settings)
    ddl, inserts = bars.statements(config)
    for statement in ddl:
        tables.execute_sql(statement)
    if config.indicators:
        register_indicated_view(tables, config)
    job = tables.create_statement_set()
    for statement in inserts:
        job.add_insert_sql(statement)
    if explain:
        print(job.explain())
        return 0
    return run(job, stream, started)


def run(job: StatementSet, stream: StreamExecutionEnvironment, started: float) -> int:
    """Submit the INSERTs (and the indicator functions between them) as one job; wait until it ends."""
    job.attach_as_datastream()
    client = stream.execute_async("quanta-flink-bars")
    startup_s = round(time.monotonic() - started, 2)
    event = {"event": "started", "job_id": str(client.get_job_id()), "startup_s": startup_s}
    print(json.dumps(event), flush=True)
    client.get_job_execution_result().result()
    return 0


if __name__ == "__main__":
    sys.exit(main())
