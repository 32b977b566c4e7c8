"""``issue-status-bot register``: GitHub's App manifest flow, from app.yaml to an env file ``serve`` reads.

``manifest`` builds what is sent (pure), ``exchange`` trades GitHub's code for the credentials,
``local_page`` is the page on localhost the browser goes through, ``command`` wires them to the CLI.
"""
