"""Redemption: the right to use a claimed voucher, its one-time use, its return and its expiry."""
from nameko.rpc import rpc

from common.db import Database
from common.events import subscribe
from common.metrics import Metrics
from common.service import Observable
from common.timer import every
from redemption import operations, schemas
from redemption.domain import use


class RedemptionService(Observable):
    name = "redemption"
    db = Database()
    metrics = Metrics()

    @rpc
    def redeem(self, *, code, class_id, institution_id):
        return self.db.run(operations.redeem, code=code, class_id=class_id, institution_id=institution_id)

    @rpc
    def verify(self, *, code):
        return self.db.run(operations.verify, code=code)

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
