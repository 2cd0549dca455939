"""Statistics: read models fed by events; owns nothing but derived data (and what bureaus report
of themselves: targets and region facts)."""
from common.db import Database
from common.events import subscribe
from common.metrics import Metrics
from common.rpc import rpc
from common.service import Observable
from stats import operations
from stats.business_metrics import BusinessMetrics


def _journaled(source, event_type, schema):
    @subscribe(source, event_type, schema=schema)
    def handle(self, event):
        self.db.consume(event, operations.record)
    handle.__name__ = f"handle_{event_type}"
    return handle


class StatisticsService(Observable):
    name = "statistics"
    db = Database()
    metrics = Metrics()
    business_metrics = BusinessMetrics()

    @rpc
    def region_summary(self, *, region_code, year=None):
        return self.db.run(operations.region_summary, region_code=region_code, year=year)

    @rpc
    def monthly_report(self, *, region_code, month):
        return self.db.run(operations.monthly_report, region_code=region_code, month=month)

    @rpc
    def monthly_report_file(self, *, region_code, month, file_format):
        return self.db.run(operations.monthly_report_file, region_code=region_code, month=month,
                           file_format=file_format)

    @rpc
    def quarterly_indicators(self, *, region_code, year, quarter):
        return self.db.run(operations.quarterly_indicators, region_code=region_code, year=year, quarter=quarter)

    @rpc
    def demographics(self, *, region_code, year, month=None):
        return self.db.run(operations.demographics, region_code=region_code, year=year, month=month)

    @rpc
    def set_targets(self, *, year, rows):
        return self.db.run(operations.set_targets, year=year, rows=rows)

    @rpc
    def set_region_facts(self, *, month, rows):
        return self.db.run(operations.set_region_facts, month=month, rows=rows)

    @rpc
    def rebuild(self):
        return self.db.run(operations.rebuild)

    # Every event goes the same way: into the journal and through its projection, once. One handler
    # (and queue) per event type, named handle_<type>, as each service names its own.
    for _type, (_source, _schema, _) in operations.PROJECTIONS.items():
        vars()[f"handle_{_type}"] = _journaled(_source, _type, _schema)
    del _type, _source, _schema
