"""The Flink bars job: ``.venv-flink/bin/python -m pipelines.flink.bars_job --bootstrap HOST:PORT``.

It builds the statements of :mod:`pipelines.flink.bars`, submits them as one job to a local mini cluster
(Flink's default local environment, inside this process's JVM) and waits. The first line on stdout is a
JSON object ``{"event": "started", "job_id": …, "startup_s": …}``; the process runs until the job fails
or the process is stopped. Restart it with ``--restore-from`` a checkpoint (``launch.latest_checkpoint``)
to resume exactly where that checkpoint was taken.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from pipelines.flink import bars, paths, runtime
from pipelines.flink.indicators import register_indicated_view


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job until it fails (or print its plan with ``--explain``)."""
    started = time.monotonic()
    config, explain = bars.parse(argv)
    options = bars.flink_options(config, python=sys.executable, connector_jar=paths.connector_jar())
    stream, tables = runtime.table_environment(options, heap_mb=config.jvm_heap_mb)
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
    return runtime.run(job, stream, "quanta-flink-bars", started)


if __name__ == "__main__":
    sys.exit(main())
