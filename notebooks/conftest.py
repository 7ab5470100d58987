"""The curated notebooks run with nbval; the ones that need the model service run only where
one is configured (``MLK_SERVICE_URL``): tests/build/test_publish_notebook.py gives them one."""

from __future__ import annotations

import os

NEEDS_SERVICE = ["publish-a-model.ipynb"]

collect_ignore = [] if os.environ.get("MLK_SERVICE_URL") else NEEDS_SERVICE
