"""One place that turns library errors into HTTP answers.

Every error type of the core carries the status to answer with
(``DatasetError.status``, ``RunError.status``); the body is always
``{"detail": "<message that says what to do>"}``, plus ``errors`` (JSON pointers
and messages) when run parameters did not validate. Anything else is a bug:
it is logged with its traceback and answered 500 without internals.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mlrun_kernel.datasets import DatasetError, UploadOffsetMismatch
from mlrun_kernel.registry import RegistryError
from mlrun_kernel.runs import InvalidRun, RunError
from mlrun_kernel.service.auth import AuthError
from mlrun_kernel.service.signing import SignatureError

log = logging.getLogger(__name__)


class ServiceFault(Exception):
    """An HTTP answer a route gives directly (status + message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def install(app: FastAPI) -> None:
    @app.exception_handler(AuthError)
    async def auth_failed(request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "token"} if exc.status == 401 else None
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(ServiceFault)
    async def fault(request: Request, exc: ServiceFault) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(SignatureError)
    async def bad_signature(request: Request, exc: SignatureError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(DatasetError)
    async def dataset_error(request: Request, exc: DatasetError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.message}
        if isinstance(exc, UploadOffsetMismatch):
            body["expected_offset"] = exc.expected
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(RunError)
    async def run_error(request: Request, exc: RunError) -> JSONResponse:
        body: dict[str, object] = {"detail": str(exc)}
        if isinstance(exc, InvalidRun) and exc.issues:
            body["errors"] = [{"path": path, "message": message} for path, message in exc.issues]
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(RegistryError)
    async def registry_error(request: Request, exc: RegistryError) -> JSONResponse:
        return JSONResponse({"detail": f"the model registry failed: {exc}"}, status_code=502)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": f"internal error ({type(exc).__name__}); the service log has the details"},
            status_code=500,
        )
