"""The producer's options, work split and summary, without Kafka or the registry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.catalog import load_catalog
from core.errors import ConfigError
from core.settings import ConnectionSettings
from producer.cli import main
from producer.producer import TelemetryProducer
from producer.run import RunOptions
from producer.simulator import SimulationConfig
from producer.summary import ProduceSummary, TopicCounts


@pytest.mark.parametrize(("vehicles", "workers", "count"), [(5, 2, 1001), (3, 3, None), (7, 1, 10)])
def test_workers_split_the_fleet_and_the_count_without_overlap(vehicles: int, workers: int, count: int | None) -> None:
    options = RunOptions(simulation=SimulationConfig(vehicles=vehicles), workers=workers, count=count, rate=90.0)
    shares = [options.share(w) for w in range(workers)]
    fleet = [v for share in shares for v in share[0]]
    assert sorted(fleet) == list(range(vehicles))
    assert all(share[0] for share in shares)
    if count is None:
        assert all(share[1] is None for share in shares)
    else:
        assert sum(share[1] or 0 for share in shares) == count
    assert sum(share[2] for share in shares) == pytest.approx(90.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 4}, "--workers must be between 1 and the number of vehicles"),
        ({"count": -1}, "--count must be at least 0"),
        ({"rate": -5.0}, "--rate and --speedup"),
    ],
)
def test_bad_run_options_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RunOptions(simulation=SimulationConfig(vehicles=3), **options)


def test_unknown_producer_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown producer setting\(s\) \['lingerms'\]"):
        TelemetryProducer(ConnectionSettings(), load_catalog(), lingerms=5)
    with pytest.raises(ConfigError, match="compression"):
        TelemetryProducer(ConnectionSettings(), load_catalog(), compression="brotli")


def test_summaries_of_two_workers_add_up() -> None:
    one = ProduceSummary((TopicCounts("a", 10, 10, 0), TopicCounts("b", 5, 3, 2)), 100, 1000.0, 1002.0, None)
    two = ProduceSummary((TopicCounts("a", 4, 4, 0),), 50, 1001.0, 1004.0, "Local: Message timed out")
    both = one.merge(two)
    assert [(t.topic, t.produced, t.delivered, t.failed) for t in both.topics] == [("a", 14, 14, 0), ("b", 5, 3, 2)]
    assert (both.produced, both.delivered, both.failed, both.undelivered) == (19, 17, 2, 2)
    assert both.elapsed_s == 4.0 and both.events_per_s == 19 / 4
    assert both.last_error == "Local: Message timed out"
    assert both.render().splitlines()[-2].split() == ["total", "19", "17", "2"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--start", "2025-01-06T08:00:00"], "has no time zone"),
        (["--start", "tomorrow"], "is not an ISO 8601 time"),
        (["--duration", "-1"], "--duration must be at least 0"),
        (["--origin", "atlantis"], "unknown place 'atlantis'"),
    ],
)
def test_bad_command_lines_fail_before_contacting_anything(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        main(["--registry-url", "http://127.0.0.1:1", *argv])


def test_a_start_time_with_an_offset_is_converted_to_utc() -> None:
    config = SimulationConfig(start_time=datetime.fromisoformat("2025-01-06T09:00:00+01:00"))
    assert config.start_time == datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def test_the_message_key_is_the_field_streams_toml_names() -> None:
    from core.catalog import load_catalog
    from producer.producer import message_key
    from producer.simulator import SimulationConfig, simulate

    catalog = load_catalog()
    for event in simulate(SimulationConfig(vehicles=2, max_steps=3, emergency_probability=1.0), catalog):
        field = catalog.get(event.stream).key_field
        assert message_key(event.value, field) == event.value[field].encode() == event.key.encode()
    assert message_key({"vehicle_id": "v", "camera_id": "cam-7"}, "camera_id") == b"cam-7"
