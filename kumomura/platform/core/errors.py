"""Errors a user can act on. The CLI maps them to exit code 2, HTTP to problem+json."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One broken rule: the field (dotted path) and what is wrong with it."""

    field: str
    message: str


class KumomuraError(Exception):
    """Base of errors that carry a message for the person who made the request."""

    status = 400
    title = "Bad request"

    def __init__(self, message: str, *, field: str | None = None,
                 problems: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.problems = problems or ([FieldProblem(field, message)] if field else [])


class InvalidInput(KumomuraError):
    """The request names a value that breaks a rule; ``field`` says which."""

    status = 422
    title = "Invalid input"


def invalid(problems: list[FieldProblem]) -> InvalidInput:
    """One InvalidInput listing every problem, so a form shows them all at once."""
    message = "; ".join(f"{p.field}: {p.message}" for p in problems)
    return InvalidInput(message, field=problems[0].field, problems=problems)


class NotFound(KumomuraError):
    """Nothing there, or nothing the caller may know is there (other tenants' data)."""

    status = 404
    title = "Not found"


class Conflict(KumomuraError):
    """The request clashes with what is stored (a duplicate, a wrong state)."""

    status = 409
    title = "Conflict"


class Unauthenticated(KumomuraError):
    status = 401
    title = "Authentication required"


class Forbidden(KumomuraError):
    """Known caller, known object, missing permission (same tenant only)."""

    status = 403
    title = "Forbidden"
