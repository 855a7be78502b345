"""The Spark Structured Streaming job: Kafka -> decode by writer schema -> Parquet lake, exactly once.

Modules: :mod:`~streaming.settings` (configuration), :mod:`~streaming.session` (SparkSession),
:mod:`~streaming.source` (Kafka options), :mod:`~streaming.decode` (header parsing, decoding and
quarantine reasons as Spark columns), :mod:`~streaming.resolver` (registry look-ups),
:mod:`~streaming.sink` (idempotent batch commit), :mod:`~streaming.batch` (one micro-batch of one
entity's query: decode, write the table and its quarantine, commit), :mod:`~streaming.job` (one query per entity),
:mod:`~streaming.listener` (progress), :mod:`~streaming.show` (what landed), :mod:`~streaming.cli`.
"""
