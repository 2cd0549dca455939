"""The gateway's HTTP entrypoint: every request is signed and resolves to a client with a
role and a region, every unsafe one carries an ``Idempotency-Key``, its JSON body is
validated at the edge, and every failure leaves as one error format,
``{"error": CODE, "message": ..., "details": ...}``, never a traceback.

    @api("POST", "/v1/templates", roles={"manager"}, body=TemplateIn, status=201,
         operation_id="createTemplate")
    def create_template(self, client, body): ...

A batch endpoint given ``csv=`` (``gateway.csv_rows``) also takes a ``text/csv`` body: the
file becomes the JSON body it stands for, with its ``Upload`` under ``body["csv"]``.
"""
import hashlib
import json
import logging
import socket
import uuid
from functools import cache, partial

from eventlet.event import Event
from kombu.exceptions import OperationalError
from marshmallow import ValidationError
from nameko.exceptions import RemoteError, UnknownService
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

from common import correlation
from common.correlation import CORRELATION_ID
from common.db import IDEMPOTENCY_KEY, REQUEST_FINGERPRINT
from common.errors import DomainError, Forbidden, InvalidInput
from gateway.clients import ClientRegistry, TooManyRequests
from gateway.errors import BodyTooLarge, Unavailable

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def json_response(payload, status=200, headers=None):
    return Response(json.dumps(payload, ensure_ascii=False, default=str), status=status, headers=headers,
                    mimetype="application/json")


def error_response(status, code, message, details=None, headers=None):
    return json_response({"error": code, "message": message, "details": details}, status, headers)


@cache
def schema_instance(schema):
    """One instance per schema class: loading keeps no state in it, and making one is not free."""
    return schema()


class ApiEndpoint(HttpRequestHandler):
    registry = ClientRegistry()

    def __init__(self, method, url, *, roles, operation_id, body=None, query=None, status=200, tag=None,
                 changes_nothing=False, csv=None, produces=(), **kwargs):
        self.roles = frozenset(roles)
        self.produces = produces  # media types the success answer may have besides JSON (a QR image)
        self.operation_id = operation_id
        self.body_schema = body
        self.csv = csv
        self.query_schema = query
        self.success_status = status
        self.tag = tag
        # A POST that only reads (a scan to verify): no Idempotency-Key needed.
        self.needs_idempotency_key = method in UNSAFE and not changes_nothing
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        request.shallow = False
        correlation_id = self._correlation_id(request)
        correlation.bind(correlation_id)
        response = self._handle(request, correlation_id)
        response.headers["X-Correlation-Id"] = correlation_id
        return response

    @staticmethod
    def _correlation_id(request):
        given = request.headers.get("X-Correlation-Id", "")
        return given if 0 < len(given) <= 100 and given.isascii() and given.isprintable() else str(uuid.uuid4())

    def _handle(self, request, correlation_id):
        try:
            raw = self._read(request)
            client = self.registry.authenticate(request, raw)
            self.registry.throttle(client)
            if client.role not in self.roles:
                raise Forbidden("role_not_allowed",
                                f"A {client.role} client cannot call {self.operation_id}; "
                                f"allowed: {', '.join(sorted(self.roles))}.")
            context = {**self.server.context_data_from_headers(request), CORRELATION_ID: correlation_id}
            if self.method in UNSAFE:
                if self.needs_idempotency_key:
                    context.update(self._idempotency(request, client, raw))
                args = (client, self._body(request, raw))
            else:
                args = (client, self._query(request))
            event = Event()
            self.container.spawn_worker(self, args, request.path_values, context_data=context,
                                        handle_result=partial(self.handle_result, event))
            result = event.wait()
            return self.response_from_result(result)
        except Exception as exc:
            return self.response_from_exception(exc)

    @staticmethod
    def _read(request):
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise BodyTooLarge()
        raw = request.stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise BodyTooLarge()
        return raw

    def _idempotency(self, request, client, raw):
        """A retried request with the same ``Idempotency-Key`` gets the first response; the
        service that makes the change keeps it (``common.db.Store.run``)."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            raise InvalidInput("idempotency_key_required",
                               "Send an Idempotency-Key header (a new UUID per operation; the same one to retry it).")
        if not 1 <= len(key) <= 200 or not key.isascii() or not key.isprintable():
            raise InvalidInput("invalid_idempotency_key", "Idempotency-Key must be 1 to 200 printable ASCII characters.")
        fingerprint = hashlib.sha256(f"{self.method} {request.path}\n".encode() + raw).hexdigest()
        return {IDEMPOTENCY_KEY: f"{client.client_id}:{key}", REQUEST_FINGERPRINT: fingerprint}

    def _body(self, request, raw):
        if self.body_schema is None:
            return None
        if self.csv is not None and request.mimetype == "text/csv":
            upload = self.csv(raw, request.mimetype_params.get("charset", "utf-8"))
            return {**self._load(self.body_schema, upload.body), "csv": upload}
        if not raw.strip():
            raise InvalidInput("body_required", "This request needs a JSON object body.")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("malformed_json", "The body is not valid JSON.")
        if not isinstance(data, dict):
            raise InvalidInput("malformed_json", "The body must be a JSON object.")
        return self._load(self.body_schema, data)

    def _query(self, request):
        return self._load(self.query_schema, request.args.to_dict()) if self.query_schema else None

    @staticmethod
    def _load(schema, data):
        try:
            return schema_instance(schema).load(data)
        except ValidationError as exc:
            raise InvalidInput("validation_failed", "Some fields are missing or wrong; see details.",
                               exc.normalized_messages())

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        return json_response(result, self.success_status)

    def response_from_exception(self, exc):
        if isinstance(exc, TooManyRequests):
            return error_response(429, "rate_limited", "Too many requests from this client; slow down.",
                                  {"retry_after_s": exc.retry_after}, headers={"Retry-After": str(exc.retry_after)})
        if isinstance(exc, BodyTooLarge):
            return error_response(413, "body_too_large", f"The body exceeds {MAX_BODY_BYTES} bytes.")
        if isinstance(exc, DomainError):
            return error_response(exc.status, exc.code, exc.message, exc.details)
        if isinstance(exc, (Unavailable, UnknownService, OperationalError, socket.error)):
            log.warning("%s: dependency unavailable: %s", self.operation_id, exc.__class__.__name__)
            return error_response(503, "service_unavailable", "The platform is briefly unavailable; retry shortly.",
                                  headers={"Retry-After": "5"})
        if isinstance(exc, RemoteError):
            log.error("%s: unexpected remote error %s", self.operation_id, exc.exc_type)
        else:
            log.exception("%s failed", self.operation_id)
        return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")


api = ApiEndpoint.decorator
