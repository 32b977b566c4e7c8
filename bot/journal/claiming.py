"""Which unfinished entries one claim takes: the rule every backend applies alike.

Pure: the backend feeds it the unfinished entries in arrival order and stops reading as soon as it says
so, then makes the chosen entries its own (in memory for SQLite, under a lease for PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ClaimChooser:
    """Keeps a key's entries in order, at most ``per_key`` of them, and whole bursts of ``keys`` keys."""

    limit: int
    per_key: int
    keys: int | None
    chosen: list[int] = field(default_factory=list)  # the entries' sequence numbers, in arrival order
    _blocked: set[str] = field(default_factory=set)
    _taken_per_key: dict[str, int] = field(default_factory=dict)
    _keyless: int = 0
    _closed: int = 0  # keys taken that can take no more (per_key reached, or blocked)

    def wants_more(self) -> bool:
        """False once no later entry could be chosen: the backend stops reading its backlog."""
        full = self._full()
        return not (len(self.chosen) == self.limit or (full and self._closed == len(self._taken_per_key)))

    def offer(self, seq: int, key: str | None, ready: bool) -> None:
        """The next unfinished entry; ``ready`` when it may be worked on now (due, and not claimed)."""
        full = self._full()
        if key is None:
            if ready and not full:
                self.chosen.append(seq)
                self._keyless += 1
            return
        if key in self._blocked:
            return
        taken = self._taken_per_key.get(key)
        if ready and taken is None and full:
            return  # no worker is free for another key: its entries stay for a later claim
        if ready and (taken or 0) < self.per_key:
            self._taken_per_key[key] = (taken or 0) + 1
            self.chosen.append(seq)
            self._closed += self._taken_per_key[key] == self.per_key
        else:  # a later entry of this key must not overtake this one
            self._blocked.add(key)
            self._closed += taken is not None and taken < self.per_key

    def _full(self) -> bool:
        return self.keys is not None and len(self._taken_per_key) + self._keyless >= self.keys
