"""The Spark Structured Streaming job: Kafka -> decode by writer schema -> Parquet lake, exactly once.

Modules: :mod:`~streaming.settings` (configuration), :mod:`~streaming.session` (SparkSession),
:mod:`~streaming.source` (Kafka options), :mod:`~streaming.decode` (header parsing, decoding and
quarantine reasons as Spark columns), :mod:`~streaming.resolver` (registry look-ups),
:mod:`~streaming.sink` (idempotent batch commit), :mod:`~streaming.batch` (one micro-batch: the
entity writes, in parallel), :mod:`~streaming.job` (the query),
:mod:`~streaming.listener` (progress), :mod:`~streaming.show` (what landed), :mod:`~streaming.cli`.
"""
