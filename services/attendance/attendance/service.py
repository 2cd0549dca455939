"""Attendance: class sessions, check-ins, presence and completion, and anomalies for managers."""
from functools import partial

from common import config
from common.db import Database
from common.events import subscribe
from common.metrics import Metrics
from common.rpc import rpc
from common.service import Observable
from common.timer import every
from attendance import operations, schemas
from attendance.domain import rotating_code


class AttendanceService(Observable):
    name = "attendance"
    db = Database()
    metrics = Metrics()

    @property
    def code_key(self):
        return rotating_code.code_key(config.secret(self.config, "PII_ENCRYPTION_KEY"))

    @rpc
    def check_in_many(self, *, commands):
        """Check-ins arriving together at the gateway, as one batch (ADR 0006)."""
        return self.db.run_each(partial(operations.check_in_many, code_key=self.code_key), commands)

    @rpc
    def current_code(self, *, class_id, institution_id):
        return self.db.run(operations.current_code, class_id=class_id, institution_id=institution_id,
                           code_key=self.code_key)

    @rpc
    def attendance_of(self, *, class_id, person_key):
        return self.db.run(operations.attendance_of, class_id=class_id, person_key=person_key)

    @rpc
    def class_attendance(self, *, class_id, region_code, institution_id=None):
        return self.db.run(operations.class_attendance, class_id=class_id, region_code=region_code,
                           institution_id=institution_id)

    @rpc
    def list_anomalies(self, *, region_code, status=None, kind=None, cursor=None, limit=50):
        return self.db.run(operations.list_anomalies, region_code=region_code, status=status, kind=kind,
                           cursor=cursor, limit=limit)

    @rpc
    def decide_anomaly(self, *, anomaly_id, region_code, decision, reason, decided_by):
        return self.db.run(operations.decide_anomaly, anomaly_id=anomaly_id, region_code=region_code,
                           decision=decision, reason=reason, decided_by=decided_by)

    @rpc
    def evaluate(self, *, class_id, person_key, rating, aspects):
        return self.db.run(operations.evaluate, class_id=class_id, person_key=person_key, rating=rating,
                           aspects=aspects)

    @rpc
    def checkin_coverage(self, *, region_code):
        return self.db.run(operations.checkin_coverage, region_code=region_code)

    @rpc
    def region_summary(self, *, region_code):
        return self.db.run(operations.region_summary, region_code=region_code)

    @every("ANOMALY_INTERVAL", default=60)
    def flag_silent_sessions(self):
        """Sessions that ended without check-ins, a batch per transaction until none is left."""
        while self.db.run(operations.flag_silent_sessions):
            pass

    @subscribe("issuance", "class_registered", schema=schemas.ClassSnapshot)
    def handle_class_registered(self, event):
        self.db.consume(event, operations.record_class)

    @subscribe("issuance", "class_schedule_changed", schema=schemas.ClassSnapshot)
    def handle_class_schedule_changed(self, event):
        self.db.consume(event, operations.record_class)

    @subscribe("issuance", "roster_extended", schema=schemas.RosterExtended)
    def handle_roster_extended(self, event):
        self.db.consume(event, operations.enrol)

    @subscribe("redemption", "vouchers_used", schema=schemas.VouchersUsed)
    def handle_vouchers_used(self, event):
        self.db.consume(event, operations.record_uses)

    @subscribe("redemption", "voucher_use_reversed", schema=schemas.VoucherUseReversed)
    def handle_voucher_use_reversed(self, event):
        self.db.consume(event, operations.record_use_reversal)
