"""Where a delivery enters: the HTTP server, the signature check, and reading bodies under bounds.

``server.py`` (``POST /webhook``, ``/healthz``, ``/readyz``, ``/metrics``), ``webhook.py`` (the signature
and delivery parsing), ``body_reading.py`` (declared sizes, deadlines), ``byte_budget.py`` (the bytes of
unverified bodies held at once) and ``free_memory.py`` (giving freed heap back to the system).
"""
