"""The Flink scores job's settings, its competitions file and its Flink SQL ends (Kafka in, Kafka out).

Plain Python (no pyflink import), so the app's environment can write the competitions file and build
the job's command line; :mod:`pipelines.flink.scores_job` runs the job in ``.venv-flink``.

Topology (parallelism 1; the keyed step scales out by entry)::

    quanta.fills ──────────┐  route: a fill to its entry,     key (competition, entry)
                           ├─ a bar to every entry whose ───────────────────────────► score
    quanta.bars.<interval> ┘  universe and interval it is in                          (CompetitionScorer of
      (raw bytes)                                                                      one entry, keyed state)
                                                                                             │
          quanta.scores (keyed by competition, timed at the mark, exactly once) ◄────────────┘

**The competitions file** (``--competitions PATH``, written by :func:`write_competitions`) says which
accounts are entries of which competition and how each competition values them — the arguments of
``CompetitionScorer(competition, rules, accounts)``::

    {"v": 1, "competitions": [{"id": "cp_…", "accounts": ["en_…", …],
      "rules": {"capital": 10000.0, "symbols": ["AAA", "BBB"], "metric": "sharpe", "interval": "1s",
                "periods_per_year": 252.0, "drawdown_limit_pct": null, "start_ms": 0, "end_ms": …}}]}

The driver reads it once and ships the competitions with the job's functions, so the Python workers
need no file. A new competition or entry means a new job (or a new file and a restart without state).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.flink.options import add_job_options, job_args, job_settings, mini_cluster_options
from pipelines.flink.paths import REPO
from quanta.competitions.scoring import Metric, ScoringRules

FILE_VERSION = 1
DEFAULT_CHECKPOINTS = REPO / "var" / "flink" / "checkpoints-scores"


@dataclass(frozen=True, slots=True)
class ScoredCompetition:
    """One competition of the file: its id, its entries (accounts) and its rules."""

    id: str
    accounts: tuple[str, ...]
    rules: ScoringRules


def rules_record(rules: ScoringRules) -> dict[str, Any]:
    """The rules as JSON-ready values (floats round-trip exactly)."""
    return {
        "capital": rules.capital,
        "symbols": sorted(rules.symbols),
        "metric": rules.metric.value,
        "interval": rules.interval,
        "periods_per_year": rules.periods_per_year,
        "drawdown_limit_pct": rules.drawdown_limit_pct,
        "start_ms": rules.start_ms,
        "end_ms": rules.end_ms,
    }


def rules_of(record: Mapping[str, Any]) -> ScoringRules:
    """The rules a :func:`rules_record` describes (unknown keys are refused)."""
    unknown = set(record) - set(ScoringRules.__dataclass_fields__)
    if unknown:
        msg = f"unknown scoring rule(s) {sorted(unknown)}"
        raise ValueError(msg)
    limit = record.get("drawdown_limit_pct")
    return ScoringRules(
        capital=float(record["capital"]),
        symbols=frozenset(record["symbols"]),
        metric=Metric(record.get("metric", Metric.RETURN.value)),
        interval=record.get("interval", "1s"),
        periods_per_year=float(record.get("periods_per_year", 252.0)),
        drawdown_limit_pct=None if limit is None else float(limit),
        start_ms=int(record.get("start_ms", 0)),
        end_ms=int(record.get("end_ms", 2**53)),
    )


def write_competitions(path: Path, competitions: Sequence[ScoredCompetition]) -> Path:
    """Write the competitions file the job reads (``--competitions``)."""
    ids = [competition.id for competition in competitions]
    if len(set(ids)) != len(ids):
        msg = f"competition ids must be distinct: {ids}"
        raise ValueError(msg)
    document = {
        "v": FILE_VERSION,
        "competitions": [
            {"id": c.id, "accounts": list(c.accounts), "rules": rules_record(c.rules)} for c in competitions
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1))
    return path


def read_competitions(path: Path) -> list[ScoredCompetition]:
    """The competitions of a file written by :func:`write_competitions`."""
    document = json.loads(path.read_text())
    if document.get("v") != FILE_VERSION:
        msg = f"{path}: competitions file version {document.get('v')!r}; this job reads {FILE_VERSION}"
        raise ValueError(msg)
    return [
        ScoredCompetition(id=item["id"], accounts=tuple(item["accounts"]), rules=rules_of(item["rules"]))
        for item in document["competitions"]
    ]


@dataclass(frozen=True, kw_only=True)
class ScoresJobConfig:
    """Everything the scores job needs; topic names as :class:`quanta.streaming.Topics`."""

    bootstrap: str
    competitions: Path
    namespace: str = ""
    group_id: str = "quanta-flink-scores"
    transactional_id_prefix: str = "quanta-flink-scores"
    transaction_timeout_ms: int = 600_000
    checkpoint_dir: Path = DEFAULT_CHECKPOINTS
    checkpoint_interval_ms: int = 10_000
    restore_from: Path | None = None
    jvm_heap_mb: int = 320
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def fills_topic(self) -> str:
        """Paper fills, keyed by account (``Topics.fills``)."""
        return f"{self.namespace}quanta.fills"

    @property
    def scores_topic(self) -> str:
        """Score events, keyed by competition (``Topics.scores``)."""
        return f"{self.namespace}quanta.scores"

    def bars_topic(self, interval: str) -> str:
        """Bars of one interval, keyed by symbol (``Topics.bars``)."""
        return f"{self.namespace}quanta.bars.{interval}"


# --- command line ------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    """The job's command line (``python -m pipelines.flink.scores_job --help``)."""
    d = ScoresJobConfig(bootstrap="", competitions=Path())
    p = argparse.ArgumentParser(
        prog="pipelines.flink.scores_job",
        description="Competition entries scored from fills and bars on Kafka (Flink keyed state).",
    )
    add_job_options(p, d)
    p.add_argument("--competitions", type=Path, required=True, help="the competitions file (JSON)")
    return p


