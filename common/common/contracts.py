"""Loading bulk payloads fast, with marshmallow's answers.

``Schema.load`` of a 1,000-voucher event took 70-100 ms here: the schema machinery around every
field of every item, and a regular expression per timestamp. Consumers of bulk events spent most
of their CPU there. ``fast_loader(schema)`` compiles a schema into plain closures that do only the
conversions, for the field types contracts use: a value in its canonical JSON form (what the
producers' ``isoformat()`` writes) takes the fast way, any other value the field's own
``deserialize``. At the first error, or a schema it cannot compile (hooks, ``many``, unusual
fields), it hands the payload to ``schema.load``, so what is refused is refused with
marshmallow's own messages, and what is loaded is what marshmallow would have loaded.
"""
import datetime as dt
import uuid

from marshmallow import EXCLUDE, RAISE, ValidationError, fields, missing
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.utils import get_fixed_timezone


class _Doubt(Exception):
    """The fast way cannot answer for this payload: ``schema.load`` will."""


def fast_loader(schema):
    """A function that returns ``schema.load(data)``, faster for the common case."""
    load = _schema_loader(schema, schema.unknown)
    if load is None:
        return schema.load

    def fast_load(data):
        try:
            return load(data)
        except _Doubt:
            return schema.load(data)
    return fast_load


def _schema_loader(schema, unknown):
    hooked = any(schema._hooks[tag] for tag in (PRE_LOAD, POST_LOAD, VALIDATES, VALIDATES_SCHEMA))
    if hooked or schema.many or schema.partial or schema.dict_class is not dict:
        return None
    readers = []
    for name, field in schema.load_fields.items():
        convert = _field_loader(field)
        if convert is None or (field.attribute and "." in field.attribute):
            return None
        key = name if field.data_key is None else field.data_key
        readers.append((key, field.attribute or name, field, convert))
    known = {key for key, *_ in readers}

    def load(data):
        if type(data) is not dict:
            raise _Doubt
        out = {}
        for key, target, field, convert in readers:
            value = data.get(key, missing)
            if value is missing:
                if field.required:
                    raise _Doubt
                default = field.load_default
                if default is not missing:
                    out[target] = default() if callable(default) else default
            elif value is None:
                if not field.allow_none:
                    raise _Doubt
                out[target] = None
            else:
                out[target] = convert(value)
        if unknown != EXCLUDE:
            for key in data:
                if key not in known:
                    if unknown == RAISE:
                        raise _Doubt
                    out[key] = data[key]
        return out
    return load


def _field_loader(field):
    """A converter of a present, non-null value, or None if the field is not one we know."""
    kind = type(field)
    if kind in _VIA_FIELD:
        return _via(field)
    if kind is fields.Nested:
        if field.many or field.only is not None or field.exclude:
            return _via(field)
        nested = field.schema
        load = _schema_loader(nested, field.unknown if field.unknown is not None else nested.unknown)
        return _validated(field, load, lambda value: type(value) is dict) if load else _via(field)
    if kind is fields.List:
        inner = _field_loader(field.inner)
        if inner is None:
            return None
        return _validated(field, lambda value: [inner(each) for each in value], lambda value: type(value) is list)
    fast = _FAST.get(kind)
    if fast is None:
        return None
    canonical, convert = fast
    if kind in (fields.AwareDateTime, fields.Date) and field.format not in (None, "iso") \
            or kind is fields.Dict and (field.key_field or field.value_field):
        return _via(field)
    return _validated(field, convert, canonical)


def _validated(field, convert, canonical):
    """``convert`` for values of the canonical form, then the field's validators; others via the field."""
    slow = _via(field)
    validators = field.validators

    def load(value):
        if not canonical(value):
            return slow(value)
        result = convert(value)
        for validator in validators:
            try:
                if validator(result) is False:
                    raise _Doubt
            except ValidationError:
                raise _Doubt from None
        return result
    return load


def _via(field):
    def load(value):
        try:
            return field.deserialize(value)
        except ValidationError:
            raise _Doubt from None
    return load


def _uuid(value):
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _Doubt from None


_ZONES = {}
_DIGITS = frozenset("0123456789")


def _zone(suffix):
    """marshmallow's own fixed-offset zone for '+08:00', so that results compare identical."""
    zone = _ZONES.get(suffix)
    if zone is None:
        digits = suffix[1:3] + suffix[4:6]
        if not _DIGITS.issuperset(digits):
            raise _Doubt
        minutes = 60 * int(digits[:2]) + int(digits[2:])
        try:
            zone = get_fixed_timezone(-minutes if suffix[0] == "-" else minutes)
        except ValueError:  # a day or more
            raise _Doubt from None
        _ZONES[suffix] = zone
    return zone


def _canonical_datetime(value):
    """YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM, as ``datetime.isoformat()`` writes an aware one."""
    return (type(value) is str and (len(value) == 25 or (len(value) == 32 and value[19] == "."))
            and value[4] == value[7] == "-" and value[10] == "T" and value[13] == value[16] == ":"
            and value[-6] in "+-" and value[-3] == ":")


def _datetime(value):
    try:
        parsed = dt.datetime.fromisoformat(value[:-6])
    except ValueError:
        raise _Doubt from None
    return parsed.replace(tzinfo=_zone(value[-6:]))


def _date(value):
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _Doubt from None


_FAST = {  # field type: (is the value in the canonical form, its conversion)
    fields.String: (lambda value: type(value) is str, lambda value: value),
    fields.Integer: (lambda value: type(value) is int, lambda value: value),
    fields.UUID: (lambda value: type(value) is str, _uuid),
    fields.AwareDateTime: (_canonical_datetime, _datetime),
    fields.Date: (lambda value: type(value) is str and len(value) == 10 and value[4] == value[7] == "-", _date),
    fields.Dict: (lambda value: type(value) is dict, dict),
}
# Field types converted by their own deserialize: cheap already, or not worth a fast form.
_VIA_FIELD = (fields.Boolean, fields.Float, fields.Raw, fields.DateTime)
