"""The event a journal entry is dispatched as: GitHub's payload, and when its delivery reached the bot.

A payload dates its commits by their author, which says nothing of when the work reached the branch: a
commit made hours before it was pushed would start a fix's clock hours early. The journal's receipt is
when the push arrived (a redelivery of the same id keeps the first receipt).
"""

from __future__ import annotations

from typing import Any

from gidgethub.sansio import Event


class DeliveredEvent(Event):
    """A webhook event with ``received_at``: the journal's receipt of its delivery, in epoch seconds."""

    def __init__(self, data: Any, *, event: str, delivery_id: str, received_at: float) -> None:
        super().__init__(data, event=event, delivery_id=delivery_id)
        self.received_at = received_at
