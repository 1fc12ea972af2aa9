"""The Flink scores job: ``.venv-flink/bin/python -m pipelines.flink.scores_job --bootstrap HOST:PORT
--competitions FILE``.

Fills and bars come from Kafka as raw bytes (:func:`pipelines.flink.scores.source_ddl`); :class:`Route`
sends a fill to its entry and a bar to every entry whose competition it prices; :class:`ScoreFunction`,
keyed by (competition, entry), runs ``quanta.competitions.scoring.CompetitionScorer`` for that one entry
— the in-process scorer's code, whose books are independent of each other, so an entry's events are the
ones the in-process ``ScoreJob`` publishes for it — and keeps the scorer in Flink keyed state (pickled),
which checkpoints cover. The score records go to ``quanta.scores`` keyed by competition, exactly once.

The first line on stdout is ``{"event": "started", "job_id": …, "startup_s": …}`` as for the bars job
(:mod:`pipelines.flink.launch` waits for it); restart with ``--restore-from`` a checkpoint to resume.
Runs in ``.venv-flink``; the functions run in Flink's Python worker and import ``quanta`` there.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator, Sequence

from pyflink.common import Row, Types
from pyflink.datastream import (
    FlatMapFunction,
    KeyedProcessFunction,
    RuntimeContext,
)
from pyflink.datastream.state import ValueState, ValueStateDescriptor
from pyflink.table import StreamTableEnvironment

from pipelines.flink import paths, runtime, scores
from quanta.competitions.events import encode_score
from quanta.competitions.scoring import CompetitionScorer
from quanta.paper.events import decode_fill
from quanta.streaming.errors import MalformedEventError
from quanta.streaming.schema import decode_bar

log = logging.getLogger(__name__)

ROUTED = Types.ROW_NAMED(
    ["c", "a", "fill", "value"],
    [Types.STRING(), Types.STRING(), Types.BOOLEAN(), Types.PRIMITIVE_ARRAY(Types.BYTE())],
)
SCORED = Types.ROW_NAMED(["k", "v", "t"], [Types.STRING(), Types.STRING(), Types.LONG()])


class Route(FlatMapFunction):  # type: ignore[misc]
    """A fill to (its entry's competition, the entry); a bar to every entry of the competitions it prices."""

    def __init__(self, competitions: Sequence[scores.ScoredCompetition], fills_topic: str) -> None:
        self.fills_topic = fills_topic
        self.competitions = list(competitions)
        self.entries: dict[str, list[str]] = {}  # account -> the competitions it is an entry of
        for competition in competitions:
            for account in competition.accounts:
                self.entries.setdefault(account, []).append(competition.id)

    def flat_map(self, value: Row) -> Iterator[Row]:
        """One record in; one row per (competition, entry) it concerns out (none for a malformed one)."""
        topic, data = value[0], bytes(value[1])
        try:
            if topic == self.fills_topic:
                fill = decode_fill(data)
                yield from (Row(c, fill.account, True, data) for c in self.entries.get(fill.account, ()))
                return
            bar = decode_bar(data)
        except MalformedEventError as exc:
            log.warning("skipping a malformed record of %s: %s", topic, exc)
            return
        for competition in self.competitions:
            rules = competition.rules
            if bar.symbol in rules.symbols and bar.interval == rules.interval:
                yield from (Row(competition.id, account, False, data) for account in competition.accounts)


class ScoreFunction(KeyedProcessFunction):  # type: ignore[misc]
    """Per (competition, entry): a ``CompetitionScorer`` of that entry in keyed state; its events out."""

    def __init__(self, competitions: Sequence[scores.ScoredCompetition]) -> None:
        self.rules = {competition.id: competition.rules for competition in competitions}
        self._state: ValueState | None = None

    def open(self, runtime_context: RuntimeContext) -> None:
        """Declare the keyed state: the entry's scorer."""
        self._state = runtime_context.get_state(ValueStateDescriptor("scorer", Types.PICKLED_BYTE_ARRAY()))

    def process_element(self, value: Row, ctx: KeyedProcessFunction.Context) -> Iterator[Row]:
        """A fill or a bar of the entry in; a score record out if its standing changed."""
        assert self._state is not None
        competition, account, is_fill, data = value[0], value[1], value[2], bytes(value[3])
        scorer: CompetitionScorer | None = self._state.value()
        if scorer is None:
            scorer = CompetitionScorer(competition, self.rules[competition], [account])
        events = scorer.on_fill(decode_fill(data)) if is_fill else scorer.on_bar(decode_bar(data))
        self._state.update(scorer)  # a fill or bar before the first mark changes the scorer, not its figures
        for event in events:
            yield Row(competition, encode_score(event).decode(), event.ts)


def build(tables: StreamTableEnvironment, config: scores.ScoresJobConfig) -> None:
    """Register the source, the scored view and the sink."""
    competitions = scores.read_competitions(config.competitions)
    tables.execute_sql(scores.source_ddl(config, competitions))
    tables.execute_sql(scores.sink_ddl(config))
    stream = (
        tables.to_data_stream(tables.from_path("score_inputs"))
        .flat_map(Route(competitions, config.fills_topic), output_type=ROUTED)
        .name("route")
        .key_by(lambda row: f"{row[0]}\t{row[1]}", key_type=Types.STRING())
        .process(ScoreFunction(competitions), output_type=SCORED)
        .name("score")
    )
    tables.create_temporary_view(scores.SCORED_VIEW, tables.from_data_stream(stream))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job until it fails."""
    started = time.monotonic()
    config = scores.parse(argv)
    options = scores.flink_options(config, python=sys.executable, connector_jar=paths.connector_jar())
    stream, tables = runtime.table_environment(options, heap_mb=config.jvm_heap_mb)
    build(tables, config)
    job = tables.create_statement_set()
    job.add_insert_sql(scores.sink_insert())
    return runtime.run(job, stream, "quanta-flink-scores", started)


if __name__ == "__main__":
    sys.exit(main())
