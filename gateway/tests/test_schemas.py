"""What the gateway lets in: payout accounts, training projects, scans and their times, task-table
rows, and the institution as issuance receives it (the account number sealed, never in the clear)."""
import base64
import datetime
import os
import uuid

import pytest
from marshmallow import ValidationError

from common.identity import Sealer
from gateway import schemas
from gateway.service import _protect_institution

SITE = {"name": "本部", "address": "长沙市", "latitude": 28.2, "longitude": 112.9, "radius_m": 100}


class _Identity:
    def __init__(self):
        self.sealer = Sealer(base64.urlsafe_b64encode(os.urandom(32)).decode())

    def seal(self, text):
        return base64.b64encode(self.sealer.seal(text)).decode()


def _institution(**overrides):
    return {"region_code": "430102", "name": "长沙市某职业培训学校", "credit_code": "91430102MA4L0ABCDP",
            "sites": [SITE], **overrides}


def _account(number="6222021234567890"):
    return {"bank_name": "中国工商银行", "account_name": "长沙市某职业培训学校", "account_number": number}


@pytest.mark.parametrize("number", ["12345678", "6222021234567890", "1" * 30])
def test_an_account_number_of_8_to_30_digits_is_accepted(number):
    assert schemas.PayoutAccountIn().load(_account(number))["account_number"] == number


@pytest.mark.parametrize("number", ["1234567", "1" * 31, "6222 0212 3456 7890", "62220212345678X0", "12345678\n",
                                    "１２３４５６７８", ""])
def test_an_account_number_that_is_not_8_to_30_digits_is_refused(number):
    with pytest.raises(ValidationError) as refused:
        schemas.PayoutAccountIn().load(_account(number))
    assert "account_number" in refused.value.messages


def test_the_account_number_is_sealed_and_masked_before_issuance_sees_it():
    identity = _Identity()
    project = uuid.uuid4()
    loaded = schemas.InstitutionIn().load(_institution(payout_account=_account(), project_ids=[str(project)]))
    sent = _protect_institution(identity, loaded)
    account = sent["payout_account"]
    assert account["account_masked"] == "****7890" and "account_number" not in account
    assert identity.sealer.open(base64.b64decode(account["account_sealed"])) == "6222021234567890"
    assert "6222021234567890" not in str(sent)
    assert sent["project_ids"] == [str(project)]


def test_an_institution_without_account_or_projects_is_sent_as_before():
    sent = _protect_institution(_Identity(), schemas.InstitutionIn().load(_institution()))
    assert "payout_account" not in sent and sent["project_ids"] == []


@pytest.mark.parametrize("occupation", ["6-31-01-03", "4-01-02-01-03"])
def test_a_project_row_with_a_gb_t_6565_occupation_code_loads(occupation):
    row = {"region_code": "430102", "occupation": occupation, "skill_level": 4, "name": "电工四级",
           "subsidy_standard_fen": 120000}
    assert schemas.ProjectIn().load(row)["occupation"] == occupation


@pytest.mark.parametrize("row, field", [
    ({"occupation": "electrician"}, "occupation"), ({"occupation": "6-31-01-03\n"}, "occupation"),
    ({"skill_level": 6}, "skill_level"), ({"subsidy_standard_fen": 0}, "subsidy_standard_fen"),
    ({"region_code": "4301"}, "region_code"), ({"phone": "13800000000"}, "phone")])
def test_a_bad_project_row_names_its_field(row, field):
    good = {"region_code": "430102", "occupation": "6-31-01-03", "skill_level": 4, "name": "电工四级",
            "subsidy_standard_fen": 120000}
    with pytest.raises(ValidationError) as refused:
        schemas.ProjectIn().load({**good, **row})
    assert field in refused.value.messages


def test_a_scan_time_with_any_offset_is_kept_in_utc_and_one_beyond_the_calendar_is_refused():
    scan = {"sequence": 1, "qr": "VT1.k.body.signature", "class_id": str(uuid.uuid4())}
    loaded = schemas.OfflineScanIn().load({**scan, "scanned_at": "2026-01-01T00:00:00-18:00"})
    assert loaded["scanned_at"] == datetime.datetime(2026, 1, 1, 18, tzinfo=datetime.timezone.utc)
    with pytest.raises(ValidationError) as refused:
        schemas.OfflineScanIn().load({**scan, "scanned_at": "9999-12-31T23:59:59-05:00"})
    assert "scanned_at" in refused.value.messages


def test_a_scanner_sends_a_qr_payload_or_a_typed_code_never_both_nor_neither():
    class_id = str(uuid.uuid4())
    assert schemas.RedemptionIn().load({"qr": "VT1.k.body.signature", "class_id": class_id})["qr"]
    for body in ({"class_id": class_id}, {"qr": "VT1.k.body.signature", "code": "8FGA210TA21EJ", "class_id": class_id}):
        with pytest.raises(ValidationError):
            schemas.RedemptionIn().load(body)


TARGET = {"region_code": "370100", "name": "济南市", "planned_trainees": 100, "issue_target": 50, "use_target": 5}


def test_a_target_row_without_a_reason_loads_with_none_and_one_without_a_plan_says_so_with_null():
    assert schemas.TargetRow().load(TARGET)["rule_deviation"] is None
    assert schemas.TargetRow().load({**TARGET, "planned_trainees": None})["planned_trainees"] is None
    with pytest.raises(ValidationError) as refused:
        schemas.TargetRow().load({key: value for key, value in TARGET.items() if key != "planned_trainees"})
    assert "planned_trainees" in refused.value.messages


def test_a_target_rows_reason_is_kept_up_to_200_characters():
    reason = "附件 1 以万张保留两位小数：6.05 × 10% = 0.605，印作 0.61"
    assert schemas.TargetRow().load({**TARGET, "rule_deviation": reason})["rule_deviation"] == reason
    with pytest.raises(ValidationError) as refused:
        schemas.TargetRow().load({**TARGET, "rule_deviation": "x" * 201})
    assert "rule_deviation" in refused.value.messages
