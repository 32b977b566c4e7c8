"""Bringing a tracking issue up to date, where the handlers' work meets the domain and GitHub.

``tracker.py`` (after a commit's CI, a push, a human's edit or a command), ``configs.py`` (each
repository's configuration and templates, read and remembered), ``handover.py`` (milestone and
escalation comments, review requests), ``commands.py`` (``/status`` commands), ``branches.py`` (is a
commit on the tracked branch) and ``commits.py`` (a commit as the tracker sees it).
"""
