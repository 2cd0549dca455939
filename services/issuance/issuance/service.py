"""Issuance: templates, vouchers before use, and the catalogue (institutions, training projects,
classes, rosters, persons). Entrypoints only hand a command to ``operations`` through ``db.run``."""
import time

from common.db import Database
from common.events import subscribe
from common.metrics import Metrics
from common.rpc import rpc
from common.service import Observable
from common.timer import every
from issuance import operations, schemas


JOB_TICK_SECONDS = 5


class IssuanceService(Observable):
    name = "issuance"
    db = Database()
    metrics = Metrics()

    @rpc
    def register_institution(self, **institution):
        return self.db.run(operations.register_institution, **institution)

    @rpc
    def register_institutions(self, *, rows):
        return self.db.run(operations.register_institutions, rows=rows)

    @rpc
    def get_institution(self, *, institution_id, region_code):
        return self.db.run(operations.get_institution, institution_id=institution_id, region_code=region_code)

    @rpc
    def payout_accounts(self, *, institution_ids):
        return self.db.run(operations.payout_accounts, institution_ids=institution_ids)

    @rpc
    def set_institution_projects(self, *, institution_id, region_code, project_ids):
        return self.db.run(operations.set_institution_projects, institution_id=institution_id,
                           region_code=region_code, project_ids=project_ids)

    @rpc
    def register_projects(self, *, rows, region_code):
        return self.db.run(operations.register_projects, rows=rows, region_code=region_code)

    @rpc
    def list_projects(self, *, region_code, cursor=None, limit=50):
        return self.db.run(operations.list_projects, region_code=region_code, cursor=cursor, limit=limit)

    @rpc
    def register_class(self, **training_class):
        return self.db.run(operations.register_class, **training_class)

    @rpc
    def reschedule_class(self, *, class_id, region_code, institution_id=None, sessions):
        return self.db.run(operations.reschedule_class, class_id=class_id, region_code=region_code,
                           institution_id=institution_id, sessions=sessions)

    @rpc
    def add_trainees(self, *, class_id, region_code, institution_id=None, trainees):
        return self.db.run(operations.add_trainees, class_id=class_id, region_code=region_code,
                           institution_id=institution_id, trainees=trainees)

    @rpc
    def create_template(self, **terms):
        return self.db.run(operations.create_template, **terms)

    @rpc
    def issue_pool(self, *, template_id, quantity, region_code):
        return self.db.run(operations.issue_pool, template_id=template_id, quantity=quantity,
                           region_code=region_code)

    @rpc
    def issue_targeted(self, *, template_id, class_id, region_code):
        return self.db.run(operations.issue_targeted, template_id=template_id, class_id=class_id,
                           region_code=region_code)

    @rpc
    def start_issuance_job(self, *, template_id, region_code, quantity=None, class_ids=None):
        return self.db.run(operations.start_issuance_job, template_id=template_id, region_code=region_code,
                           quantity=quantity, class_ids=class_ids)

    @rpc
    def get_issuance_job(self, *, job_id, region_code):
        return self.db.run(operations.get_issuance_job, job_id=job_id, region_code=region_code)

    @every("JOB_INTERVAL", default=1)
    def advance_issuance_jobs(self):
        """Running jobs, a chunk per transaction, for a few seconds a tick: a long job never holds
        up the service's shutdown for more than that."""
        chunk, until = int(self.config.get("JOB_CHUNK", 10_000)), time.monotonic() + JOB_TICK_SECONDS
        while time.monotonic() < until and self.db.run(operations.advance_issuance_job, pool_chunk=chunk):
            pass

    @rpc
    def update_template(self, *, template_id, region_code, changes):
        return self.db.run(operations.update_template, template_id=template_id, region_code=region_code,
                           changes=changes)

    @rpc
    def claim_vouchers(self, *, commands):
        """Claims arriving together at the gateway, as one batch (ADR 0006)."""
        return self.db.run_each(operations.claim_vouchers, commands)

    @rpc
    def record_eligibility(self, *, group, region_code, persons):
        return self.db.run(operations.record_eligibility, group=group, region_code=region_code, persons=persons)

    @every("EXPIRY_INTERVAL", default=60)
    def expire_unclaimed(self):
        while self.db.run(operations.expire_unclaimed):
            pass

    @rpc
    def list_templates(self, *, region_code, distribution=None, function=None, cursor=None, limit=50):
        return self.db.run(operations.list_templates, region_code=region_code, distribution=distribution,
                           function=function, cursor=cursor, limit=limit)

    @rpc
    def list_holder_vouchers(self, *, person_key, region_code, cursor=None, limit=50):
        return self.db.run(operations.list_holder_vouchers, person_key=person_key, region_code=region_code,
                           cursor=cursor, limit=limit)

    @rpc
    def get_voucher(self, *, code):
        return self.db.run(operations.get_voucher, code=code)

    @rpc
    def trainee_by_voucher(self, *, code, region_code, institution_id=None):
        return self.db.run(operations.trainee_by_voucher, code=code, region_code=region_code,
                           institution_id=institution_id)

    @rpc
    def region_summary(self, *, region_code):
        return self.db.run(operations.region_summary, region_code=region_code)

    @subscribe("redemption", "vouchers_used", schema=schemas.VouchersUsed)
    def handle_vouchers_used(self, event):
        self.db.consume(event, operations.record_uses)

    @subscribe("redemption", "voucher_use_reversed", schema=schemas.VoucherUseReversed)
    def handle_voucher_use_reversed(self, event):
        self.db.consume(event, operations.record_use_reversal)

    @subscribe("settlement", "vouchers_settled", schema=schemas.VouchersSettled)
    def handle_vouchers_settled(self, event):
        self.db.consume(event, operations.record_settlement)

    @subscribe("redemption", "vouchers_voided", schema=schemas.VouchersVoided)
    def handle_vouchers_voided(self, event):
        self.db.consume(event, operations.record_void)

    @subscribe("redemption", "voucher_returned", schema=schemas.VoucherReturned)
    def handle_voucher_returned(self, event):
        self.db.consume(event, operations.record_return)

    @subscribe("redemption", "vouchers_expired", schema=schemas.VouchersExpired)
    def handle_vouchers_expired(self, event):
        self.db.consume(event, operations.record_expiry)
