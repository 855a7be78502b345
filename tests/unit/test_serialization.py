"""Records into Confluent wire format, and what a record that does not fit its schema is told."""

from __future__ import annotations

import io
import uuid

import fastavro
import pytest

from core.catalog import Catalog, load_catalog
from core.errors import SchemaError, SerializationError
from core.wire import parse_header
from producer.serializer import WireSerializer, find_mismatch
from producer.simulator import STREAMS, Event, SimulationConfig, simulate


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def samples(catalog: Catalog) -> dict[str, list[Event]]:
    config = SimulationConfig(vehicles=2, max_steps=400, camera_spacing_m=300.0, emergency_probability=0.05)
    grouped: dict[str, list[Event]] = {name: [] for name in STREAMS}
    for event in simulate(config, catalog):
        grouped[event.stream].append(event)
    return grouped


@pytest.fixture(scope="module")
def vehicle(samples: dict[str, list[Event]]) -> dict:
    return samples["vehicle"][5].value


@pytest.fixture(scope="module")
def serializer(catalog: Catalog) -> WireSerializer:
    return WireSerializer("vehicle_data-value", 42, catalog.get("vehicle").schema_str)


@pytest.mark.parametrize("stream", STREAMS)
def test_records_round_trip_through_the_wire_format(
    stream: str, samples: dict[str, list[Event]], catalog: Catalog
) -> None:
    parsed = catalog.get(stream).parsed
    serializer = WireSerializer(f"{stream}-value", 1000 + len(stream), catalog.get(stream).schema_str)
    assert samples[stream]
    for event in samples[stream]:
        message = serializer.serialize(event.value)
        schema_id, body = parse_header(message)
        assert schema_id == 1000 + len(stream)
        assert _plain(fastavro.schemaless_reader(io.BytesIO(body), parsed)) == event.value


def _plain(record: dict) -> dict:
    """fastavro reads logical uuids as uuid.UUID; the producer writes them as str."""
    return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in record.items()}


def test_the_body_is_plain_avro_with_a_five_byte_header(serializer: WireSerializer, vehicle: dict) -> None:
    message = serializer.serialize(vehicle)
    plain = io.BytesIO()
    fastavro.schemaless_writer(plain, fastavro.parse_schema(serializer.schema), vehicle)
    assert message == b"\x00\x00\x00\x00\x2a" + plain.getvalue()


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"speed_kmh": "fast"}, "at field speed_kmh: 'fast' (str) is not double"),
        ({"location": {"latitude": None, "longitude": 1.0}}, "at field location.latitude: None"),
        ({"location": 7}, "at field location: expected a record Location"),
        ({"fuel_type": "STEAM"}, "at field fuel_type: 'STEAM' (str) is not enum FuelType"),
        ({"year": "2024"}, "at field year: '2024' (str) is not int"),
        ({"odometer_km": 12.0}, "at field odometer_km: not a field of the schema"),
        ({"event_time": "yesterday"}, "at field event_time: 'yesterday' (str) is not long (timestamp-millis)"),
    ],
)
def test_a_record_that_does_not_fit_names_the_field_path(
    serializer: WireSerializer, vehicle: dict, change: dict, path: str
) -> None:
    with pytest.raises(SerializationError) as caught:
        serializer.serialize({**vehicle, **change})
    message = str(caught.value)
    assert "schema id 42 of subject vehicle_data-value" in message
    assert path in message
    assert "\n" not in message


def test_a_missing_field_without_default_is_named(serializer: WireSerializer, vehicle: dict) -> None:
    record = {k: v for k, v in vehicle.items() if k != "model"}
    with pytest.raises(SerializationError, match="at field model: missing, and the schema gives no default"):
        serializer.serialize(record)


def test_a_missing_field_with_a_default_is_written_with_it(catalog: Catalog, samples: dict[str, list[Event]]) -> None:
    gps = catalog.get("gps")
    record = {k: v for k, v in samples["gps"][0].value.items() if k != "altitude_m"}
    message = WireSerializer("gps", 1, gps.schema).serialize(record)
    assert fastavro.schemaless_reader(io.BytesIO(message[5:]), gps.parsed)["altitude_m"] is None


def test_find_mismatch_is_none_for_a_fitting_record(serializer: WireSerializer, vehicle: dict) -> None:
    assert find_mismatch(vehicle, serializer.schema) is None


def test_nested_named_types_are_resolved_by_name() -> None:
    schema = {
        "type": "record",
        "name": "Trip",
        "namespace": "t",
        "fields": [
            {"name": "start", "type": {"type": "record", "name": "Point", "fields": [{"name": "x", "type": "double"}]}},
            {"name": "end", "type": "t.Point"},
            {"name": "via", "type": ["null", "Point"], "default": None},
        ],
    }
    serializer = WireSerializer("trip", 1, schema)
    assert serializer.serialize({"start": {"x": 1.0}, "end": {"x": 2.0}, "via": {"x": 3.0}})
    with pytest.raises(SerializationError, match=r"at field end\.x: 'far' \(str\) is not double"):
        serializer.serialize({"start": {"x": 1.0}, "end": {"x": "far"}})


def test_a_registered_schema_that_is_not_avro_is_refused() -> None:
    with pytest.raises(SchemaError, match="id 9 for subject broken-value is not valid Avro"):
        WireSerializer("broken-value", 9, '{"type": "record", "name": "X", "fields": [{"name": "a"}]}')
