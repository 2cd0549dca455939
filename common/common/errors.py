"""Errors that cross service boundaries with their meaning intact.

Each class is registered with nameko so that an RPC caller gets the same class back
(``code``, ``message``, ``details``), and the gateway maps the class to an HTTP status
in one table. Domain code raises these with a machine-readable ``code``.
"""
import json

from nameko.exceptions import deserialize_to_instance

# nameko sends an exception's arguments as text (None becomes "None", 5 becomes "5"), so
# details cross as JSON text under this prefix and come back with their types.
_JSON = "json:"


class DomainError(Exception):
    status = 400

    def __init__(self, code, message, details=None):
        if isinstance(details, str) and details.startswith(_JSON):
            details = json.loads(details[len(_JSON):])
        super().__init__(code, message, _JSON + json.dumps(details, ensure_ascii=False, default=str))
        self.code = code
        self.message = message
        self.details = details

    def __str__(self):
        return f"{self.code}: {self.message}"

    def as_dict(self):
        return {"error": self.code, "message": self.message, "details": self.details}

    def as_outcome(self):
        """One command's refusal in a batch's answer (``Store.run_each``)."""
        return {"error": {**self.as_dict(), "status": self.status}}

    @staticmethod
    def from_outcome(error):
        """The refusal ``as_outcome`` wrote, as the class its status stands for."""
        kind = next((cls for cls in DomainError.__subclasses__() if cls.status == error["status"]), DomainError)
        return kind(error["error"], error["message"], error["details"])


@deserialize_to_instance
class InvalidInput(DomainError):
    """The request is malformed or a value is out of range (400)."""
    status = 400


@deserialize_to_instance
class Forbidden(DomainError):
    """The caller's role or region does not allow this (403)."""
    status = 403


@deserialize_to_instance
class NotFound(DomainError):
    """A referenced object does not exist, or not for this caller (404)."""
    status = 404


@deserialize_to_instance
class Conflict(DomainError):
    """The object's current state forbids the change (409)."""
    status = 409


@deserialize_to_instance
class RuleViolation(DomainError):
    """A business rule refuses the request; ``code`` names the rule (422)."""
    status = 422


def not_found(kind, ident):
    return NotFound(f"{kind}_not_found", f"No {kind.replace('_', ' ')} with id {ident!r}.")


class RefusalFilter:
    """A logging filter: a refusal (a ``DomainError``) is an answer, not a failure, and
    the metrics line already counts it; nameko would log each with a traceback."""

    def filter(self, record):
        return not (record.exc_info and isinstance(record.exc_info[1], DomainError))
