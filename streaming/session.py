"""The SparkSession of the streaming job: connector jars, UTC, Parquet timestamps, S3A, the lake's Iceberg catalog.

Launched from Python (``python -m streaming``) it starts its own local driver with the connector
jars from the Maven cache. Launched by ``spark-submit`` it leaves master, jars and driver memory to
the command line and only sets what the job itself depends on.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError
from core.iceberg import CATALOG_NAME
from core.settings import jvm_dir
from streaming.settings import StreamingSettings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["configure", "connector_jars", "get_spark", "launched_by_spark_submit", "s3a_conf", "spark_conf"]

# Session settings the job's output depends on, wherever it runs.
_JOB_CONF = {
    # dt is the event date in UTC, and timestamps are read and written as UTC.
    "spark.sql.session.timeZone": "UTC",
    # INT96 (Spark's legacy default) is not what DuckDB and Athena expect for timestamp columns.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.shuffle.partitions": "4",
    # Spark 4.1.1's Kafka source (V2) fails with a NullPointerException in its progress metrics when a
    # restarted query replays an unfinished batch (SPARK-55271), which is exactly the crash recovery the
    # job relies on. The V1 Kafka source reads the same offsets and checkpoints without that bug.
    "spark.sql.streaming.disabledV2MicroBatchReaders": "org.apache.spark.sql.kafka010.KafkaSourceProvider",
    # A generated method above 8,000 bytes of bytecode is never compiled by HotSpot's JIT (HugeMethodLimit)
    # and runs interpreted, several times slower per record: Spark then runs that part of the plan
    # without whole-stage code generation instead, as its documentation advises on HotSpot. The job's
    # stages stay below it (docs/benchmarks.md, "Streaming: where the time goes"); this is the guard.
    "spark.sql.codegen.hugeMethodLimit": "8000",
    # The job logs its own progress (streaming.listener); the console bar would garble it.
    "spark.ui.showConsoleProgress": "false",
    # Without Hadoop's native library, FileContext's rename (the default checkpoint manager's) runs
    # `readlink` in a new process for every checkpoint file: the FileSystem-based manager renames with
    # the file system's own rename, atomic on local disk and HDFS, a copy on S3 either way
    # (docs/benchmarks.md, "Latency: where the time goes"). The raw local file system would also save
    # the .crc files, but S3A's upload buffer needs the checksummed one (FileSystem.getLocal): it
    # keeps its class and stops writing them instead (configure).
    "spark.sql.streaming.checkpointFileManagerClass": (
        "org.apache.spark.sql.execution.streaming.checkpointing.FileSystemBasedCheckpointFileManager"
    ),
}
_CATALOG_PREFIX = f"spark.sql.catalog.{CATALOG_NAME}"
_DEFAULT_CREDENTIALS = "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider"


def connector_jars(folder: Path | None = None) -> list[Path]:
    """The Kafka, Avro, S3A and Iceberg jars `make setup` put in the cache.

    Raises:
        ConfigError: none are there (setup never ran).
    """
    folder = folder or jvm_dir("spark")
    jars = sorted(folder.glob("*.jar"))
    names = " ".join(j.name for j in jars)
    if not all(jar in names for jar in ("spark-sql-kafka", "spark-avro", "iceberg-spark-runtime")):
        msg = f"the Spark connector jars are missing from {folder}; run `make setup`"
        raise ConfigError(msg)
    return jars


def s3a_conf(settings: StreamingSettings) -> dict[str, str]:
    """Hadoop S3A settings (``spark.hadoop.fs.s3a.*``) from the standard AWS variables.

    Credentials always come from the AWS SDK's default provider chain (environment, profile,
    container or instance role), never from the project's files. An explicit endpoint (an
    S3-compatible store, or moto in tests) switches to path-style addressing.
    """
    conf = {"spark.hadoop.fs.s3a.aws.credentials.provider": _DEFAULT_CREDENTIALS}
    if settings.aws_region:
        conf["spark.hadoop.fs.s3a.endpoint.region"] = settings.aws_region
    if settings.s3_endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = settings.s3_endpoint
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(settings.s3_endpoint.startswith("https")).lower()
        if not settings.aws_region:
            # The SDK insists on a region even for a custom endpoint; this one is a placeholder.
            conf["spark.hadoop.fs.s3a.endpoint.region"] = "us-east-1"
    return conf


def spark_conf(settings: StreamingSettings, *, submitted: bool, jars: list[Path] | None = None) -> dict[str, str]:
    """Every Spark setting the job sets; launch settings only when not launched by spark-submit."""
    conf = {**_JOB_CONF, **s3a_conf(settings), **settings.iceberg().spark_conf()}
    if not submitted:
        conf["spark.master"] = settings.spark_master
        conf["spark.driver.memory"] = settings.driver_memory
        # URIs: a plain path with a space or a "%" is not one, and Spark would guess at it.
        conf["spark.jars"] = ",".join(j.as_uri() for j in (jars if jars is not None else connector_jars()))
        if settings.spark_master.startswith("local"):
            # A local driver serves nobody else: keep it on loopback and without a web UI.
            conf["spark.driver.bindAddress"] = "127.0.0.1"
            conf["spark.driver.host"] = "127.0.0.1"
            conf.setdefault("spark.ui.enabled", "false")
    return conf


def launched_by_spark_submit() -> bool:
    """Whether this Python process was started by spark-submit (its JVM is already running)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def get_spark(settings: StreamingSettings, app_name: str = "telemetry-streaming") -> SparkSession:
    """Create (or reuse) the SparkSession configured for the job."""
    from pyspark.sql import SparkSession

    logging.getLogger("py4j").setLevel(logging.WARNING)  # its INFO lines are every callback
    submitted = launched_by_spark_submit()
    if not submitted and settings.spark_master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app_name)
    for key, value in spark_conf(settings, submitted=submitted).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    configure(spark, settings)
    return spark


def configure(spark: SparkSession, settings: StreamingSettings) -> None:
    """Apply the job's session and S3A settings to a running session (one shared by tests, say)."""
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001 - no public Python API for it
    catalog_changed = False
    for key, value in spark_conf(settings, submitted=True).items():
        if key.startswith("spark.hadoop."):
            hadoop.set(key.removeprefix("spark.hadoop."), value)
        elif key == "spark.sql.extensions":
            continue  # a static setting: the session was built with it (get_spark) or by spark-submit's conf
        elif key.startswith("spark.sql."):
            catalog_changed |= key.startswith(_CATALOG_PREFIX) and spark.conf.get(key, None) != value
            spark.conf.set(key, value)
    if catalog_changed:
        # Spark builds a catalog once, from the settings it finds then: a session shared by jobs on several
        # lakes (tests) must build it again for this lake's settings.
        spark._jsparkSession.sessionState().catalogManager().reset()  # noqa: SLF001 - no Python API for it
    # No .crc file beside each file written to local disk: Hadoop runs `chmod` for each file it creates,
    # so a .crc doubles that cost; the lake's readers never read them. The JVM's one local file system.
    jvm: Any = spark.sparkContext._jvm  # noqa: SLF001 - Hadoop's FileSystem has no Python API
    jvm.org.apache.hadoop.fs.FileSystem.getLocal(hadoop).setWriteChecksum(False)
