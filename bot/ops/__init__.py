"""The operator's commands: the ``issue-status-bot`` CLI and what each of its subcommands runs.

``cli.py`` (the entry point: ``serve``, ``demo``, ``deliveries``, ``reconcile``, ``check-config``,
``register``), ``deliveries.py`` (what the journal holds, sending a parked delivery back to work),
``check_config.py`` (is a configuration usable, what it binds to), ``demo.py`` (the canonical story
against the fake GitHub), ``register/`` (GitHub's App manifest flow) and ``env_file.py`` (the
credentials ``register`` writes and ``serve`` reads).
"""
