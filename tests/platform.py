"""Test helpers for driving the running platform through its gateway."""
import datetime
import random
import subprocess
import threading
import time
import uuid

import requests
from voucher_client import VoucherClient

from common import credit_codes
from common.identity import check_character

CHINA = datetime.timezone(datetime.timedelta(hours=8))


def china_today():
    """Today where the vouchers are: the platform's days are China's (UTC+8), not this machine's."""
    return datetime.datetime.now(CHINA).date()


def id_number(rng=random):
    """A generated, valid resident ID number (GB 11643) from a Hunan district."""
    birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 35))
    body = f"430102{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + check_character(body)


def distinct_id_numbers(count, exclude=(), rng=random):
    """``count`` different generated ID numbers, none of ``exclude``: drawn at random, a few
    thousand of them would repeat one now and then."""
    numbers = {}
    while len(numbers) < count:
        number = id_number(rng)
        if number not in exclude:
            numbers[number] = None
    return list(numbers)


def credit_code(rng=random):
    """A generated unified social credit code with a correct check character (GB 32100)."""
    first17 = "9143" + "".join(rng.choice(credit_codes.ALPHABET) for _ in range(13))
    return first17 + credit_codes.check_character(first17)


class Gateway:
    def __init__(self, base_url):
        self.base_url = base_url
        self.http = requests.Session()

    def call(self, method, path, client, body=None, raw=None, headers=None, params=None):
        """Signed with ``client``'s key (``None``: unsigned). Unsafe requests carry a fresh
        Idempotency-Key unless the caller gives one (``None`` to send none)."""
        if client is None:
            return self.http.request(method, self.base_url + path, json=body, data=raw, headers=headers,
                                     params=params, timeout=30)
        signer = VoucherClient(self.base_url, client.key_id, client.secret, session=self.http)
        return signer.request(method, path, body, params=params, headers=headers, raw=raw)

    def ok_get(self, path, client, params=None):
        return self.ok("GET", path, client, params=params)

    def ok(self, method, path, client, body=None, params=None):
        response = self.call(method, path, client, body, params=params)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


def at_once(gateways, calls):
    """Send every ``(client, method, path, body)`` from a thread of its own (its own HTTP session,
    signature and Idempotency-Key), all released together, through ``gateways`` in turn; the
    responses in order."""
    responses = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def send(index, client, method, path, body):
        own = Gateway(gateways[index % len(gateways)].base_url)
        start.wait()
        responses[index] = own.call(method, path, client, body)

    threads = [threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(response is not None for response in responses), "a request never returned"
    return responses


def eventually(check, timeout=20.0, interval=0.1):
    """Retry ``check`` until it stops raising AssertionError: events are asynchronous."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(interval)


_UNUSED_REGIONS = random.sample([f"43{city:02d}{county:02d}" for city in range(1, 99) for county in range(1, 99)],
                                 98 * 98)


def region_holds_data(code):
    """Replaced by the conftest when the platform under test was not started empty."""
    return False


def new_region():
    """A county code in Hunan (43xxxx) that no other test of this run has had and that holds
    no data yet, so that tests sharing a platform never count each other's vouchers."""
    while True:
        code = _UNUSED_REGIONS.pop()
        if not region_holds_data(code):
            return code


def uid():
    return str(uuid.uuid4())


SERVICES = ("issuance", "redemption", "attendance", "settlement", "statistics", "gateway")


def rabbitmq(action):
    """``rabbitmqctl stop_app`` / ``start_app``: the broker outage of the outage and chaos tests."""
    subprocess.run(["rabbitmqctl", "-q", action], check=True, capture_output=True, timeout=120)


def queue_depths(vhost):
    """Ready plus unacknowledged messages of every queue in the virtual host."""
    import subprocess
    listing = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "messages_ready",
                              "messages_unacknowledged", "--no-table-headers"],
                             capture_output=True, text=True, check=True).stdout
    depths = {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) == 3:
            depths[parts[0]] = int(parts[1]) + int(parts[2])
    return depths


def sql(database_url, service, query, **params):
    """The rows of ``query`` in ``service``'s database (``database_url`` is the fixture)."""
    from sqlalchemy import create_engine, text
    engine = create_engine(database_url(service))
    with engine.connect() as connection:
        rows = connection.execute(text(query), params).all()
    engine.dispose()
    return rows


def unsent_events(database_url):
    from sqlalchemy import create_engine, text
    from common.outbox import UNSENT
    total = 0
    for service in SERVICES:
        engine = create_engine(database_url(service))
        with engine.connect() as connection:
            total += connection.execute(text(f"SELECT count(*) FROM ({UNSENT}) AS unsent")).scalar()
        engine.dispose()
    return total


def wait_quiet(database_url, vhost, timeout=30.0):
    """Until every outbox is empty and every queue (but parking ones) is drained."""
    def quiet():
        assert unsent_events(database_url) == 0
        busy = {q: n for q, n in queue_depths(vhost).items() if n and not q.endswith(".dead")
                and not q.startswith("rpc.")}
        assert not busy, busy
    eventually(quiet, timeout=timeout, interval=0.2)
