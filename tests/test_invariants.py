"""The invariants an operator checks (``scripts/ops.py invariants``) hold after a whole voucher
lifecycle, and each one fails, by name, when a row it guards is tampered with. Every tampered row
is put back at once: the tests share the platform."""
import contextlib
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, text

import launcher  # scripts/launcher.py, put on sys.path by conftest
import ops  # scripts/ops.py, beside it
from tests import lifecycle
from tests.platform import eventually, new_region, sql, wait_quiet

INVARIANTS = ["voucher_states", "rights_agree", "used_le_claimed_le_issued", "settled_subset_of_used",
              "ledger_balances", "statistics_match_sources", "outbox_drained"]


@pytest.fixture(scope="module")
def region(gateway, clients, database_url, vhost):
    """A region after the whole lifecycle: 5 pooled and 3 targeted vouchers issued, 4 claimed,
    3 used (the general one and two targeted), the general one paid and written off."""
    p = lifecycle.register(gateway, clients, new_region(), roster_size=3)
    lifecycle.create_templates(gateway, p, pool_size=5)
    lifecycle.issue_targeted(gateway, p)
    general = lifecycle.claim(gateway, p, p.workers[0])
    lifecycle.redeem(gateway, p, general["code"], holder=p.workers[0])
    for worker in p.workers[1:]:
        lifecycle.use_targeted(gateway, p, worker)
    for worker in p.workers:
        lifecycle.check_in(gateway, p, worker)
    wait_quiet(database_url, vhost)
    claim = lifecycle.submit_claim(gateway, p, [general["code"]])
    assert lifecycle.approve_and_disburse(gateway, p, claim["claim_id"])["status"] == "disbursed"
    wait_quiet(database_url, vhost)
    return p.region


def violated(profile, region):
    return {result.name: result.detail for result in ops.check(profile, region) if not result.ok}


@contextlib.contextmanager
def tampered(database_url, service, change, restore, **params):
    """One row changed behind its service's back, and put back however the test ends."""
    engine = create_engine(database_url(service))
    with engine.begin() as connection:
        assert connection.execute(text(change), params).rowcount == 1
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(text(restore), params)
        engine.dispose()


def one(database_url, service, query, **params):
    found = [row[0] for row in sql(database_url, service, query, **params)]
    assert found, query
    return found


def vouchers(database_url, region, status):
    return one(database_url, "issuance", "SELECT v.id FROM vouchers v JOIN templates t ON t.id = v.template_id "
                                         "WHERE t.region_code = :region AND v.status = :status ORDER BY v.id",
               region=region, status=status)


def test_every_invariant_holds_after_a_whole_lifecycle(profile, region):
    results = eventually(lambda: _all_ok(ops.check(profile, region)))
    assert [result.name for result in results] == INVARIANTS
    details = {result.name: result.detail for result in results}
    assert "issued 8, claimed 4, used 3, settled 1, settled_fen 80000" in details["statistics_match_sources"]
    assert details["used_le_claimed_le_issued"].startswith(
        "settled 1 (settlement) <= used 3 (redemption) <= claimed 4 (issuance) <= issued 8 (issuance)")
    assert details["settled_subset_of_used"].startswith("1 written off")


def _all_ok(results):
    assert all(result.ok for result in results), [result for result in results if not result.ok]
    return results


