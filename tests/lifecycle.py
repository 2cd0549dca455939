"""The whole voucher lifecycle as steps, shared by the end-to-end and chaos tests."""
import datetime
import random
import uuid
from dataclasses import dataclass, field

from tests.platform import china_today, credit_code, eventually, id_number

OCCUPATION, LEVEL = "6-31-01-03", 4  # electrician (电工), level 4
FUNDING_SOURCE = "就业补助资金"


@dataclass
class Province:
    """Everything one run of the lifecycle creates, in one fresh region."""
    region: str
    manager: str
    channel: str
    reviewer: str = None  # a second manager of the region: who reviews an application does not approve it
    second_approver: str = None  # a third, for applications above the dual-approval amount
    institution_id: str = None
    institution: str = None
    site: dict = None
    class_id: str = None
    workers: list = field(default_factory=list)
    template_id: str = None
    targeted_template_id: str = None
    codes: list = field(default_factory=list)


def register(gateway, clients, region, roster_size=3, rng=random):
    p = Province(region=region, manager=clients("manager", region), channel=clients("channel", region),
                 reviewer=clients("manager", region), second_approver=clients("manager", region))
    institution = gateway.ok("POST", "/v1/institutions", p.manager, {
        "region_code": region, "name": "长沙市职业技能培训学校", "credit_code": credit_code(rng),
        "sites": [{"name": "芙蓉校区", "address": "长沙市芙蓉区八一路1号", "latitude": 28.1960,
                   "longitude": 112.9823, "radius_m": 150}]})
    p.institution_id, p.site = institution["institution_id"], institution["sites"][0]
    p.institution = clients("institution", region, p.institution_id)
    now = datetime.datetime.now(datetime.timezone.utc)
    p.workers = [id_number(rng) for _ in range(roster_size)]
    training_class = gateway.ok("POST", "/v1/classes", p.institution, {
        "site_id": p.site["site_id"], "name": "电工四级 2026 第1期", "occupation": OCCUPATION, "skill_level": LEVEL,
        "completion_threshold": 1.0, "roster": p.workers,
        "sessions": [{"starts_at": (now - datetime.timedelta(minutes=5)).isoformat(),
                      "ends_at": (now + datetime.timedelta(hours=3)).isoformat()}]})
    p.class_id = training_class["class_id"]
    return p


def create_templates(gateway, p, pool_size=5):
    year = datetime.date.today().year
    terms = {"region_code": p.region, "occupation": OCCUPATION, "skill_level": LEVEL, "funding_source": FUNDING_SOURCE,
             "valid_from": f"{year}-01-01", "valid_until": f"{year}-12-31", "quantity": 1000}
    p.template_id = gateway.ok("POST", "/v1/templates", p.manager, {
        **terms, "name": "电工通用面值券", "function": "face_value", "distribution": "general",
        "face_value_fen": 80000})["template_id"]
    p.targeted_template_id = gateway.ok("POST", "/v1/templates", p.manager, {
        **terms, "name": "电工定向抵用券", "function": "credit", "distribution": "targeted",
        "subsidy_standard_fen": 120000})["template_id"]
    gateway.ok("POST", f"/v1/templates/{p.template_id}/pool", p.manager, {"quantity": pool_size})


def issue_targeted(gateway, p):
    return gateway.ok("POST", f"/v1/classes/{p.class_id}/targeted-vouchers", p.manager,
                      {"template_id": p.targeted_template_id})


def claim(gateway, p, worker):
    voucher = gateway.ok("POST", "/v1/claims", p.channel, {"template_id": p.template_id, "id_number": worker})
    p.codes.append(voucher["code"])
    return voucher


def _created_after_replication(send, not_yet=()):
    """Send until the service stops answering 404 or one of the ``not_yet`` error codes (it has
    not yet heard of the claim, the class or the use: events are asynchronous), then expect 201."""
    def attempt():
        response = send()
        assert response.status_code != 404, response.text
        assert response.status_code < 400 or response.json().get("error") not in not_yet, response.text
        return response
    response = eventually(attempt)
    assert response.status_code == 201, response.text
    return response.json()


def redeem(gateway, p, code, holder=None):
    """The institution scans the voucher: the QR code its holder shows, when the holder is named,
    else the code typed from the print."""
    def scan():
        if holder is None:
            return {"code": code}
        shown = gateway.call("POST", f"/v1/vouchers/{code}/qr", p.channel, {"id_number": holder})
        assert shown.status_code == 200, shown.text
        return {"qr": shown.json()["payload"]}
    return _created_after_replication(lambda: gateway.call(
        "POST", "/v1/redemptions", p.institution, {**scan(), "class_id": p.class_id}))


