"""Running counts are upserted in key order, whatever order an event lists them in: two events
adding to the same rows then lock them in the same order and cannot deadlock."""
import datetime
import random

from stats import operations


def test_rows_reach_the_statement_in_key_order_whatever_the_event_order(monkeypatch):
    sent = []
    monkeypatch.setattr(operations, "insert_rows", lambda session, table, columns, rows, then: sent.append(rows))
    days = [datetime.date(2026, 12, day) for day in (3, 1, 2)]
    rows = [{"region_code": region, "template_id": template, "day": day, "function": None, "distribution": "general",
             **dict.fromkeys(operations.COUNTS, 1)}
            for region in ("430200", "430100") for template in ("b", "a") for day in days]
    random.Random(7).shuffle(rows)
    operations._COUNT_DAY(None, rows)
    keys = [(row[0], row[1], row[2]) for row in sent[0]]
    assert keys == sorted(keys) and len(keys) == 12


def test_a_key_left_empty_sorts_without_failing(monkeypatch):
    sent = []
    monkeypatch.setattr(operations, "insert_rows", lambda session, table, columns, rows, then: sent.append(rows))
    rows = [{"region_code": "430100", "month": datetime.date(2026, 12, 1), "age_band": "30-39", "gender": "F",
             "home_province": province, "employer_type": employer, "groups": "", "claimed": 1, "used": 0}
            for province, employer in (("43", None), ("43", "private"), (None, None))]
    operations._DEMOGRAPHICS(None, rows)
    assert [(row[4], row[5]) for row in sent[0]] == [(None, None), ("43", None), ("43", "private")]
