"""One checkpoint per table: the lake records which checkpoint writes each table, and refuses any other.

Why: the commit protocol (:mod:`streaming.sink`) names files after the batch ids of one checkpoint.
A second checkpoint over the same tables (checkpoints deleted while the lake is kept, or two jobs
with two checkpoint folders or two topic prefixes on one lake) counts its batches from 0 again: its
batch 0 would be taken for a replay of the first one's and delete that batch's files, or collide
with them. So, before the job reads, writes or deletes anything:

- each checkpoint folder gets an id, ``<checkpoint>/telemetry-claim-id``, made when the job first
  runs with it (a checkpoint of an earlier version that already has offsets gets one then too);
- each query's folder in the lake's staging area, ``<lake>/_staging/<query>/_claim``, holds the id
  of the checkpoint that writes its tables (and, for messages, that checkpoint and the topic).

A job whose checkpoint is not the claimant is refused with a message saying which checkpoint is,
and what to do. A lake written before claims existed is adopted by a checkpoint that has offsets,
and refused to a new one. On an object store two jobs started in the same second could both claim
an empty lake (S3 has no create-if-absent through S3A); the second one's first commit still fails,
because the commit never overwrites a file (:meth:`streaming.sink.HadoopFs.move`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from core.errors import TelemetryError
from streaming.sink import STAGING_DIR, HadoopFs

__all__ = ["CHECKPOINT_ID_FILE", "CLAIM_FILE", "claim_tables"]

CLAIM_FILE = "_claim"
CHECKPOINT_ID_FILE = "telemetry-claim-id"


def _read(fs: HadoopFs, uri: str) -> str | None:
    return fs.read_text(uri) if fs.exists(uri) else None


def claim_tables(fs: HadoopFs, lake: str, query: str, checkpoint: str, topic: str, tables: Iterable[str]) -> None:
    """Make sure the checkpoint ``checkpoint`` is the one that writes ``query``'s tables; claim them when free.

    Raises:
        TelemetryError: the tables belong to another checkpoint, or hold files and the checkpoint is new.
    """
    claim_uri = f"{lake}/{STAGING_DIR}/{query}/{CLAIM_FILE}"
    id_uri = f"{checkpoint}/{CHECKPOINT_ID_FILE}"
    own = _read(fs, id_uri)
    started = bool(fs.children(f"{checkpoint}/offsets"))
    text = _read(fs, claim_uri)
    if text is None:
        files = [t for t in tables if fs.glob(f"{lake}/{t}/*=*/part-*")]  # batch files, or compacted ones
        if files and not started:
            _refuse_new(query, checkpoint, lake, files[0], None)
        own = own or uuid.uuid4().hex
        fs.write_text(id_uri, own)
        record = {"id": own, "checkpoint": checkpoint, "topic": topic}
        if not fs.create_text(claim_uri, json.dumps(record)):  # another job claimed it a moment ago
            text = _read(fs, claim_uri)
    if text is None:
        return
    claim = json.loads(text)
    if claim.get("id") == own:
        return
    if own is None and not started:
        _refuse_new(query, checkpoint, lake, query, claim)
    msg = (
        f"the lake {lake} holds the {query} table of another job (checkpoint {claim.get('checkpoint')}, topic "
        f"{claim.get('topic')}), and this job's checkpoint {checkpoint} would write it too; nothing was written. "
        "Give this job its own --lake, or run the other job's checkpoint"
    )
    raise TelemetryError(msg)


def _refuse_new(query: str, checkpoint: str, lake: str, table: str, claim: dict[str, str] | None) -> None:
    owner = f" (written with checkpoint {claim.get('checkpoint')})" if claim else ""
    msg = (
        f"checkpoint {checkpoint} is new, but the lake {lake} already holds the {table} table{owner}: were the "
        "checkpoints deleted, or does another job write this lake? A new checkpoint would read its topic again "
        "into the same tables; nothing was written or deleted. Use the original checkpoints, or a new --lake, "
        f"or delete the lake's {query} tables and {lake}/{STAGING_DIR}/{query} to build them again from Kafka"
    )
    raise TelemetryError(msg)