def test_the_command_line_prints_each_invariant_and_exits_0_when_all_hold(profile, region):
    done = subprocess.run([sys.executable, str(launcher.ROOT / "scripts" / "ops.py"), "invariants", region,
                           "--profile", profile], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in INVARIANTS:
        assert f"OK        {name}" in done.stdout


def test_a_region_code_is_six_digits(profile):
    with pytest.raises(ValueError):
        ops.check(profile, "43")


def test_a_voucher_in_no_known_state_breaks_voucher_states(profile, region, database_url):
    voucher_id = vouchers(database_url, region, "issued")[0]
    with tampered(database_url, "issuance", "UPDATE vouchers SET status = 'lost' WHERE id = :id",
                  "UPDATE vouchers SET status = 'issued' WHERE id = :id", id=voucher_id):
        found = violated(profile, region)
        assert set(found) == {"voucher_states"}
        assert f"issuance: unknown state lost: 1 (e.g. {voucher_id})" in found["voucher_states"]
    assert not violated(profile, region)


def test_a_right_that_disagrees_with_its_voucher_breaks_rights_agree(profile, region, database_url):
    voucher_id = vouchers(database_url, region, "used")[0]  # a targeted voucher, used
    with tampered(database_url, "redemption", "UPDATE voucher_rights SET status = 'claimed' WHERE voucher_id = :id",
                  "UPDATE voucher_rights SET status = 'used' WHERE voucher_id = :id", id=voucher_id):
        found = violated(profile, region)
        assert f"claimed in redemption, used in issuance: 1 (e.g. {voucher_id})" in found["rights_agree"]
        assert "statistics_match_sources" in found  # redemption's count of uses is one short
    assert not violated(profile, region)


def test_fewer_claimed_than_used_breaks_the_order_of_counts(profile, region, database_url):
    used = vouchers(database_url, region, "used")  # the two targeted vouchers used: 4 claimed become 2
    returned = "UPDATE vouchers SET status = 'returned' WHERE id = :id"
    put_back = "UPDATE vouchers SET status = 'used' WHERE id = :id"
    with (tampered(database_url, "issuance", returned, put_back, id=used[0]),
          tampered(database_url, "issuance", returned, put_back, id=used[1])):
        found = violated(profile, region)
        assert found["used_le_claimed_le_issued"].startswith(
            "out of order: settled 1 (settlement) <= used 3 (redemption) <= claimed 2 (issuance)")
    assert not violated(profile, region)


def test_a_voucher_written_off_but_never_paid_breaks_settled_subset_of_used(profile, region, database_url):
    voucher_id = vouchers(database_url, region, "used")[0]  # used, in no application
    with tampered(database_url, "settlement", "UPDATE used_vouchers SET status = 'settled' WHERE voucher_id = :id",
                  "UPDATE used_vouchers SET status = 'used' WHERE voucher_id = :id", id=voucher_id):
        found = violated(profile, region)
        assert f"written off, not paid: 1 (e.g. {voucher_id})" in found["settled_subset_of_used"]
    assert not violated(profile, region)


def test_an_entry_the_pool_does_not_match_breaks_ledger_balances(profile, region, database_url):
    entry_id, = one(database_url, "settlement", """
        SELECT e.id FROM ledger_entries e JOIN funding_pools p ON p.id = e.pool_id
        WHERE p.region_code = :region AND e.kind = 'allocate'""", region=region)
    with tampered(database_url, "settlement", "UPDATE ledger_entries SET amount_fen = amount_fen + 1 WHERE id = :id",
                  "UPDATE ledger_entries SET amount_fen = amount_fen - 1 WHERE id = :id", id=entry_id):
        found = violated(profile, region)
        assert set(found) == {"ledger_balances"}
        assert "pool balances differ from the sum of its entries: 1" in found["ledger_balances"]
    assert not violated(profile, region)


def test_a_statistics_count_that_differs_from_its_source_breaks_statistics_match_sources(profile, region,
                                                                                         database_url):
    template_id = one(database_url, "statistics", "SELECT template_id FROM voucher_counts WHERE region_code = :region "
                                                  "AND used > 0 ORDER BY template_id", region=region)[0]
    with tampered(database_url, "statistics", "UPDATE voucher_counts SET used = used + 1 "
                                              "WHERE region_code = :region AND template_id = :id",
                  "UPDATE voucher_counts SET used = used - 1 WHERE region_code = :region AND template_id = :id",
                  region=region, id=template_id):
        found = violated(profile, region)
        assert set(found) == {"statistics_match_sources"}
        assert f"template {template_id} used: statistics" in found["statistics_match_sources"]
        assert "monthly_counts do not add up to voucher_counts" in found["statistics_match_sources"]
        done = subprocess.run([sys.executable, str(launcher.ROOT / "scripts" / "ops.py"), "invariants", region,
                               "--profile", profile], capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert "VIOLATED  statistics_match_sources" in done.stdout
    assert not violated(profile, region)


PROBE = text("""
    INSERT INTO outbox (event_id, event_type, version, aggregate_id, sequence, occurred_at, payload)
    VALUES (:event_id, 'invariant_probe', 1, 'invariant-probe', 1, now() - interval '1 hour', '{}')
    RETURNING id""")


def test_an_event_left_unpublished_breaks_outbox_drained(profile, region, database_url):
    """An hour-old event nobody published: the test holds its row locked, so that the relay
    (which skips locked rows) leaves it unpublished while the checker looks."""
    engine = create_engine(database_url("statistics"))
    holder = engine.connect()
    try:
        for _ in range(5):  # the relay may publish it between insert and lock: try another
            with engine.begin() as connection:
                probe = connection.execute(PROBE, {"event_id": str(uuid.uuid4())}).scalar()
            transaction = holder.begin()
            if holder.execute(text("SELECT id FROM outbox WHERE id = :id AND published_at IS NULL FOR UPDATE"),
                              {"id": probe}).first():
                break
            transaction.rollback()
        found = violated(profile, region)
        assert set(found) == {"outbox_drained"}
        assert f"statistics: unpublished for over 60s: 1 (e.g. {probe} invariant_probe)" in found["outbox_drained"]
        holder.execute(text("DELETE FROM outbox WHERE event_type = 'invariant_probe'"))
        transaction.commit()
    finally:
        holder.close()
        engine.dispose()
    assert not violated(profile, region)
