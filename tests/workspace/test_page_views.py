"""The strategy page's small view models: who is in the editing room, colours, the run form's fields, the
shared run's summary, and the words the editor completes."""

from __future__ import annotations

import re

from quanta.indicators import available_indicators
from quanta.sandbox import Job, JobKind, JobStatus
from quanta.workspace import StrategyClassInfo
from quanta.workspace.models import VerifiedBacktest
from state.strategy_run import completion_words, param_fields, room_token, run_view
from state.workspace_views import DEFAULT_PEER_COLOR, MAX_PEERS, PeerView, peer_views, person_color


def test_peers_are_cleaned_of_odd_names_and_colours_and_deduplicated() -> None:
    peers = peer_views(
        [
            {"name": "Ada Lovelace", "color": "#1a2b3c"},
            {"name": "Ada Lovelace", "color": "#1a2b3c"},
            {"name": "  bob  ", "color": "url(https://evil.example/x.png)"},
            {"name": "", "color": "#000000"},
            {"name": "x" * 100, "color": "#ABCDEF"},
            "not a peer",
            {"color": "#123456"},
        ]
    )
    assert peers == [
        PeerView(name="Ada Lovelace", initials="AL", color="#1a2b3c"),
        PeerView(name="bob", initials="B", color=DEFAULT_PEER_COLOR),
        PeerView(name="x" * 60, initials="X", color="#ABCDEF"),
    ]
    assert peer_views("nonsense") == []
    assert len(peer_views([{"name": f"p{i}", "color": "#000000"} for i in range(100)])) == MAX_PEERS


def test_a_person_s_colour_is_stable_and_a_css_hex_colour() -> None:
    assert person_color("ada") == person_color("ada")
    assert person_color("ada") != person_color("bob")
    assert all(re.fullmatch(r"#[0-9a-f]{6}", person_color(name)) for name in ("ada", "bob", "", "é😀"))


def test_room_tokens_are_distinct_per_strategy_and_free_of_underscores() -> None:
    tokens = {room_token(public_id) for public_id in ("st_abc", "st_abd", "st_a_b-c")}
    assert len(tokens) == 3
    assert not any("_" in token for token in tokens)


def test_the_editor_completes_the_strategy_api_and_every_indicator() -> None:
    words = completion_words()
    assert {"self.buy", "self.I", "crossover"} <= set(words)
    assert set(available_indicators()) <= set(words)
    assert len(words) == len(set(words))


def test_form_fields_follow_the_parameters_types() -> None:
    info = StrategyClassInfo(name="X", params={"fast": 10, "stop": 0.5, "long_only": True, "label": "a"})
    fields = {field.name: field for field in param_fields(info)}

    assert (fields["fast"].kind, fields["fast"].value, fields["fast"].numeric) == ("int", "10", True)
    assert (fields["fast"].start, fields["fast"].stop, fields["fast"].step) == ("5", "20", "1")
    assert (fields["stop"].kind, fields["stop"].start, fields["stop"].stop) == ("float", "0.25", "1.0")
    assert (fields["long_only"].kind, fields["long_only"].value, fields["long_only"].numeric) == (
        "bool",
        "true",
        False,
    )
    assert (fields["label"].kind, fields["label"].numeric, fields["label"].start) == ("str", False, "")


def test_the_shared_run_shows_headline_figures_best_parameters_or_the_error() -> None:
    stats = {"Return [%]": 12.5, "Sharpe Ratio": 0.8, "Max. Drawdown [%]": -7.25, "# Trades": 9}
    done = Job(
        public_id="st_x.1",
        owner_id=1,
        kind=JobKind.BACKTEST,
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        message="done",
        result={"stats": stats},
    )
    verified = VerifiedBacktest.model_validate(
        {"run_id": "st_x.1", "receipt_hash": "h", "version": 3, "return_pct": 12.5, "max_drawdown_pct": -7.25}
        | {"as_of": "2025-01-01T00:00:00Z"}
    )
    view = run_view(done, verified)
    assert (view.status, view.progress, view.kind) == ("succeeded", 1.0, "backtest")
    assert view.summary == [
        {"name": "Return [%]", "value": "12.5"},
        {"name": "Sharpe Ratio", "value": "0.8"},
        {"name": "Max. Drawdown [%]", "value": "-7.25"},
        {"name": "# Trades", "value": "9"},
    ]
    assert view.verified == "Recorded as the verified backtest of version 3."

    search = Job(
        public_id="st_x.2",
        owner_id=1,
        kind=JobKind.OPTIMIZE,
        status=JobStatus.SUCCEEDED,
        result={"best_params": {"fast": 5, "slow": 30}, "evaluated": 9},
    )
    assert run_view(search).summary == [
        {"name": "Best parameters", "value": "fast=5, slow=30"},
        {"name": "Parameter sets", "value": "9"},
    ]

    failed = Job(
        public_id="st_x.3",
        owner_id=1,
        status=JobStatus.FAILED,
        error_kind="strategy",
        error_message="ZeroDivisionError: division by zero",
        error_line=7,
    )
    assert run_view(failed).summary == [
        {"name": "strategy", "value": "ZeroDivisionError: division by zero (line 7)"}
    ]
    running = Job(public_id="st_x.4", owner_id=1, status=JobStatus.RUNNING, progress=0.4, message="running")
    assert (run_view(running).progress, run_view(running).message, run_view(running).summary) == (
        0.4,
        "running",
        [],
    )
