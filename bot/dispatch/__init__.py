"""From the journal to the handlers: workers claim journalled deliveries and dispatch them by event.

``workers.py``: in order per repository, bursts of one commit coalesced, retries and parking.
"""
