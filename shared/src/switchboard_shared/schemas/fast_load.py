"""A fast loader compiled from a marshmallow schema, for the well-formed payloads of the hot paths.

marshmallow's generic machinery (error stores, getters, per-field kwargs) costs far more than the
checks themselves. `compile_loader` walks a schema's fields once and builds plain closures that
accept only the plainest shapes (exact `str`, `int`, `bool`, `dict`, `list`; ISO datetimes) and
raise `NotFast` on anything else: unusual or invalid input is then loaded by marshmallow itself,
so every error message stays marshmallow's. The loader is derived from the schema, never written
by hand, and what it accepts it loads exactly as `Schema.load` would (tests/unit/shared check it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

# A loader for one present value: (value, attribute name, parent mapping) -> loaded value.
ValueLoader = Callable[[Any, Any, Any], Any]
SchemaLoader = Callable[[Any], dict]

_ISO_FORMATS = (None, "iso", "iso8601")


class NotFast(Exception):
    """The payload needs marshmallow's full path (it is unusual or invalid)."""


def compile_loader(schema: Schema) -> SchemaLoader | None:
    """Build a fast loader for `schema`, or None if the schema uses features it does not cover."""
    try:
        return _schema_loader(schema)
    except _Unsupported:
        return None


class _Unsupported(Exception):
    pass


def _schema_loader(schema: Schema) -> SchemaLoader:
    hooks = schema._hooks  # marshmallow's resolved hooks; the only way to see @validates_schema
    if (
        schema.many
        or schema.partial
        or schema.unknown != RAISE
        or schema.dict_class is not dict
        or hooks[PRE_LOAD]
        or hooks[POST_LOAD]
        or hooks[VALIDATES]
        or any(hook_many for _, hook_many, _ in hooks[VALIDATES_SCHEMA])
    ):
        raise _Unsupported
    plan = []
    for name, field in schema.load_fields.items():
        if field.data_key is not None or field.attribute is not None:
            raise _Unsupported
        # A field of one exact type without validators is checked inline, without a call.
        plain = None if field.validators else _exact_type(field)
        plan.append((name, plain, field.required, field.load_default, _value_loader(field)))
    known = frozenset(name for name, *_ in plan)
    validators = [
        (getattr(schema, attr), kwargs.get("pass_original", False))
        for attr, _, kwargs in hooks[VALIDATES_SCHEMA]
    ]
    partial, unknown = schema.partial, schema.unknown

    def load(data: Any) -> dict:
        if type(data) is not dict or not known.issuperset(data):
            raise NotFast
        result = {}
        for name, plain, required, default, load_value in plan:
            raw = data.get(name, missing)
            if type(raw) is plain:  # never true when plain is None
                result[name] = raw
            elif raw is missing:
                if required:
                    raise NotFast
                if default is missing:
                    continue
                result[name] = default() if callable(default) else default
            else:
                result[name] = load_value(raw, name, data)
        for validator, pass_original in validators:
            # Called as marshmallow calls them; a ValidationError sends the payload the slow way.
            if pass_original:
                validator(result, data, partial=partial, many=False, unknown=unknown)
            else:
                validator(result, partial=partial, many=False, unknown=unknown)
        return result

    return load


def _value_loader(field: fields.Field) -> ValueLoader:
    """How to load a present (possibly null) value of `field`, as `Field.deserialize` does."""
    if getattr(field, "pre_load", None) or getattr(field, "post_load", None):
        raise _Unsupported
    allow_none = field.allow_none
    validators = tuple(field.validators)
    kind = _exact_type(field)
    if kind is not None:
        return _exact_loader(kind, allow_none, validators)
    convert = _converter(field)
    if convert is None:  # a field type without a fast form: marshmallow's own code, exactly
        return field.deserialize

    def load(value: Any, attr: Any = None, data: Any = None) -> Any:
        if value is None:
            if allow_none:
                return None
            raise NotFast
        output = convert(value)
        for validator in validators:
            if validator(output) is False:
                raise NotFast
        return output

    return load


def _exact_type(field: fields.Field) -> type | None:
    """The one type a field loads unchanged (a non-strict Integer too), or None."""
    kind = type(field)
    if kind in (fields.String, fields.Email, fields.Url):
        return str
    if kind is fields.Integer:
        return int
    if kind is fields.Boolean and True in field.truthy and False in field.falsy:
        return bool
    return None


def _exact_loader(kind: type, allow_none: bool, validators: tuple) -> ValueLoader:
    # The generic loader with its type check inlined: most fields are plain strings, and a
    # call less per field is a quarter of a payload's load.
    if not validators:

        def load_plain(value: Any, attr: Any = None, data: Any = None) -> Any:
            if type(value) is kind or (value is None and allow_none):
                return value
            raise NotFast

        return load_plain

    def load_checked(value: Any, attr: Any = None, data: Any = None) -> Any:
        if type(value) is not kind:
            if value is None and allow_none:
                return None
            raise NotFast
        for validator in validators:
            if validator(value) is False:
                raise NotFast
        return value

    return load_checked


def _converter(field: fields.Field) -> Callable[[Any], Any] | None:
    """The conversion of a non-null value of a structured field, or None for `deserialize`."""
    kind = type(field)
    if kind is fields.AwareDateTime:
        if field.format in _ISO_FORMATS and field.default_timezone is None:
            return _aware_iso_datetime
        return None
    if kind is fields.Nested:
        return _nested(field)
    if kind is fields.List:
        return _list(field)
    if kind is fields.Dict:
        return _dict(field)
    return None


def _aware_iso_datetime(value: Any) -> dt.datetime:
    if type(value) is not str:
        raise NotFast
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise NotFast from None
    if parsed.tzinfo is None or parsed.tzinfo.utcoffset(parsed) is None:
        raise NotFast
    return parsed


def _nested(field: fields.Nested) -> Callable[[Any], Any] | None:
    if field.many or field.unknown is not None or not isinstance(field.schema, Schema):
        return None
    return _schema_loader(field.schema)


def _list(field: fields.List) -> Callable[[Any], Any]:
    load_item = _value_loader(field.inner)

    def convert(value: Any) -> list:
        if type(value) is not list:
            raise NotFast
        return [load_item(item) for item in value]

    return convert


def _dict(field: fields.Dict) -> Callable[[Any], Any]:
    load_key = _value_loader(field.key_field) if field.key_field else None
    load_value = _value_loader(field.value_field) if field.value_field else None

    def convert(value: Any) -> dict:
        if type(value) is not dict:
            raise NotFast
        if load_key is None and load_value is None:
            return dict(value)
        return {
            (load_key(key) if load_key else key): (load_value(item) if load_value else item)
            for key, item in value.items()
        }

    return convert


def load_fast(loader: SchemaLoader | None, data: Any) -> dict | None:
    """Load `data` with `loader`, or return None when marshmallow must decide."""
    if loader is None:
        return None
    try:
        return loader(data)
    except (NotFast, ValidationError):
        return None
