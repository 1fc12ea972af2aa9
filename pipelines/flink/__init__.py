"""PyFlink jobs. They run in their own environment, ``.venv-flink`` (``make flink``), never in the app's.

- :mod:`pipelines.flink.bars` — the bars job's settings and its Flink SQL (plain Python, imports in
  either environment);
- :mod:`pipelines.flink.bars_job` — the job itself (``.venv-flink/bin/python -m pipelines.flink.bars_job``);
- :mod:`pipelines.flink.scores` — the scores job's settings, its competitions file and its Kafka tables
  (plain Python);
- :mod:`pipelines.flink.scores_job` — competition entries scored from fills and bars in Flink keyed state
  (``.venv-flink/bin/python -m pipelines.flink.scores_job``);
- :mod:`pipelines.flink.launch` — start, stop and restore the jobs from the app's environment (tests,
  scripts): paths of ``.venv-flink`` and the connector jar, the command line, the latest checkpoint.

See docs/streaming-flink.md and docs/competitions.md.
"""
