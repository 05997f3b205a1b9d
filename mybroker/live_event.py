"""What the live backends share: the event they hand to broadcaster, and topic reference counts."""
from __future__ import annotations

from collections import Counter

from broadcaster import Event

from mybroker.events import Envelope


class LiveEvent(Event):
    """A broadcaster Event whose message is an Envelope's JSON. The Envelope is decoded
    once, on first use, and shared by every subscriber of the process (read-only)."""

    def __init__(self, channel: str, message: str, envelope: Envelope | None = None) -> None:
        super().__init__(channel, message)
        self._envelope = envelope

    @property
    def envelope(self) -> Envelope:
        """Raises ValueError (or KeyError) when the message is not an Envelope."""
        if self._envelope is None:
            self._envelope = Envelope.from_bytes(self.message)
        return self._envelope


def envelope_of(event: Event) -> Envelope:
    return event.envelope if isinstance(event, LiveEvent) else Envelope.from_bytes(event.message)


class TopicRefs:
    """How many subscriptions want each topic: a backend reads a topic from the first
    `add` until the last `remove`."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def add(self, topic: str) -> bool:
        """True when this is the topic's first reference."""
        self._counts[topic] += 1
        return self._counts[topic] == 1

    def remove(self, topic: str) -> bool:
        """True when this was the topic's last reference; an unknown topic is ignored."""
        if topic not in self._counts:
            return False
        self._counts[topic] -= 1
        if self._counts[topic] > 0:
            return False
        del self._counts[topic]
        return True

    def __contains__(self, topic: object) -> bool:
        return topic in self._counts

    def __len__(self) -> int:
        return len(self._counts)

    def names(self) -> set[str]:
        return set(self._counts)
