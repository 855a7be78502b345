"""Settings of ``python -m streaming compact``: which lake, the target file size, which partitions.

Read from the environment (``TELEMETRY_LAKE``, ``TELEMETRY_COMPACT_TARGET_MB``,
``TELEMETRY_COMPACT_LATENESS_DAYS``) with command-line flags winning, validated on load and frozen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.errors import ConfigError
from core.lake import LakeLocation
from core.settings import check_known, env_int, lake_location

__all__ = ["DEFAULT_LATENESS_DAYS", "DEFAULT_TARGET_MB", "CompactSettings"]

DEFAULT_TARGET_MB = 128
DEFAULT_LATENESS_DAYS = 1


@dataclass(frozen=True)
class CompactSettings:
    """What compaction rewrites.

    Attributes:
        lake: the lake (a local folder or S3).
        target_bytes: the size of the files it writes; files under half of it are merged.
        before: compact partitions dated before this day (``dt`` < before); None for every partition.
        tables: the tables (``vehicle``, ``vehicle_quarantine``) to compact; empty for all.
    """

    lake: LakeLocation
    target_bytes: int
    before: date | None
    tables: tuple[str, ...] = ()

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        lake: str | None = None,
        target_mb: int | None = None,
        lateness_days: int | None = None,
        before: str | None = None,
        every_partition: bool = False,
        tables: str | None = None,
        today: date | None = None,
    ) -> CompactSettings:
        """Build from the environment and flags.

        By default the partitions older than the lateness window: ``dt`` before today (UTC) minus
        ``TELEMETRY_COMPACT_LATENESS_DAYS`` (1), so the day the job is still filling, and the day
        before it, which late events may still reach, are left to a later run.

        Raises:
            ConfigError: a setting out of range, or ``--before`` with ``--all``.
        """
        env = os.environ if env is None else env
        check_known(env)
        target = target_mb if target_mb is not None else env_int(env, "TELEMETRY_COMPACT_TARGET_MB", DEFAULT_TARGET_MB)
        if not 1 <= target <= 4096:
            msg = f"the compaction target must be between 1 and 4096 MB, got {target}"
            raise ConfigError(msg)
        if lateness_days is None:
            lateness_days = env_int(env, "TELEMETRY_COMPACT_LATENESS_DAYS", DEFAULT_LATENESS_DAYS)
        if lateness_days < 0:
            msg = f"the lateness window must be 0 days or more, got {lateness_days}"
            raise ConfigError(msg)
        if before and every_partition:
            msg = "give --before or --all, not both"
            raise ConfigError(msg)
        cutoff: date | None
        if every_partition:
            cutoff = None
        elif before:
            try:
                cutoff = date.fromisoformat(before.strip())
            except ValueError as exc:
                msg = f"--before must be a date like 2025-01-31, got {before!r}"
                raise ConfigError(msg) from exc
        else:
            cutoff = (today or datetime.now(UTC).date()) - timedelta(days=lateness_days)
        names = tuple(t.strip() for t in (tables or "").split(",") if t.strip())
        return cls(lake_location(env, lake), target * 1024 * 1024, cutoff, names)
