"""Failures the gateway meets at its edge, besides the services' own ``DomainError``s."""


class Unavailable(Exception):
    """A service or the broker cannot be reached in time; the client should retry (503)."""


class BodyTooLarge(Exception):
    """The request body is over the limit (413)."""
