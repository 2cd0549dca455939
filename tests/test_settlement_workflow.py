"""Settlement in depth (issue #7), through the gateway, over the real PostgreSQL and RabbitMQ: the
review workflow and its refusals, funding pools that never go below zero under concurrent
approvals, the bank payment file and its answer, write-off everywhere, reconciliation. The test
platform asks for a second approver above 1,500 yuan (DUAL_APPROVAL_FEN)."""
import threading
import uuid

import pytest

from tests import lifecycle
from tests.platform import Gateway, eventually, new_region

FACE = 80000  # lifecycle's general template: a face-value voucher of 800 yuan


def refused(response, status, code):
    assert (response.status_code, response.json()["error"]) == (status, code), response.text
    return response.json()


@pytest.fixture
def trained(gateway, clients, quiet):
    """``trained(workers, region=None)``: a province whose workers each used a general voucher and
    completed the class, once settlement has heard of every use and completion: the codes its
    institution may claim for."""
    def make(workers=2, region=None):
        p = lifecycle.register(gateway, clients, region or new_region(), roster_size=workers)
        lifecycle.create_templates(gateway, p, pool_size=workers)
        for worker in p.workers:
            code = lifecycle.claim(gateway, p, worker)["code"]
            lifecycle.redeem(gateway, p, code)
            lifecycle.check_in(gateway, p, worker)
        quiet()
        return p
    return make


def allocate(gateway, p, amount_fen):
    return gateway.ok("POST", "/v1/funding-pools/allocations", p.manager, {
        "region_code": p.region, "funding_source": lifecycle.FUNDING_SOURCE, "amount_fen": amount_fen})


def pool(gateway, p):
    [found] = gateway.ok("GET", "/v1/funding-pools", p.manager)["pools"]
    return {k: found[k] for k in ("budget_fen", "available_fen", "reserved_fen", "paid_fen")}


def test_an_application_is_reviewed_approved_in_part_paid_by_file_and_written_off_everywhere(gateway, rpc, trained):
    p = trained(workers=2)
    kept, refused_code = p.codes
    csv = f"code\r\n{kept}\r\n{refused_code}\r\nNOTACODE\r\n"
    submitted = lifecycle.submit_claim_csv(gateway, p, csv)
    assert [(line["code"], line["accepted"]) for line in submitted["lines"]] == [
        (kept, True), (refused_code, True), ("NOTACODE", False)]
    claim_id = submitted["claim_id"]
    allocate(gateway, p, 500000)

    gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/review", p.reviewer)
    approved = gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/approval", p.manager, {
        "rejected_lines": [{"code": refused_code, "reason": "attendance_doubtful"}]})
    assert (approved["status"], approved["approved_fen"]) == ("partly_approved", FACE)
    assert pool(gateway, p) == {"budget_fen": 500000, "available_fen": 500000 - FACE, "reserved_fen": FACE,
                                "paid_fen": 0}

    payment_file = gateway.ok("POST", "/v1/payment-files", p.manager)
    [row] = lifecycle.payment_rows(gateway, p, payment_file["file_id"])
    assert (row["payee_type"], row["amount_yuan"], row["account_number"]) == ("institution", "800.00", "")
    answer = gateway.ok("POST", f"/v1/payment-files/{payment_file['file_id']}/results", p.manager, {
        "results": [{"instruction_id": row["instruction_id"], "status": "paid", "bank_reference": "ICBC-0001"}]})
    assert (answer["paid"], answer["refused"]) == (1, 0)
    again = gateway.ok("POST", f"/v1/payment-files/{payment_file['file_id']}/results", p.manager, {
        "results": [{"instruction_id": row["instruction_id"], "status": "paid"}]})
    assert (again["paid"], again["unchanged"]) == (0, 1)  # the same answer twice pays once

    claim = gateway.ok("GET", f"/v1/subsidy-claims/{claim_id}", p.manager)
    assert claim["status"] == "disbursed"
    assert [a["action"] for a in claim["audit"]] == ["submitted", "review_started", "approved", "payments_instructed",
                                                     "disbursed"]
    assert pool(gateway, p) == {"budget_fen": 500000, "available_fen": 500000 - FACE, "reserved_fen": 0,
                                "paid_fen": FACE}
    assert rpc.settlement.region_summary(region_code=p.region) == {"used": 2, "settled": 1, "settled_fen": FACE}
    # Written off (核销): refused at a scan and in another application; the refused line's voucher is free.
    eventually(lambda: refused(gateway.call("POST", "/v1/redemptions", p.institution,
                                            {"code": kept, "class_id": p.class_id}), 409, "written_off"))
    assert gateway.ok("GET", f"/v1/vouchers/{kept}", p.manager)["status"] == "settled"
    second = lifecycle.submit_claim_csv(gateway, p, f"code\r\n{kept}\r\n{refused_code}\r\n", all_accepted=False)
    assert [(line["code"], line["reason"]) for line in second["lines"]] == [(kept, "already_settled"),
                                                                            (refused_code, None)]


