"""Direct settlement (培训券结算) and certificates (添加证书) through settlement's RPC.

The used vouchers are fabricated: vouchers_used, voucher_use_reversed and trainings_completed
events go straight into settlement's handler queues, as in test_duplicate_delivery, each in a
region no other test has. Remote refusals come back as the classes of common.errors
(registered with nameko by importing it)."""
import datetime
import uuid

import pytest
from kombu import Connection

from common import codes
from common.errors import Conflict, Forbidden, RuleViolation
from common.events import Event, queue_names
from tests.platform import china_today, new_region

FACE_VALUE_FEN = 50000


class Used:
    """Used vouchers as settlement learns of them, in one fresh region."""

    def __init__(self, amqp_uri, quiet):
        self.amqp_uri, self.quiet = amqp_uri, quiet
        self.region = new_region()
        self.institution_id = str(uuid.uuid4())
        self.uses = {}  # code: the use delivered

    def _deliver(self, source, event_type, method, payload):
        event = Event(type=event_type, source=source, aggregate_id=str(uuid.uuid4()), payload=payload)
        queue = queue_names(source, event_type, "settlement", method)[0]
        with Connection(self.amqp_uri) as connection:
            connection.Producer().publish(event.to_message(), exchange="", routing_key=queue, serializer="json",
                                          delivery_mode=2)

    def voucher(self, *, completed=True, region=None, institution_id=None):
        """A voucher used (and, unless told, completed) at this institution: (code, person_key)."""
        code, person_key, class_id = codes.new_code(), uuid.uuid4().hex * 2, str(uuid.uuid4())
        template = {"template_id": str(uuid.uuid4()), "region_code": region or self.region,
                    "function": "face_value", "distribution": "general", "face_value_fen": FACE_VALUE_FEN,
                    "subsidy_standard_fen": None}
        self.uses[code] = {
            "voucher_id": str(uuid.uuid4()), "code": code, "person_key": person_key,
            "institution_id": institution_id or self.institution_id, "class_id": class_id, "device_id": None,
            "used_at": datetime.datetime.now(datetime.timezone.utc).isoformat(), "use_seq": 1, "template": template}
        self._deliver("redemption", "vouchers_used", "handle_vouchers_used", {"vouchers": [self.uses[code]]})
        if completed:
            self._deliver("attendance", "trainings_completed", "handle_trainings_completed", {"completions": [{
                "class_id": class_id, "institution_id": institution_id or self.institution_id,
                "region_code": region or self.region, "person_key": person_key, "attendance_rate": 1.0,
                "completed_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}]})
        return code, person_key

    def reverse(self, code):
        """Redemption undoes the use of ``code``."""
        self._deliver("redemption", "voucher_use_reversed", "handle_voucher_use_reversed", {
            **self.uses[code], "reversed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "reason": "mistaken_scan"})


@pytest.fixture
def used(amqp_uri, quiet):
    return Used(amqp_uri, quiet)


def settle(rpc, used, voucher_codes, region_code=None, reference="PAY-2024-0001"):
    return rpc.settlement.settle_vouchers(
        region_code=region_code or used.region, institution_id=used.institution_id, voucher_codes=voucher_codes,
        payment_reference=reference, settled_by="test-province")


def reasons(result):
    return [line["reason"] for line in result["lines"]]


# --- settle_vouchers --------------------------------------------------------------------

def test_accepted_and_refused_lines_in_one_settlement(rpc, used):
    payable, _ = used.voucher()
    other_payable, _ = used.voucher()
    not_completed, _ = used.voucher(completed=False)
    elsewhere, _ = used.voucher(institution_id=str(uuid.uuid4()))
    used.quiet()
    result = settle(rpc, used, [payable, not_completed, codes.display(other_payable), elsewhere, "NOT-A-CODE"])
    assert reasons(result) == [None, "training_not_completed", None, "used_elsewhere", "not_used"]
    assert (result["accepted"], result["refused"], result["total_fen"]) == (2, 3, 2 * FACE_VALUE_FEN)
    assert result["payment_reference"] == "PAY-2024-0001" and result["institution_id"] == used.institution_id
    claim = rpc.settlement.get_claim(claim_id=result["settlement_id"], region_code=used.region)
    assert (claim["status"], claim["total_fen"]) == ("disbursed", 2 * FACE_VALUE_FEN)
    used.quiet()
    assert rpc.settlement.region_summary(region_code=used.region)["settled"] == 2
    assert rpc.statistics.region_summary(region_code=used.region)["settled"] == 2


def test_a_voucher_of_another_region_is_refused_and_reveals_nothing(rpc, used):
    mine, _ = used.voucher()
    theirs, _ = used.voucher(region=new_region())
    used.quiet()
    result = settle(rpc, used, [mine, theirs])
    assert result["lines"][1] == {"code": theirs, "accepted": False, "reason": "other_region", "amount_fen": 0}
    assert (result["accepted"], result["total_fen"]) == (1, FACE_VALUE_FEN)


def test_a_settled_voucher_is_refused_the_second_time(rpc, used):
    first, _ = used.voucher()
    fresh, _ = used.voucher()
    used.quiet()
    settle(rpc, used, [first])
    again = settle(rpc, used, [first, fresh], reference="PAY-2024-0002")
    assert reasons(again) == ["already_settled", None]
    assert again["total_fen"] == FACE_VALUE_FEN


def test_a_settlement_with_no_payable_line_is_refused_whole_with_its_lines(rpc, used):
    settled, _ = used.voucher()
    not_completed, _ = used.voucher(completed=False)
    used.quiet()
    settle(rpc, used, [settled])
    with pytest.raises(RuleViolation) as refused:
        settle(rpc, used, [settled, not_completed, codes.new_code()], reference="PAY-2024-0003")
    assert refused.value.code == "no_payable_lines"
    assert [line["reason"] for line in refused.value.details["lines"]] == [
        "already_settled", "training_not_completed", "not_used"]
    # Nothing was written: still only the voucher settled before.
    assert rpc.settlement.region_summary(region_code=used.region)["settled"] == 1


def test_a_voucher_whose_use_was_undone_is_refused_as_use_reversed(rpc, used):
    undone, _ = used.voucher()
    payable, _ = used.voucher()
    used.quiet()
    used.reverse(undone)
    used.quiet()
    result = settle(rpc, used, [undone, payable])
    assert reasons(result) == ["use_reversed", None]
    assert rpc.settlement.region_summary(region_code=used.region)["used"] == 1


# --- add_certificate ----------------------------------------------------------------------

def certificate(**overrides):
    return {"number": f"CERT-{uuid.uuid4().hex[:12]}", "kind": "skill_level", "occupation": "电工",
            "skill_level": 4, "issued_on": china_today().isoformat(),
            "issuer": "湖南省职业技能鉴定中心", **overrides}


def add(rpc, used, code, person_key, cert, institution_id="mine", region_code=None):
    return rpc.settlement.add_certificate(
        voucher_code=code, person_key=person_key,
        institution_id=used.institution_id if institution_id == "mine" else institution_id,
        region_code=region_code or used.region, certificate=cert)


def test_a_certificate_is_recorded_once_however_often_it_is_reported(rpc, used):
    code, person_key = used.voucher()
    used.quiet()
    cert = certificate()
    first = add(rpc, used, codes.display(code).lower(), person_key, cert)
    assert {k: first[k] for k in ("voucher_code", "kind", "number", "occupation", "skill_level", "issued_on",
                                  "issuer")} == {"voucher_code": code, **cert}
    again = add(rpc, used, code, person_key, cert, institution_id=None)  # a manager reports it too
    assert again == first


def test_only_the_holder_gets_a_certificate_on_the_voucher(rpc, used):
    code, _ = used.voucher()
    used.quiet()
    with pytest.raises(RuleViolation) as refused:
        add(rpc, used, code, uuid.uuid4().hex * 2, certificate())
    assert refused.value.code == "not_the_holder"


def test_another_institution_cannot_record_a_certificate(rpc, used):
    code, person_key = used.voucher()
    used.quiet()
    with pytest.raises(Forbidden) as refused:
        add(rpc, used, code, person_key, certificate(), institution_id=str(uuid.uuid4()))
    assert refused.value.code == "other_institution"


def test_a_certificate_number_belongs_to_one_voucher(rpc, used):
    code, person_key = used.voucher()
    other_code, other_person = used.voucher()
    used.quiet()
    cert = certificate()
    add(rpc, used, code, person_key, cert)
    with pytest.raises(Conflict) as refused:
        add(rpc, used, other_code, other_person, cert)
    assert refused.value.code == "certificate_number_taken"
