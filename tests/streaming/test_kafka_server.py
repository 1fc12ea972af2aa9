"""The throwaway Kafka broker of the test kit: restartable on its data, loud when it cannot start."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from quanta.testing.services import KafkaBroker, ServiceError, kafka_brokers


@pytest.mark.kafka
def test_session_broker_answers_metadata_with_itself(kafka_broker: KafkaBroker, kafka_bootstrap: str) -> None:
    host, port = kafka_bootstrap.split(":")
    assert kafka_brokers(host, int(port)) == [(1, "127.0.0.1", kafka_broker.port)]
    assert kafka_broker.running


def test_missing_jars_fail_with_the_command_that_fetches_them(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path, libs=tmp_path / "no-libs")
    broker.logs.mkdir()
    with pytest.raises(ServiceError, match="make kafka-jars"):
        broker.format()


@pytest.mark.kafka
def test_broker_that_cannot_start_fails_with_its_log_tail(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path)
    broker.logs.mkdir()
    broker.format()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", broker.port))
        taken.listen()
        with pytest.raises(ServiceError, match="Kafka log tail") as caught:
            broker.start()
    assert "Address already in use" in str(caught.value)
    assert not broker.running
