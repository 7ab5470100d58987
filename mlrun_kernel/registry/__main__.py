"""``python -m mlrun_kernel.registry htpasswd FILE``: the project registry's push credentials.

Run by ``scripts/registry.sh`` before it starts the push side: makes the password
once if it is missing and writes ``FILE`` with its bcrypt hash.
"""

import sys

from mlrun_kernel.registry.credentials import main

sys.exit(main(sys.argv[1:]))
