"""The OpenAPI 3 document, generated from the endpoints themselves so it cannot drift:
each ``@api`` entrypoint contributes its path, roles, body schema and docstring."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gateway import schemas
from gateway.api import ApiEndpoint

VERSION = "1.0.0"
_ERRORS = {"400": "Invalid input", "401": "Unknown client", "403": "Role or region not allowed",
           "404": "Not found", "409": "Conflicts with the current state", "413": "Body too large",
           "422": "Refused by a business rule", "429": "Rate limited; wait Retry-After seconds",
           "503": "Briefly unavailable; retry"}
_CSV = ("The rows as JSON, or as a CSV file (`text/csv`): UTF-8 with or without a byte-order mark, or "
        "GB18030 with `Content-Type: text/csv; charset=gb18030`; a header row naming the columns (in any "
        "order), then at most 1,000 data rows. Each row is checked as a JSON row is; the answer numbers rows "
        "from 0 (the first data row) and gives each refused row its `line` in the file (1 = the header). A "
        "file that is not CSV (`invalid_csv`), has a wrong header (`csv_header`) or more than 1,000 rows "
        "(`too_many_rows`) is refused whole.")


def endpoints(service_cls):
    for name in sorted(dir(service_cls)):
        method = getattr(service_cls, name)
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, ApiEndpoint):
                yield entrypoint, method


def document(service_cls):
    spec = APISpec(title="Vocational training voucher platform (职业培训券)", version=VERSION, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Every request is signed (X-Key-Id, X-Timestamp, X-Nonce, X-Signature: "
                                        "HMAC-SHA256, see docs/integration.md); every unsafe request carries an "
                                        "Idempotency-Key; errors are {error, message, details}."})
    spec.components.schema("Error", schema=schemas.ErrorOut)
    spec.components.security_scheme("signature", {
        "type": "apiKey", "in": "header", "name": "X-Signature",
        "description": "base64 HMAC-SHA256 of the canonical request, with X-Key-Id, X-Timestamp and X-Nonce."})
    paths = {}
    for entrypoint, method in endpoints(service_cls):
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", entrypoint.url)
        summary = " ".join((method.__doc__ or entrypoint.operation_id).strip().split("\n\n")[0].split())
        operation = {
            "operationId": entrypoint.operation_id,
            "summary": summary,
            "tags": [entrypoint.tag] if entrypoint.tag else [],
            "description": f"Allowed roles: {', '.join(sorted(entrypoint.roles))}.",
            "security": [{"signature": []}],
            "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                           for name in re.findall(r"{(\w+)}", path)],
            "responses": {str(entrypoint.success_status): {"description": "Success",
                                                           "content": {"application/json": {"schema": {
                                                               "type": "object"}}}},
                          **{code: {"description": text, "content": {"application/json": {
                              "schema": {"$ref": "#/components/schemas/Error"}}}} for code, text in _ERRORS.items()}},
        }
        for media_type in entrypoint.produces:
            operation["responses"][str(entrypoint.success_status)]["content"][media_type] = {
                "schema": {"type": "string", "format": "binary"}}
        if entrypoint.query_schema is not None:
            operation["parameters"] += [{"in": "query", "schema": entrypoint.query_schema}]
        if entrypoint.needs_idempotency_key:
            operation["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": True,
                                            "schema": {"type": "string", "minLength": 1, "maxLength": 200}})
        if entrypoint.body_schema is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": entrypoint.body_schema}}}
        if entrypoint.csv is not None:
            operation["requestBody"]["description"] = _CSV
            operation["requestBody"]["content"]["text/csv"] = {"schema": {
                "type": "string", "description": " ".join(entrypoint.csv.__doc__.split())}}
        paths.setdefault(path, {})[entrypoint.method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