def targeted_code(gateway, p, worker):
    """The code of the worker's targeted voucher; AssertionError until issuance has it (``eventually``)."""
    vouchers = gateway.ok("POST", "/v1/vouchers/holder-query", p.channel, {"id_number": worker})["items"]
    found = [v["code"] for v in vouchers if v["template_id"] == p.targeted_template_id]
    assert found, "no targeted voucher yet"
    return found[0]


def use_targeted(gateway, p, worker):
    """The institution scans the QR code of the worker's targeted voucher for the class, as a
    trainee's voucher is used before they check in."""
    return redeem(gateway, p, eventually(lambda: targeted_code(gateway, p, worker)), holder=worker)


def check_in(gateway, p, worker):
    """A trainee checks in 33 m from the site's centre."""
    return _created_after_replication(lambda: gateway.call("POST", "/v1/checkins", p.channel, {
        "class_id": p.class_id, "id_number": worker, "latitude": p.site["latitude"] + 0.0003,
        "longitude": p.site["longitude"], "accuracy_m": 15}), not_yet=("no_usable_voucher",))


def submit_claim_csv(gateway, p, text, all_accepted=None):
    """The application as a CSV file of codes, once every line's use and completion has arrived;
    ``all_accepted=False`` when some lines are meant to be refused. Retried with one
    Idempotency-Key, as an integrator would: a first attempt whose answer was lost (a timeout)
    is answered again rather than made twice."""
    key = str(uuid.uuid4())

    def attempt():
        response = gateway.call("POST", "/v1/subsidy-claims", p.institution, raw=text.encode(),
                                headers={"Content-Type": "text/csv", "Idempotency-Key": key})
        assert response.status_code == 201, response.text
        return response.json()
    return eventually(attempt)


def reconciliation(gateway, p):
    """The region's reconciliation (对账) over the China days around today."""
    today = china_today()
    return gateway.ok("GET", f"/v1/reconciliation/{p.region}", p.manager, params={
        "from": (today - datetime.timedelta(days=1)).isoformat(), "to": (today + datetime.timedelta(days=1)).isoformat()})


def submit_claim(gateway, p, codes):
    """One application for ``codes``, every line accepted. Send it once the platform is quiet
    (``quiet()``): settlement accepts a line only for a use and a completed training it has heard
    of, and both arrive as events; a line refused for that would stay refused in this application,
    and a second one would find the first one's lines already claimed. Retried with one
    Idempotency-Key, so that an attempt carried out after its answer was lost (a timeout) is
    answered again rather than made twice."""
    key = {"Idempotency-Key": str(uuid.uuid4())}

    def attempt():
        response = gateway.call("POST", "/v1/subsidy-claims", p.institution, {"codes": codes}, headers=key)
        assert response.status_code == 201, response.text
        return response.json()
    application = eventually(attempt)
    assert all(line["accepted"] for line in application["lines"]), application
    return application


def approve_and_disburse(gateway, p, claim_id):
    """Review (one manager), approval (another), the region's budget, the bank payment file and the
    bank's answer that everything was paid: the application is disbursed."""
    claim = gateway.ok("GET", f"/v1/subsidy-claims/{claim_id}", p.manager)
    gateway.ok("POST", "/v1/funding-pools/allocations", p.manager, {
        "region_code": p.region, "funding_source": FUNDING_SOURCE, "amount_fen": claim["total_fen"]})
    gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/review", p.reviewer)
    if gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/approval", p.manager, {})["awaiting_second_approval"]:
        gateway.ok("POST", f"/v1/subsidy-claims/{claim_id}/approval", p.second_approver, {})
    pay_everything(gateway, p)
    return gateway.ok("GET", f"/v1/subsidy-claims/{claim_id}", p.manager)


def pay_everything(gateway, p):
    """A payment file of everything the region owes, and the bank's answer: all paid."""
    payment_file = gateway.ok("POST", "/v1/payment-files", p.manager)
    rows = payment_rows(gateway, p, payment_file["file_id"])
    return gateway.ok("POST", f"/v1/payment-files/{payment_file['file_id']}/results", p.manager, {"results": [
        {"instruction_id": row["instruction_id"], "status": "paid", "bank_reference": f"BANK-{index}"}
        for index, row in enumerate(rows)]})


def payment_rows(gateway, p, file_id):
    import csv
    import io
    response = gateway.call("GET", f"/v1/payment-files/{file_id}", p.manager)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv"), response.text
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def statistics(gateway, p):
    return gateway.ok("GET", f"/v1/indicators/{p.region}", p.manager)
