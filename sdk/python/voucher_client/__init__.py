"""Signing client for the voucher platform's gateway.

Every request is signed with the client's key: HMAC-SHA256 over the canonical request

    METHOD \\n PATH \\n CANONICAL_QUERY \\n TIMESTAMP \\n NONCE \\n hex(SHA-256(BODY))

sent base64-encoded in ``X-Signature`` beside ``X-Key-Id``, ``X-Timestamp`` (Unix seconds,
within 5 minutes of the server's clock) and ``X-Nonce`` (unique per key within that window).
CANONICAL_QUERY is the query's ``name=value`` pairs, percent-encoded (RFC 3986), sorted, joined
by ``&``. The gateway verifies with this very module, so client and server cannot disagree.

    client = VoucherClient("https://vouchers.example.gov.cn", key_id, secret)
    client.post("/v1/claims", {"template_id": ..., "id_number": ...})
    client.post_csv(f"/v1/classes/{class_id}/trainees", Path("roster.csv").read_bytes())
"""
import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from urllib.parse import parse_qsl, quote

import requests

HEADERS = ("X-Key-Id", "X-Timestamp", "X-Nonce", "X-Signature")


def canonical_query(pairs):
    """``pairs``: (name, value) tuples, as decoded from the URL."""
    return "&".join(f"{quote(str(k), safe='-_.~')}={quote(str(v), safe='-_.~')}" for k, v in sorted(pairs))


def canonical_request(method, path, query_pairs, timestamp, nonce, body):
    return "\n".join([method.upper(), path, canonical_query(query_pairs), str(timestamp), nonce,
                      hashlib.sha256(body or b"").hexdigest()]).encode()


def signature(secret, message):
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def signed_headers(key_id, secret, method, path, query_pairs=(), body=b"", timestamp=None, nonce=None):
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = nonce or secrets.token_urlsafe(16)
    message = canonical_request(method, path, query_pairs, timestamp, nonce, body)
    return {"X-Key-Id": key_id, "X-Timestamp": str(timestamp), "X-Nonce": nonce,
            "X-Signature": signature(secret, message)}


class VoucherClient:
    """A thin ``requests`` wrapper that signs every call and gives every unsafe call an
    ``Idempotency-Key`` (pass your own to retry safely: the same key returns the first result)."""

    def __init__(self, base_url, key_id, secret, timeout=30, session=None):
        self.base_url = base_url.rstrip("/")
        self.key_id = key_id
        self.secret = secret
        self.timeout = timeout
        self.http = session or requests.Session()

    def request(self, method, path, body=None, params=None, idempotency_key=None, headers=None, raw=None):
        data = raw if raw is not None else (b"" if body is None else json.dumps(body, ensure_ascii=False).encode())
        path, _, query = path.partition("?")
        pairs = sorted(parse_qsl(query, keep_blank_values=True) + list((params or {}).items()))
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if method.upper() != "GET":
            all_headers.setdefault("Idempotency-Key", idempotency_key or str(uuid.uuid4()))
        all_headers.update(signed_headers(self.key_id, self.secret, method, path, pairs, data))
        return self.http.request(method, self.base_url + path, params=pairs, data=data, headers=all_headers,
                                 timeout=self.timeout)

    def get(self, path, params=None, **kwargs):
        return self.request("GET", path, params=params, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.request("PUT", path, body, **kwargs)

    def post_csv(self, path, data, charset="utf-8", **kwargs):
        """Upload a CSV file to a batch endpoint: ``data`` as bytes, sent and signed exactly as
        given (a file a spreadsheet saved in ``charset``), or as text, encoded in ``charset``."""
        raw = data.encode(charset) if isinstance(data, str) else bytes(data)
        headers = {"Content-Type": f"text/csv; charset={charset}", **(kwargs.pop("headers", None) or {})}
        return self.request("POST", path, raw=raw, headers=headers, **kwargs)
