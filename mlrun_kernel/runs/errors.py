"""What can go wrong with a run, as types whose messages say what to do.

``RunError`` is the base. ``InfrastructureError`` marks failures of the
platform (pull errors, an engine that went away) that the queue retries with
backoff; a model's own failure is never an exception, it is a run state.
"""

from __future__ import annotations


class RunError(Exception):
    """Base of every run error; ``str(error)`` is a message for the user."""

    status = 400


class RunNotFound(RunError, LookupError):
    status = 404

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run {run_id!r} (see `mlk runs list`)")
        self.run_id = run_id


class InvalidRun(RunError, ValueError):
    """The request cannot become a run: unknown model or task, bad parameters, missing input.

    ``issues`` lists ``(JSON pointer, message)`` pairs when parameters did not validate.
    """

    status = 422

    def __init__(self, message: str, issues: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []


class RunConflict(RunError):
    """The run is in a state that does not allow the action (e.g. removing a running run)."""

    status = 409


class InfrastructureError(RunError):
    """The platform failed, not the model: retried with backoff up to a limit."""

    status = 503


class ImagePullError(InfrastructureError):
    pass


class EngineUnavailable(InfrastructureError):
    """The container engine does not answer (stopped, restarting, unreachable)."""


class RunUserError(RunError):
    """The operator's run user (``MLK_RUN_USER``) is root or not a numeric ``uid:gid``.

    Raised when an executor is made, before any model runs.
    """

    status = 500
