"""Healing what GitHub never delivered or the bot could not finish.

``redeliver.py`` asks GitHub again for failed deliveries, ``reconcile.py`` recomputes trackers from
GitHub's truth, and ``catch_up.py`` is the server's schedule running both (on one replica at a time).
"""