def test_every_step_out_of_order_or_by_the_wrong_person_is_refused(gateway, clients, trained):
    p = trained(workers=1)
    claim_id = lifecycle.submit_claim(gateway, p, p.codes)["claim_id"]
    allocate(gateway, p, 500000)
    path = f"/v1/subsidy-claims/{claim_id}"
    refused(gateway.call("POST", f"{path}/approval", p.manager, {}), 409, "illegal_transition")  # not reviewed
    refused(gateway.call("POST", f"{path}/review", p.institution), 403, "role_not_allowed")
    gateway.ok("POST", f"{path}/review", p.reviewer)
    refused(gateway.call("POST", f"{path}/review", p.manager), 409, "illegal_transition")  # under review already
    refused(gateway.call("POST", f"{path}/approval", p.reviewer, {}), 403, "reviewed_it")
    refused(gateway.call("POST", f"{path}/approval", p.manager, {"rejected_lines": [
        {"code": "8FGA210TA21EJ", "reason": "other"}]}), 400, "not_a_line")
    assert gateway.ok("POST", f"{path}/approval", p.manager, {})["status"] == "approved"
    refused(gateway.call("POST", f"{path}/approval", p.manager, {}), 409, "illegal_transition")
    refused(gateway.call("POST", f"{path}/rejection", p.manager, {"reason": "too late"}), 409, "illegal_transition")
    neighbour = clients("manager", p.region[:4] + ("01" if p.region[4:] != "01" else "02"))
    refused(gateway.call("POST", "/v1/payment-files", neighbour), 409, "nothing_to_pay")  # another region's money


def test_a_rejected_application_frees_its_vouchers_for_another(gateway, trained):
    p = trained(workers=1)
    claim_id = lifecycle.submit_claim(gateway, p, p.codes)["claim_id"]
    rejected = gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/rejection", p.manager,
                          {"reason": "花名册与实际签到不符"})
    assert (rejected["status"], rejected["decision_reason"]) == ("rejected", "花名册与实际签到不符")
    assert lifecycle.submit_claim(gateway, p, p.codes)["status"] == "submitted"


def test_above_the_dual_approval_amount_a_second_manager_confirms_and_a_rejection_then_releases(
        gateway, clients, trained):
    p = trained(workers=2)  # 1,600 yuan, above the test platform's 1,500
    second = clients("manager", p.region)
    allocate(gateway, p, 500000)
    for decision in ("approve", "reject"):
        claim_id = lifecycle.submit_claim(gateway, p, p.codes)["claim_id"]
        gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/review", p.reviewer)
        first = gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/approval", p.manager, {})
        assert (first["status"], first["awaiting_second_approval"]) == ("in_review", True)
        assert pool(gateway, p)["reserved_fen"] == 2 * FACE
        refused(gateway.call("POST", f"/v1/subsidy-claims/{claim_id}/approval", p.manager, {}), 403,
                "approved_it_already")
        if decision == "approve":
            assert gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/approval", second, {})["status"] == "approved"
            lifecycle.pay_everything(gateway, p)
            assert pool(gateway, p)["paid_fen"] == 2 * FACE
            p = trained(workers=2, region=p.region)  # two more vouchers for the rejection
            p.reviewer, p.manager = clients("manager", p.region), clients("manager", p.region)
        else:
            gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/rejection", second, {"reason": "超出年度计划"})
            assert pool(gateway, p) == {"budget_fen": 500000, "available_fen": 500000 - 2 * FACE, "reserved_fen": 0,
                                        "paid_fen": 2 * FACE}


