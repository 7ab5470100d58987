"""The service's routers, one per area; ``app.py`` mounts them under the prefix.

Each route is a thin layer: parse the request, call one library function in a
thread (``threads.in_thread``), record the action in the audit log, shape the
answer. Who may call a route is not decided here but in ``scopes.py``.
"""
