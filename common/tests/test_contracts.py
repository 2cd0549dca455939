"""fast_loader answers exactly as marshmallow does, for every event schema of the platform.

Payloads are made from each schema's own fields (valid ones, then each field dropped, nulled,
given a value of the wrong kind or a timestamp in a form the fast way does not take); the fast
loader's answer, a loaded value or marshmallow's refusal, must be the same, to the repr.
"""
import datetime as dt
import importlib
import inspect
import random
import uuid

import pytest
from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, post_load, validate

from common.contracts import fast_loader

MODULES = ["issuance.schemas", "issuance.events", "redemption.schemas", "redemption.events",
           "attendance.schemas", "attendance.events", "settlement.schemas", "settlement.events",
           "stats.schemas"]  # the producers' schemas and the consumers' contracts


def _schemas():
    for name in MODULES:
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, Schema) and cls.__module__ == name:
                yield cls


SCHEMAS = sorted(set(_schemas()), key=lambda cls: f"{cls.__module__}.{cls.__name__}")

NOT_CANONICAL_TIMES = ["2026-12-01T10:00:00Z", "2026-12-01T10:00:00", "2026-12-01 10:00:00+08:00",
                       "2026-W01-1T10:00:00+00:00", "2026-12-01T10:00:00,123456+00:00", "2026-12-01T10:00+08:00",
                       "2026-12-01T10:00:00+24:00", "2026-12-01T10:00:00+05:75", "2026-12-01T10:00:00+ 8:00",
                       "٢٠٢٦-12-01T10:00:00+08:00", "2026-13-01T10:00:00+08:00", "2026-12-01T10:00:00.5+08:00", ""]
NOT_CANONICAL_DATES = ["2026-1-01", "20261201", "2026-W01-1", "2026-02-30", "٢٠٢٦-12-01", "2026-12-01T00:00"]
WRONG_KINDS = [None, True, 7, 1.5, "x", "", [], {}, [1], {"a": 1}, "123e4567-e89b-12d3-a456-42661417400"]


def _sample(field, rng, depth=0):
    """A raw value that the field should accept."""
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return rng.choice(list(validator.choices))
        if isinstance(validator, validate.Range) and isinstance(field, fields.Integer):
            low = validator.min if validator.min is not None else -5
            high = validator.max if validator.max is not None else low + 1000
            return rng.randint(low + (not validator.min_inclusive), high - (not validator.max_inclusive))
    if isinstance(field, fields.Nested):
        return _payload(field.schema, rng, depth + 1)
    if isinstance(field, fields.List):
        return [_sample(field.inner, rng, depth + 1) for _ in range(rng.randint(0, 3 if depth < 3 else 0))]
    if isinstance(field, fields.UUID):
        return str(uuid.UUID(int=rng.getrandbits(128)))
    if isinstance(field, fields.AwareDateTime):
        moment = dt.datetime(2026, 12, 1, 8, rng.randint(0, 59), rng.randint(0, 59), rng.choice([0, 123456]),
                             tzinfo=dt.timezone(dt.timedelta(minutes=rng.choice([0, 480, -330]))))
        return moment.isoformat()
    if isinstance(field, fields.Date):
        return (dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 400))).isoformat()
    if isinstance(field, fields.DateTime):
        return "2026-12-01T08:00:00"
    if isinstance(field, fields.Boolean):
        return rng.choice([True, False])
    if isinstance(field, fields.Integer):
        return rng.randint(0, 10 ** 6)
    if isinstance(field, fields.Float):
        return rng.choice([0.5, 31.2304, 121])
    if isinstance(field, fields.Dict) and field.value_field is not None:
        return {"unemployed": _sample(field.value_field, rng, depth + 1)}
    if isinstance(field, fields.Dict):
        return {"age_band": "25-34", "groups": ["unemployed"], "n": 1}
    if isinstance(field, fields.String):
        return rng.choice(["440300", "6-31-01-03", "ABCD2345EF", "a"])
    return "raw"


def _payload(schema, rng, depth=0):
    payload = {}
    for name, field in schema.load_fields.items():
        if field.required or rng.random() < 0.7:
            payload[field.data_key or name] = _sample(field, rng, depth)
    return payload


def _variants(schema, payload, rng):
    """The payload, then each top-level field dropped, nulled or given odd values."""
    yield payload
    yield {**payload, "not_in_the_contract": 1}
    yield [payload]
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        yield {k: v for k, v in payload.items() if k != key}
        odd = list(WRONG_KINDS)
        if isinstance(field, (fields.DateTime, fields.Date)):
            odd += NOT_CANONICAL_TIMES + NOT_CANONICAL_DATES
        if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            item = _payload(field.inner.schema, rng)
            odd += [[item, None], [item, {**item, "extra": 1}]]
            odd += [[{**item, inner: value}] for inner in item for value in (None, 7, "x", NOT_CANONICAL_TIMES[0])]
        for value in odd:
            yield {**payload, key: value}


def _outcome(load, payload):
    try:
        return "loaded", repr(load(payload))
    except ValidationError as error:
        return "refused", error.messages


@pytest.mark.parametrize("cls", SCHEMAS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_the_fast_loader_answers_as_marshmallow_does(cls):
    rng = random.Random(cls.__name__)
    schema = cls()
    fast = fast_loader(cls())
    answers = set()
    for _ in range(6):
        for payload in _variants(schema, _payload(schema, rng), rng):
            expected = _outcome(schema.load, payload)
            assert _outcome(fast, payload) == expected, payload
            answers.add(expected[0])
    assert answers == {"loaded", "refused"}  # the payloads made exercise both ways


@pytest.mark.parametrize("cls", SCHEMAS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_event_contract_takes_the_fast_way_for_what_producers_write(cls):
    schema = cls()
    fallbacks = []
    load = schema.load
    schema.load = lambda data, **kwargs: fallbacks.append(data) or load(data, **kwargs)
    fast = fast_loader(schema)
    rng = random.Random(cls.__name__)
    for _ in range(20):
        fast(_payload(schema, rng))
    assert fallbacks == []


class _Hooked(Schema):
    n = fields.Integer()

    @post_load
    def double(self, data, **kwargs):
        return {"n": data["n"] * 2}


class _Kept(Schema):
    n = fields.Integer(required=True, validate=validate.Range(1, 9))
    at = fields.AwareDateTime(load_default=None)

    class Meta:
        unknown = INCLUDE


class _Outer(Schema):
    kept = fields.Nested(_Kept, unknown=EXCLUDE)
    items = fields.List(fields.Nested(_Kept), load_default=list)


def test_a_schema_with_hooks_is_loaded_by_marshmallow_itself():
    assert fast_loader(_Hooked())({"n": 2}) == {"n": 4}


def test_include_and_a_nested_fields_own_unknown_are_honoured():
    load = fast_loader(_Outer())
    assert load({"kept": {"n": 1, "other": 2}}) == {"kept": {"n": 1, "at": None}, "items": []}
    assert load({"items": [{"n": 1, "other": 2}]})["items"] == [{"n": 1, "at": None, "other": 2}]


def test_a_refusal_carries_marshmallows_message():
    with pytest.raises(ValidationError) as refused:
        fast_loader(_Outer())({"items": [{"n": 1}, {"n": 10, "at": "2026-12-01T10:00:00"}]})
    assert refused.value.messages == {"items": {1: {"n": ["Must be greater than or equal to 1 and less than or "
                                                          "equal to 9."], "at": ["Not a valid aware datetime."]}}}
