"""One exception family for rules broken in services; routes and handlers turn them into 4xx answers."""

from __future__ import annotations


class ServiceError(Exception):
    """A rule was broken; `status_code` says how the web layer answers."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    status_code = 404


class Forbidden(ServiceError):
    status_code = 403


class Conflict(ServiceError):
    status_code = 409


class InvalidInput(ServiceError):
    status_code = 422


class TokenInvalid(ServiceError):
    """An emailed link that is unknown, expired, already used or revoked."""

    status_code = 400
