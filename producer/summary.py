"""What a production run did: events per topic, delivered, failed, throughput."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ProduceSummary", "TopicCounts"]


@dataclass(frozen=True)
class TopicCounts:
    """Counts of one topic."""

    topic: str
    produced: int
    delivered: int
    failed: int


@dataclass(frozen=True)
class ProduceSummary:
    """The outcome of producing: per-topic counts, bytes and time.

    Attributes:
        topics: counts per topic, in the catalog's order.
        value_bytes: bytes of serialized values handed to Kafka.
        started_at: when the first event was produced (seconds since the epoch), None if none was.
        finished_at: when the flush ended (or now, for a summary taken while running).
        last_error: the last delivery or client error, if any (e.g. ``Local: Message timed out``).
    """

    topics: tuple[TopicCounts, ...] = ()
    value_bytes: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    last_error: str | None = field(default=None)

    @property
    def elapsed_s(self) -> float:
        """Wall-clock seconds from the first event produced to the end of the flush."""
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return max(0.0, self.finished_at - self.started_at)

    @property
    def produced(self) -> int:
        """Records handed to the Kafka client."""
        return sum(t.produced for t in self.topics)

    @property
    def delivered(self) -> int:
        """Records the brokers acknowledged."""
        return sum(t.delivered for t in self.topics)

    @property
    def failed(self) -> int:
        """Records whose delivery report was an error."""
        return sum(t.failed for t in self.topics)

    @property
    def undelivered(self) -> int:
        """Records not acknowledged: failed, or still without a delivery report after the flush."""
        return self.produced - self.delivered

    @property
    def events_per_s(self) -> float:
        """Produced records per wall-clock second."""
        return self.produced / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def mb_per_s(self) -> float:
        """Serialized value megabytes (10^6 bytes) per wall-clock second."""
        return self.value_bytes / 1e6 / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def merge(self, other: ProduceSummary) -> ProduceSummary:
        """The summary of two runs side by side (e.g. two worker processes): counts add, time spans both."""
        by_topic = {t.topic: t for t in self.topics}
        for t in other.topics:
            mine = by_topic.get(t.topic)
            by_topic[t.topic] = (
                TopicCounts(t.topic, mine.produced + t.produced, mine.delivered + t.delivered, mine.failed + t.failed)
                if mine
                else t
            )
        return ProduceSummary(
            topics=tuple(by_topic.values()),
            value_bytes=self.value_bytes + other.value_bytes,
            started_at=min((t for t in (self.started_at, other.started_at) if t is not None), default=None),
            finished_at=max((t for t in (self.finished_at, other.finished_at) if t is not None), default=None),
            last_error=other.last_error or self.last_error,
        )

    def render(self) -> str:
        """A plain-text table for the terminal or a log."""
        width = max([len("topic"), *(len(t.topic) for t in self.topics)])
        lines = [f"{'topic':<{width}}  {'events':>10}  {'delivered':>10}  {'failed':>8}"]
        lines += [f"{t.topic:<{width}}  {t.produced:>10}  {t.delivered:>10}  {t.failed:>8}" for t in self.topics]
        lines.append(f"{'total':<{width}}  {self.produced:>10}  {self.delivered:>10}  {self.failed:>8}")
        lines.append(
            f"{self.produced} events in {self.elapsed_s:.1f} s: {self.events_per_s:,.0f} events/s, "
            f"{self.mb_per_s:.2f} MB/s"
        )
        return "\n".join(lines)
