"""Settlement: where public money moves. Subsidy applications and their review, funding pools on
a double-entry ledger, payment files and the bank's answers, the write-off (核销) that voids a
voucher's code for good; settlements a province paid itself; the certificates trainees obtained
with voucher-funded training; reconciliation."""
from common.db import Database
from common.events import subscribe
from common.metrics import Metrics
from common.rpc import rpc
from common.service import Observable
from settlement import operations, schemas


class SettlementService(Observable):
    name = "settlement"
    db = Database()
    metrics = Metrics()

    @rpc
    def submit_claim(self, *, institution_id, region_code, voucher_codes, submitted_by):
        return self.db.run(operations.submit_claim, institution_id=institution_id, region_code=region_code,
                           voucher_codes=voucher_codes, submitted_by=submitted_by)

    @rpc
    def start_review(self, *, claim_id, reviewer, region_code):
        return self.db.run(operations.start_review, claim_id=claim_id, reviewer=reviewer, region_code=region_code)

    @rpc
    def approve_claim(self, *, claim_id, approver, region_code, rejected_lines=()):
        return self.db.run(operations.approve_claim, claim_id=claim_id, approver=approver, region_code=region_code,
                           rejected_lines=rejected_lines, dual_approval_fen=int(self.config["DUAL_APPROVAL_FEN"]))

    @rpc
    def reject_claim(self, *, claim_id, manager, region_code, reason):
        return self.db.run(operations.reject_claim, claim_id=claim_id, manager=manager, region_code=region_code,
                           reason=reason)

    @rpc
    def allocate_budget(self, *, region_code, funding_source, amount_fen, actor):
        return self.db.run(operations.allocate_budget, region_code=region_code, funding_source=funding_source,
                           amount_fen=amount_fen, actor=actor)

    @rpc
    def list_pools(self, *, region_code):
        return self.db.run(operations.list_pools, region_code=region_code)

    @rpc
    def create_payment_file(self, *, region_code, created_by):
        return self.db.run(operations.create_payment_file, region_code=region_code, created_by=created_by)

    @rpc
    def payment_file(self, *, file_id, region_code):
        return self.db.run(operations.payment_file, file_id=file_id, region_code=region_code)

    @rpc
    def record_payment_results(self, *, file_id, region_code, results, actor):
        return self.db.run(operations.record_payment_results, file_id=file_id, region_code=region_code,
                           results=results, actor=actor)

    @rpc
    def reconciliation(self, *, region_code, date_from, date_to):
        return self.db.run(operations.reconciliation, region_code=region_code, date_from=date_from, date_to=date_to)

    @rpc
    def settle_vouchers(self, *, region_code, institution_id, voucher_codes, payment_reference, settled_by):
        return self.db.run(operations.settle_vouchers, region_code=region_code, institution_id=institution_id,
                           voucher_codes=voucher_codes, payment_reference=payment_reference, settled_by=settled_by)

    @rpc
    def add_certificate(self, *, voucher_code, person_key, institution_id, region_code, certificate):
        return self.db.run(operations.add_certificate, voucher_code=voucher_code, person_key=person_key,
                           institution_id=institution_id, region_code=region_code, certificate=certificate)

    @rpc
    def get_claim(self, *, claim_id, region_code):
        return self.db.run(operations.get_claim, claim_id=claim_id, region_code=region_code)

    @rpc
    def region_summary(self, *, region_code):
        return self.db.run(operations.region_summary, region_code=region_code)

    @subscribe("redemption", "vouchers_used", schema=schemas.VouchersUsed)
    def handle_vouchers_used(self, event):
        self.db.consume(event, operations.record_uses)

    @subscribe("redemption", "voucher_use_reversed", schema=schemas.VoucherUseReversed)
    def handle_voucher_use_reversed(self, event):
        self.db.consume(event, operations.record_use_reversal)

    @subscribe("attendance", "trainings_completed", schema=schemas.TrainingsCompleted)
    def handle_trainings_completed(self, event):
        self.db.consume(event, operations.record_completions)