def test_concurrent_approvals_never_take_a_pool_below_zero(gateway, database_url, trained):
    from sqlalchemy import create_engine, text
    p = trained(workers=5)
    allocate(gateway, p, 3 * FACE)  # enough for three of the five
    claim_ids = [lifecycle.submit_claim(gateway, p, [code])["claim_id"] for code in p.codes]
    for claim_id in claim_ids:
        gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/review", p.reviewer)
    responses, start = [None] * 5, threading.Barrier(5)

    def approve(index):
        own = Gateway(gateway.base_url)
        start.wait()
        responses[index] = own.call("POST", f"/v1/subsidy-claims/{claim_ids[index]}/approval", p.manager, {})
    threads = [threading.Thread(target=approve, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    outcomes = sorted((r.status_code, r.json().get("error") or r.json()["status"]) for r in responses)
    assert outcomes == [(200, "approved")] * 3 + [(409, "insufficient_funds")] * 2, outcomes
    assert pool(gateway, p) == {"budget_fen": 3 * FACE, "available_fen": 0, "reserved_fen": 3 * FACE, "paid_fen": 0}
    engine = create_engine(database_url("settlement"))
    with engine.connect() as connection:  # the ledger says the same as the balances
        reserved = connection.execute(text(
            "SELECT coalesce(sum(amount_fen) FILTER (WHERE kind = 'reserve'), 0) FROM ledger_entries e "
            "JOIN funding_pools f ON f.id = e.pool_id WHERE f.region_code = :r"), {"r": p.region}).scalar()
    engine.dispose()
    assert reserved == 3 * FACE


def test_an_application_sent_twice_with_one_idempotency_key_is_one_application_paid_once(gateway, trained):
    p = trained(workers=1)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = gateway.call("POST", "/v1/subsidy-claims", p.institution, {"codes": p.codes}, headers=key)
    again = gateway.call("POST", "/v1/subsidy-claims", p.institution, {"codes": p.codes}, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["claim_id"] == again.json()["claim_id"]
    paid = lifecycle.approve_and_disburse(gateway, p, first.json()["claim_id"])
    assert paid["status"] == "disbursed"
    assert pool(gateway, p)["paid_fen"] == FACE


def test_reconciliation_lists_what_was_used_but_not_claimed_and_what_is_approved_but_unpaid(gateway, trained):
    p = trained(workers=2)
    claimed_code, unclaimed_code = p.codes
    claim_id = lifecycle.submit_claim(gateway, p, [claimed_code])["claim_id"]
    allocate(gateway, p, 500000)
    gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/review", p.reviewer)
    gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/approval", p.manager, {})
    report = lifecycle.reconciliation(gateway, p)
    assert report["totals"]["used"]["vouchers"] == 2
    assert (report["totals"]["approved"]["vouchers"], report["totals"]["paid"]["vouchers"]) == (1, 0)
    assert [line["code"] for line in report["differences"]["used_not_claimed"]["lines"]] == [unclaimed_code]
    assert [line["code"] for line in report["differences"]["approved_not_paid"]["lines"]] == [claimed_code]
    assert report["issuance"]["issued"] == 2

    lifecycle.pay_everything(gateway, p)
    settled = eventually(lambda: _written_off(gateway, p))
    assert "approved_not_paid" not in settled["differences"]
    assert settled["totals"]["paid"] == {"vouchers": 1, "fen": FACE}


def _written_off(gateway, p):
    report = lifecycle.reconciliation(gateway, p)
    assert report["totals"]["written_off"]["vouchers"] == 1, report
    return report


@pytest.mark.parametrize("params", [{"from": "2026-02-01", "to": "2026-01-01"}, {"from": "2020-01-01",
                                                                                 "to": "2026-01-01"}, {}])
def test_a_reconciliation_period_must_be_a_plausible_one(gateway, clients, params):
    manager = clients("manager", new_region())
    refused(gateway.call("GET", "/v1/reconciliation/430000", manager, params=params), 400, "validation_failed")
