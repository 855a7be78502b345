"""The Spark Structured Streaming job: Kafka -> decode by writer schema -> Parquet lake, exactly once.

Modules: :mod:`~streaming.settings` (configuration), :mod:`~streaming.session` (SparkSession),
:mod:`~streaming.source` (Kafka options), :mod:`~streaming.decode` (header parsing and decoding as
Spark columns), :mod:`~streaming.reasons` (quarantine reasons), :mod:`~streaming.rows` (table and
quarantine rows), :mod:`~streaming.resolver` (registry look-ups), :mod:`~streaming.claim` (one
checkpoint per table), :mod:`~streaming.sink` (idempotent batch commit), :mod:`~streaming.failpoints`
(where the faults suite stops the job), :mod:`~streaming.batch` (one micro-batch of one entity's query:
decode, write the table and its quarantine, commit), :mod:`~streaming.job` (one query per entity),
:mod:`~streaming.listener` (progress), :mod:`~streaming.show` (what landed), :mod:`~streaming.cli`.
"""