def parse(argv: Sequence[str] | None = None) -> ScoresJobConfig:
    """The configuration a command line describes."""
    args = parser().parse_args(argv)
    return ScoresJobConfig(competitions=args.competitions.resolve(), **job_settings(args))


def command_args(config: ScoresJobConfig) -> list[str]:
    """The command-line arguments that :func:`parse` turns back into ``config``."""
    return [*job_args(config), f"--competitions={config.competitions}"]


# --- Flink configuration and SQL -----------------------------------------------------------------


def flink_options(config: ScoresJobConfig, *, python: str, connector_jar: Path) -> dict[str, str]:
    """Flink options for a local mini cluster (:func:`pipelines.flink.options.mini_cluster_options`)."""
    return mini_cluster_options(
        python=python,
        connector_jar=connector_jar,
        checkpoint_interval_ms=config.checkpoint_interval_ms,
        checkpoint_dir=config.checkpoint_dir,
        restore_from=config.restore_from,
        extra=config.extra,
    )


def _q(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def input_topics(config: ScoresJobConfig, competitions: Sequence[ScoredCompetition]) -> list[str]:
    """The fills topic and the bars topic of every competition's interval."""
    intervals = sorted({competition.rules.interval for competition in competitions})
    return [config.fills_topic, *(config.bars_topic(interval) for interval in intervals)]


def source_ddl(config: ScoresJobConfig, competitions: Sequence[ScoredCompetition]) -> str:
    """Fills and bars as raw bytes with their topic, from the beginning (or the restored offsets)."""
    topics = ";".join(input_topics(config, competitions))
    return f"""CREATE TEMPORARY TABLE score_inputs (
  `topic` STRING METADATA VIRTUAL,
  `value` BYTES
) WITH (
  'connector' = 'kafka', 'topic' = {_q(topics)},
  'properties.bootstrap.servers' = {_q(config.bootstrap)},
  'properties.group.id' = {_q(config.group_id)},
  'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = 'earliest-offset',
  'value.format' = 'raw'
)"""


def sink_ddl(config: ScoresJobConfig) -> str:
    """The scores topic: ``encode_score`` JSON, keyed by competition, timed at the mark, exactly once."""
    return f"""CREATE TEMPORARY TABLE scores (
  k STRING, v STRING, record_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'
) WITH (
  'connector' = 'kafka', 'topic' = {_q(config.scores_topic)},
  'properties.bootstrap.servers' = {_q(config.bootstrap)},
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = {_q(f"{config.transactional_id_prefix}-scores")},
  'properties.transaction.timeout.ms' = '{config.transaction_timeout_ms}',
  'key.format' = 'raw',
  'key.fields' = 'k',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY'
)"""


SCORED_VIEW = "scored"
"""The view the job registers: the keyed function's output, columns ``k`` (competition), ``v`` (the score
record) and ``t`` (its mark, ms)."""


def sink_insert() -> str:
    """The score records into their topic."""
    return f"INSERT INTO scores SELECT k, v, TO_TIMESTAMP_LTZ(t, 3) FROM {SCORED_VIEW}"  # noqa: S608
