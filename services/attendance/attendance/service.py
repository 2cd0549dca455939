"""Attendance: class sessions, check-ins and whether a trainee completed a class."""
from nameko.rpc import rpc

from common.db import Database
from common.events import subscribe
from common.metrics import Metrics
from common.service import Observable
from attendance import operations, schemas


class AttendanceService(Observable):
    name = "attendance"
    db = Database()
    metrics = Metrics()

    @rpc
    def check_in_by_location(self, *, class_id, person_key, latitude, longitude, accuracy_m):
        return self.db.run(operations.check_in_by_location, class_id=class_id, person_key=person_key,
                           latitude=latitude, longitude=longitude, accuracy_m=accuracy_m)

    @rpc
    def region_summary(self, *, region_code):
        return self.db.run(operations.region_summary, region_code=region_code)

    @subscribe("issuance", "class_registered", schema=schemas.ClassRegistered)
    def handle_class_registered(self, event):
        self.db.consume(event, operations.record_class)

    @subscribe("issuance", "roster_extended", schema=schemas.RosterExtended)
    def handle_roster_extended(self, event):
        self.db.consume(event, operations.enrol)
