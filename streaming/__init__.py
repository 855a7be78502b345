"""The Spark Structured Streaming job: Kafka -> decode by writer schema -> the lake's Iceberg tables, exactly once.

Modules: :mod:`~streaming.settings` (configuration), :mod:`~streaming.session` (SparkSession),
:mod:`~streaming.source` (Kafka options), :mod:`~streaming.decode` (header parsing and decoding as
Spark columns), :mod:`~streaming.reasons` (quarantine reasons), :mod:`~streaming.rows` (table and
quarantine rows), :mod:`~streaming.resolver` (registry look-ups), :mod:`~streaming.checkpoint` (each
checkpoint's query id), :mod:`~streaming.owner` (one writer per table), :mod:`~streaming.commit` (each
batch's Iceberg commits, and what a replay finds), :mod:`~streaming.failpoints` (where the faults suite
stops the job), :mod:`~streaming.batch` (one micro-batch of one entity's query: decode, write the table and
its quarantine), :mod:`~streaming.job` (one query per entity), :mod:`~streaming.maintain` (table
maintenance), :mod:`~streaming.legacy` and :mod:`~streaming.importer` (a lake of the earlier Parquet
layout), :mod:`~streaming.listener` (progress), :mod:`~streaming.show` (what landed), :mod:`~streaming.cli`.
"""
