"""The accounts file's format: marshmallow schemas, unknown keys rejected, ids unique."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# Hosts media may be fetched from, per network, unless the file overrides them. Telegram and
# WhatsApp files are fetched through their APIs, whose hosts are listed for that reason.
DEFAULT_MEDIA_HOSTS: Mapping[str, tuple[str, ...]] = {
    "meta": ("*.fbcdn.net", "*.fbsbx.com", "*.cdninstagram.com"),
    "whatsapp": ("graph.facebook.com", "lookaside.fbsbx.com", "*.whatsapp.net"),
    "x": ("pbs.twimg.com", "video.twimg.com", "ton.twitter.com"),
    "telegram": ("api.telegram.org",),
}

_ENV_NAME = validate.Regexp(r"^[A-Z_][A-Z0-9_]*$", error="not an environment variable name")
_ID = validate.Regexp(r"^[0-9]+$", error="must be a string of digits")
_NAME = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,62}$", error="use a-z, 0-9, - and _")


def _env(required: bool = True) -> fields.String:
    if required:
        return fields.String(required=True, validate=_ENV_NAME)
    return fields.String(load_default=None, allow_none=True, validate=_ENV_NAME)


def _digits(**kwargs: Any) -> fields.String:
    return fields.String(validate=_ID, **kwargs)


class MetaAppSchema(Schema):
    """A Meta app and the variables holding its secret and webhook verify token."""

    name = fields.String(required=True, validate=_NAME)
    app_id = _digits(required=True)
    app_secret_env = _env()
    verify_token_env = _env()


class FacebookPageSchema(Schema):
    """A Facebook Page, the app it is subscribed through, and its Page token's variable."""

    page_id = _digits(required=True)
    name = fields.String(load_default=None)
    app = fields.String(required=True)
    access_token_env = _env(required=False)


class InstagramAccountSchema(Schema):
    """An Instagram professional account and the app it is subscribed through."""

    ig_id = fields.String(required=True, validate=validate.Length(min=1))
    username = fields.String(load_default=None)
    app = fields.String(required=True)
    access_token_env = _env(required=False)


class WhatsAppNumberSchema(Schema):
    """A WhatsApp Cloud API phone number and the app it is subscribed through."""

    phone_number_id = _digits(required=True)
    waba_id = _digits(load_default=None)
    display_phone_number = fields.String(load_default=None)
    app = fields.String(required=True)
    access_token_env = _env(required=False)


class XAppSchema(Schema):
    """An X app: its id (to recognise our own DMs) and its consumer secret's variable."""

    name = fields.String(required=True, validate=_NAME)
    app_id = _digits(required=True)
    consumer_secret_env = _env()


class XAccountSchema(Schema):
    """An X account subscribed to the Account Activity API through an app."""

    user_id = _digits(required=True)
    screen_name = fields.String(load_default=None)
    app = fields.String(required=True)


class TelegramBotSchema(Schema):
    """A Telegram bot: its token's variable and its webhook secret token's variable."""

    bot_id = _digits(required=True)
    username = fields.String(load_default=None)
    token_env = _env(required=False)
    secret_token_env = _env()


class ApiSourceSchema(Schema):
    """A source of the API channel: its signing secret's variable and media hosts."""

    name = fields.String(required=True, validate=_NAME)
    secret_env = _env()
    tolerance_seconds = fields.Integer(load_default=300, validate=validate.Range(1, 3600))
    media_hosts = fields.List(fields.String(), load_default=list)


class AccountsFileSchema(Schema):
    """The accounts file: every list optional, unknown keys rejected."""

    meta_apps = fields.List(fields.Nested(MetaAppSchema), load_default=list)
    facebook_pages = fields.List(fields.Nested(FacebookPageSchema), load_default=list)
    instagram_accounts = fields.List(fields.Nested(InstagramAccountSchema), load_default=list)
    whatsapp_numbers = fields.List(fields.Nested(WhatsAppNumberSchema), load_default=list)
    x_apps = fields.List(fields.Nested(XAppSchema), load_default=list)
    x_accounts = fields.List(fields.Nested(XAccountSchema), load_default=list)
    telegram_bots = fields.List(fields.Nested(TelegramBotSchema), load_default=list)
    api_sources = fields.List(fields.Nested(ApiSourceSchema), load_default=list)
    media_hosts = fields.Dict(
        keys=fields.String(validate=validate.OneOf(sorted(DEFAULT_MEDIA_HOSTS))),
        values=fields.List(fields.String(validate=validate.Length(min=1))),
        load_default=dict,
    )

    @validates_schema
    def _references_and_uniqueness(self, data: dict, **_: object) -> None:
        errors: dict[str, list[str]] = {}
        meta_apps = {a["name"] for a in data["meta_apps"]}
        x_apps = {a["name"] for a in data["x_apps"]}
        for key, apps in (
            ("facebook_pages", meta_apps),
            ("instagram_accounts", meta_apps),
            ("whatsapp_numbers", meta_apps),
            ("x_accounts", x_apps),
        ):
            for i, item in enumerate(data[key]):
                if item["app"] not in apps:
                    errors.setdefault(key, []).append(f"[{i}] names unknown app {item['app']!r}")
        for key, id_field in ID_FIELDS.items():
            seen = [item[id_field] for item in data[key]]
            if len(seen) != len(set(seen)):
                errors.setdefault(key, []).append(f"{id_field} values must be unique")
        if errors:
            raise ValidationError(errors)


# The key each kind of account is looked up by.
ID_FIELDS = {
    "meta_apps": "name",
    "facebook_pages": "page_id",
    "instagram_accounts": "ig_id",
    "whatsapp_numbers": "phone_number_id",
    "x_apps": "name",
    "x_accounts": "user_id",
    "telegram_bots": "bot_id",
    "api_sources": "name",
}
