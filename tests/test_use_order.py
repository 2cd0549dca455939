"""Uses and reversals of a voucher travel through different queues, so a consumer may get them
in any order: whatever the order, it must end as in the natural one (use 1 at one institution,
its reversal, use 2 at another). Each voucher gets the three events in one of the six orders;
events go straight into the handlers' queues, as in test_duplicate_delivery, a step at a time."""
import datetime
import itertools
import uuid

from sqlalchemy import create_engine, text

from common import codes
from tests import lifecycle
from tests.test_duplicate_delivery import World, settled, terms, use_reversed, used, vouchers_used

NATURAL = ("use_1", "reversal_1", "use_2")
ORDERS = list(itertools.permutations(NATURAL))
FIRST_INSTITUTION, SECOND_INSTITUTION = str(uuid.uuid4()), str(uuid.uuid4())


def moments():
    """When use 1, its reversal and use 2 happened: from now on, after the claims."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return tuple(now + datetime.timedelta(seconds=seconds) for seconds in (1, 2, 3))


def story(voucher_id, code, template, at):
    """A voucher's three events by name: (handler, event type, payload)."""
    first_at, reversed_at, second_at = (moment.isoformat() for moment in at)
    first = used(voucher_id, code, template, use_seq=1, institution_id=FIRST_INSTITUTION, used_at=first_at)
    second = used(voucher_id, code, template, use_seq=2, institution_id=SECOND_INSTITUTION, used_at=second_at)
    return {"use_1": ("handle_vouchers_used", "vouchers_used", vouchers_used(first)),
            "reversal_1": ("handle_voucher_use_reversed", "voucher_use_reversed",
                           use_reversed(first, reversed_at=reversed_at)),
            "use_2": ("handle_vouchers_used", "vouchers_used", vouchers_used(second))}


def tell(world, service, stories, orders):
    """Each voucher's events in its order: a step's events all go out, and are all handled, before
    the next step's."""
    for step in range(len(orders[0])):
        for events, order in zip(stories, orders):
            method, event_type, payload = events[order[step]]
            world.deliver(service, method, "redemption", event_type, payload, wait=False)
        world.quiet()


def row(world, service, query, **params):
    engine = create_engine(world.database_url(service))
    with engine.connect() as connection:
        found = tuple(connection.execute(text(query), params).one())
    engine.dispose()
    return found


def claimed_vouchers(world, count):
    """Vouchers claimed through the gateway, in one province: issuance acts only on its own."""
    p = lifecycle.register(world.gateway, world.clients, world.region, roster_size=count)
    lifecycle.create_templates(world.gateway, p, pool_size=count)
    claimed = [lifecycle.claim(world.gateway, p, worker) for worker in p.workers]
    world.quiet()
    template = terms(world.region, p.template_id)
    return [(voucher["voucher_id"], voucher["code"], template) for voucher in claimed]


def issuance_state(world, voucher_id):
    """Status, use_seq, used_at, and the institution of the last use in the voucher's history."""
    return row(world, "issuance", """
        SELECT status, use_seq, used_at,
               (SELECT detail->>'institution_id' FROM voucher_history
                WHERE voucher_id = :v AND status = 'used' ORDER BY at DESC, id DESC LIMIT 1)
        FROM vouchers WHERE id = :v""", v=voucher_id)


def settlement_state(world, voucher_id):
    return row(world, "settlement", "SELECT status, use_seq, CAST(institution_id AS text), used_at "
                                    "FROM used_vouchers WHERE voucher_id = :v", v=voucher_id)


def test_issuance_ends_the_same_whatever_the_order(gateway, clients, rpc, database_url, amqp_uri, quiet):
    world = World(gateway, clients, rpc, database_url, amqp_uri, quiet)
    vouchers = claimed_vouchers(world, len(ORDERS))
    at = moments()
    tell(world, "issuance", [story(*voucher, at) for voucher in vouchers], ORDERS)
    ends = {order: issuance_state(world, voucher_id) for order, (voucher_id, _, _) in zip(ORDERS, vouchers)}
    assert ends[NATURAL] == ("used", 2, at[2], SECOND_INSTITUTION)
    assert {order: end for order, end in ends.items() if end != ends[NATURAL]} == {}
    natural_code = vouchers[ORDERS.index(NATURAL)][1]
    assert [entry["status"] for entry in rpc.issuance.get_voucher(code=natural_code)["history"]] == [
        "issued", "claimed", "used", "use_reversed", "used"]


def test_issuance_never_takes_a_settled_voucher_back(gateway, clients, rpc, database_url, amqp_uri, quiet):
    world = World(gateway, clients, rpc, database_url, amqp_uri, quiet)
    (voucher_id, code, template), = claimed_vouchers(world, 1)
    at = moments()
    events = story(voucher_id, code, template, at)
    tell(world, "issuance", [events], [("use_1",)])
    world.deliver("issuance", "handle_vouchers_settled", "settlement", "vouchers_settled",
                  settled(voucher_id, code, template))
    tell(world, "issuance", [events], [("reversal_1", "use_2")])
    assert issuance_state(world, voucher_id) == ("settled", 1, at[0], FIRST_INSTITUTION)


def test_settlement_ends_the_same_whatever_the_order(gateway, clients, rpc, database_url, amqp_uri, quiet):
    world = World(gateway, clients, rpc, database_url, amqp_uri, quiet)
    template = terms(world.region)
    vouchers = [(str(uuid.uuid4()), codes.new_code(), template) for _ in ORDERS]
    at = moments()
    tell(world, "settlement", [story(*voucher, at) for voucher in vouchers], ORDERS)
    ends = {order: settlement_state(world, voucher_id) for order, (voucher_id, _, _) in zip(ORDERS, vouchers)}
    assert ends[NATURAL] == ("used", 2, SECOND_INSTITUTION, at[2])
    assert {order: end for order, end in ends.items() if end != ends[NATURAL]} == {}
    assert rpc.settlement.region_summary(region_code=world.region)["used"] == len(ORDERS)


def test_settlement_never_takes_a_settled_voucher_back(gateway, clients, rpc, database_url, amqp_uri, quiet):
    world = World(gateway, clients, rpc, database_url, amqp_uri, quiet)
    voucher_id, code, at = str(uuid.uuid4()), codes.new_code(), moments()
    events = story(voucher_id, code, terms(world.region), at)
    tell(world, "settlement", [events], [("use_1",)])
    first = events["use_1"][2]["vouchers"][0]
    world.deliver("settlement", "handle_trainings_completed", "attendance", "trainings_completed", {"completions": [
        {"class_id": first["class_id"], "institution_id": FIRST_INSTITUTION, "region_code": world.region,
         "person_key": first["person_key"], "attendance_rate": 1.0, "completed_at": first["used_at"]}]})
    rpc.settlement.settle_vouchers(region_code=world.region, institution_id=FIRST_INSTITUTION, voucher_codes=[code],
                                   payment_reference="PAY-USE-ORDER", settled_by="test-province")
    tell(world, "settlement", [events], [("reversal_1", "use_2")])
    assert settlement_state(world, voucher_id) == ("settled", 1, FIRST_INSTITUTION, at[0])
