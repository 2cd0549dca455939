"""Statistics: read models fed by events; owns nothing but derived data."""
from nameko.rpc import rpc

from common.db import Database
from common.events import subscribe
from common.metrics import Metrics
from common.service import Observable
from stats import operations, schemas


class StatisticsService(Observable):
    name = "statistics"
    db = Database()
    metrics = Metrics()

    @rpc
    def region_summary(self, *, region_code, year=None):
        return self.db.run(operations.region_summary, region_code=region_code, year=year)

    @rpc
    def monthly_report(self, *, region_code, month):
        return self.db.run(operations.monthly_report, region_code=region_code, month=month)

    @rpc
    def set_targets(self, *, year, rows):
        return self.db.run(operations.set_targets, year=year, rows=rows)

    @subscribe("issuance", "vouchers_issued", schema=schemas.VouchersIssued)
    def handle_vouchers_issued(self, event):
        self.db.consume(event, operations.count_issued)

    @subscribe("issuance", "vouchers_claimed", schema=schemas.VouchersClaimed)
    def handle_vouchers_claimed(self, event):
        self.db.consume(event, operations.count_claimed)

    @subscribe("redemption", "vouchers_used", schema=schemas.VouchersUsed)
    def handle_vouchers_used(self, event):
        self.db.consume(event, operations.count_used)

    @subscribe("redemption", "voucher_use_reversed", schema=schemas.VoucherUseReversed)
    def handle_voucher_use_reversed(self, event):
        self.db.consume(event, operations.count_use_reversed)

    @subscribe("settlement", "vouchers_settled", schema=schemas.VouchersSettled)
    def handle_vouchers_settled(self, event):
        self.db.consume(event, operations.count_settled)

    @subscribe("redemption", "vouchers_voided", schema=schemas.VouchersVoided)
    def handle_vouchers_voided(self, event):
        self.db.consume(event, operations.count_voided)

    @subscribe("redemption", "voucher_returned", schema=schemas.VoucherReturned)
    def handle_voucher_returned(self, event):
        self.db.consume(event, operations.count_returned)

    @subscribe("redemption", "vouchers_expired", schema=schemas.VouchersExpired)
    def handle_vouchers_expired(self, event):
        self.db.consume(event, operations.count_expired)
