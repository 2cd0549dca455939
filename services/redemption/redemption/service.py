"""Redemption: the right to use a claimed voucher, its one-time use (signed QR scans, online
classes, offline scanners), its reversal, its return and its expiry."""
from functools import partial

from common.db import Database
from common.events import subscribe
from common.metrics import Metrics
from common.rpc import rpc
from common.service import Observable
from common.timer import every
from redemption import operations, schemas
from redemption.dependencies import QrKeys
from redemption.domain import use


class RedemptionService(Observable):
    name = "redemption"
    db = Database()
    metrics = Metrics()
    qr_keys = QrKeys()

    @rpc
    def issue_qr(self, *, code, person_key):
        return self.db.run(operations.issue_qr, code=code, person_key=person_key, keys=self.qr_keys)

    @rpc
    def qr_key_set(self):
        return self.db.run(operations.qr_key_set, keys=self.qr_keys)

    @rpc
    def verify(self, *, code=None, qr_payload=None):
        return self.db.run(operations.verify, code=code, qr_payload=qr_payload, keys=self.qr_keys)

    @rpc
    def redeem_vouchers(self, *, commands):
        """Scans arriving together at the gateway, as one batch (ADR 0006)."""
        return self.db.run_each(partial(operations.redeem_vouchers, keys=self.qr_keys), commands)

    @rpc
    def redeem_online(self, *, code, class_id, person_key):
        return self.db.run(operations.redeem_online, code=code, class_id=class_id, person_key=person_key)

    @rpc
    def redeem_offline(self, *, device_id, institution_id, scans):
        return self.db.run(operations.redeem_offline, device_id=device_id, institution_id=institution_id,
                           scans=scans, keys=self.qr_keys)

    @rpc
    def reverse_use(self, *, code, institution_id, reason, reversed_by):
        return self.db.run(operations.reverse_use, code=code, institution_id=institution_id, reason=reason,
                           reversed_by=reversed_by)

    @rpc
    def list_conflicts(self, *, region_code, institution_id=None, cursor=None, limit=50):
        return self.db.run(operations.list_conflicts, region_code=region_code, institution_id=institution_id,
                           cursor=cursor, limit=limit)

    @rpc
    def return_voucher(self, *, code, person_key):
        return self.db.run(operations.return_voucher, code=code, person_key=person_key)

    @every("EXPIRY_INTERVAL", default=60)
    def expire_rights(self):
        """Claimed vouchers unused past their last day expire, a batch per transaction until none is left."""
        today = use.today()
        while self.db.run(operations.expire_rights, today=today):
            pass

    @rpc
    def void_vouchers(self, *, voucher_codes, region_code, reason):
        return self.db.run(operations.void_vouchers, voucher_codes=voucher_codes, region_code=region_code,
                           reason=reason)

    @rpc
    def region_summary(self, *, region_code):
        return self.db.run(operations.region_summary, region_code=region_code)

    @subscribe("issuance", "vouchers_claimed", schema=schemas.VouchersClaimed)
    def handle_vouchers_claimed(self, event):
        self.db.consume(event, operations.record_claims)

    @subscribe("issuance", "class_registered", schema=schemas.ClassRegistered)
    def handle_class_registered(self, event):
        self.db.consume(event, operations.record_class)

    @subscribe("issuance", "institution_registered", schema=schemas.InstitutionProjects)
    def handle_institution_registered(self, event):
        self.db.consume(event, operations.record_institution_projects)

    @subscribe("issuance", "institution_projects_changed", schema=schemas.InstitutionProjects)
    def handle_institution_projects_changed(self, event):
        self.db.consume(event, operations.record_institution_projects)

    @subscribe("settlement", "vouchers_settled", schema=schemas.VouchersSettled)
    def handle_vouchers_settled(self, event):
        self.db.consume(event, operations.record_settlement)
