"""Run the model service: ``python -m mlrun_kernel.service [--url URL]``.

JupyterHub starts it as a managed service and says where to listen through
``JUPYTERHUB_SERVICE_URL``; ``--url`` overrides that for running it by hand.
"""

from __future__ import annotations

import argparse
import logging
from urllib.parse import urlsplit

import uvicorn

from mlrun_kernel.config import SettingsError
from mlrun_kernel.service.app import ServiceSettings, create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlrun_kernel.service", description=__doc__)
    try:
        config = ServiceSettings.from_env()
    except SettingsError as exc:
        parser.exit(2, f"{parser.prog}: {exc}\n")
    parser.add_argument("--url", default=config.url, help=f"where to listen (default {config.url})")
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    args = parser.parse_args(argv)

    where = urlsplit(args.url)
    if where.scheme != "http" or not where.hostname:
        parser.error(f"--url must look like http://HOST:PORT, not {args.url!r}")
    logging.basicConfig(level=args.log_level.upper(), format="[models %(levelname)s] %(message)s")
    try:
        app = create_app(config)
    except SettingsError as exc:  # a datasets or runs option, read when the app is made
        parser.exit(2, f"{parser.prog}: {exc}\n")
    uvicorn.run(
        app,
        host=where.hostname,
        port=where.port or 80,
        log_level=args.log_level,
        proxy_headers=True,
        access_log=True,
    )


if __name__ == "__main__":
    main()
