"""`make demo`: the whole platform end to end on the local stack.

Starts the stack if it is down, registers the schemas through the governed workflow, drives a small
fleet through the producer, drains Kafka into the lake with the streaming job (available-now), applies
the Glue catalog to the local AWS endpoint (moto) and queries the lake with DuckDB. It ends by
comparing what landed with what Kafka holds, table by table, and the last position of each vehicle
that the documented query reports with the last record an independent consumer read from Kafka.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from confluent_kafka import Consumer, TopicPartition
from pyiceberg.exceptions import NoSuchTableError

from core.catalog import Catalog, load_catalog, project_root
from core.cli import run_cli
from core.errors import StackError
from core.iceberg import IcebergCatalog
from core.iceberg_tables import open_catalog
from core.kafka_logs import librdkafka_logger
from core.queries import named_query
from core.settings import ConnectionSettings, database_name, lake_location
from lakesql.engine import connect, run_sql
from lakesql.queries import duckdb_sql
from lakesql.settings import LakeSqlSettings
from stack.cli import up
from stack.demo_check import last_position_mismatches, read_topic
from stack.services import MOTO_PORT, StackSettings

__all__ = ["count_kafka_records", "count_lake_rows", "main"]


def _say(message: str) -> None:
    print(message, flush=True)  # noqa: T201 - this is a CLI


def _run(title: str, *args: str, env: dict[str, str] | None = None) -> None:
    _say(f"\n==> {title}: python -m {' '.join(args)}")
    result = subprocess.run([sys.executable, "-m", *args], cwd=project_root(), env={**os.environ, **(env or {})},
                            check=False)  # fmt: skip
    if result.returncode != 0:
        msg = f"demo step '{title}' failed with exit code {result.returncode} (its output is above)"
        raise StackError(msg)


def count_kafka_records(settings: ConnectionSettings, catalog: Catalog) -> dict[str, int]:
    """Records in each stream's topic (end minus beginning offsets; no transactions, so no markers)."""
    consumer = Consumer({**settings.kafka_config(), "group.id": "telemetry-demo-count", "enable.auto.commit": False,
                         "logger": librdkafka_logger("demo")})  # fmt: skip
    counts = {}
    try:
        for stream in catalog.streams:
            topic = settings.topic(stream.topic)
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            total = 0
            for partition in partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                total += high - low
            counts[stream.name] = total
    finally:
        consumer.close()
    return counts


def count_lake_rows(iceberg: IcebergCatalog, table: str) -> int:
    """Rows of one of the lake's Iceberg tables in its current snapshot (0 before its first)."""
    try:
        loaded = open_catalog(iceberg).load_table(iceberg.table_id(table))
    except NoSuchTableError:
        return 0
    if loaded.current_snapshot() is None:
        return 0
    return loaded.scan(selected_fields=("kafka_offset",)).to_arrow().num_rows


def main() -> int:
    """Run the demo; exit 1 when what landed differs from what was produced."""
    started = time.monotonic()
    stack_settings = StackSettings.from_env()
    _say("==> local stack")
    _say("started" if up(stack_settings) else "already up")
    connection = ConnectionSettings.from_env()
    catalog = load_catalog()
    iceberg = IcebergCatalog.from_env(lake_location(), database_name())
    aws = {"AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL", f"http://127.0.0.1:{MOTO_PORT}")}
    for name, value in (("AWS_ACCESS_KEY_ID", "demo"), ("AWS_SECRET_ACCESS_KEY", "demo"), ("AWS_REGION", "us-east-1")):
        aws[name] = os.environ.get(name, value)

    _run("register the schemas (lint, compatibility, register)", "governance", "register")
    _run("drive 3 vehicles from London to Birmingham", "producer", "--vehicles", "3", "--rate", "0")
    _run("stream Kafka into the lake (available-now)", "streaming", "run", "--available-now")
    _run("what landed", "streaming", "show")
    _run("render and apply the Glue catalog (moto)", "glue", "render")
    _run("apply the Glue catalog (moto)", "glue", "apply", env=aws)
    _run("query the lake with DuckDB", "lakesql", "query", "--name", "last-position")

    produced = count_kafka_records(connection, catalog)
    _say("\n==> rows landed vs records in Kafka")
    _say(f"{'table':<10} {'in Kafka':>10} {'in lake':>10} {'quarantined':>12}")
    ok = True
    for stream in catalog.streams:
        landed = count_lake_rows(iceberg, stream.name)
        quarantined = count_lake_rows(iceberg, f"{stream.name}_quarantine")
        ok &= landed + quarantined == produced[stream.name]
        _say(f"{stream.name:<10} {produced[stream.name]:>10} {landed:>10} {quarantined:>12}")
    ok &= _check_last_position(connection, catalog)
    _say("\n==> see it in Superset: `make dashboard` starts it on http://127.0.0.1:8088 and prints how to log in")
    _say(f"\ndemo {'succeeded' if ok else 'FAILED: the lake differs from Kafka (see above)'} "
         f"in {time.monotonic() - started:.0f}s")  # fmt: skip
    return 0 if ok else 1


def _check_last_position(connection: ConnectionSettings, catalog: Catalog) -> bool:
    vehicles = read_topic(connection, connection.topic(catalog.get("vehicle").topic))
    settings = LakeSqlSettings.from_env()
    con = connect(catalog, settings)
    try:
        rows = run_sql(con, duckdb_sql(named_query("last-position"), settings.database)).rows
    finally:
        con.close()
    problems = last_position_mismatches(rows, vehicles)
    _say(f"\n==> last position of {len(rows)} vehicles (query last-position) vs the last record each sent to Kafka")
    _say("\n".join(problems) if problems else "equal for every vehicle")
    return not problems


if __name__ == "__main__":
    run_cli(main)
