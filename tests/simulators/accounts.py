"""The accounts a test service is configured with: the simulators' ids and secrets.

channels.md's ids and test vectors, the corpus's ids, and a second Meta app whose page a
delivery signed by the first app must not speak for.
"""

from __future__ import annotations

ENVIRON = {
    "META_APP_SECRET": "test_app_secret",
    "META_VERIFY_TOKEN": "meatyhamhock",
    "OTHER_APP_SECRET": "other_secret",
    "OTHER_VERIFY_TOKEN": "other_token",
    "X_CONSUMER_SECRET": "test_consumer_secret",
    "TG_TOKEN": "7000000001:AAH-test-token",
    "TG_SECRET": "test_secret_token-1",
    "API_SECRET": "test_api_secret",
    "WA_TOKEN": "wa-access-token",
}


def accounts_data(
    media_hosts: dict[str, list[str]] | None = None,
    api_media_hosts: tuple[str, ...] = ("files.example.com",),
) -> dict:
    """The accounts file's content (secrets in ENVIRON); `media_hosts` overrides the defaults."""
    pages = ["682498302938465", "448242228374517", "117172741761305"]
    ig = ["17841405309211844", "instagram-message-id-123"]
    x_users = [("2244994945", "TwitterDev"), ("4337869213", "Harris_0ff")]
    x_users += [("2975699229", "ScruffyMcG"), ("1", "chatwootapp")]
    return {
        "meta_apps": [
            {
                "name": "main",
                "app_id": "1517776481860111",
                "app_secret_env": "META_APP_SECRET",
                "verify_token_env": "META_VERIFY_TOKEN",
            },
            {
                "name": "other",
                "app_id": "999",
                "app_secret_env": "OTHER_APP_SECRET",
                "verify_token_env": "OTHER_VERIFY_TOKEN",
            },
        ],
        "facebook_pages": [{"page_id": p, "app": "main"} for p in pages]
        + [{"page_id": "555000555", "app": "other"}],
        "instagram_accounts": [{"ig_id": i, "app": "main", "username": "acme"} for i in ig],
        "whatsapp_numbers": [
            {
                "phone_number_id": "106540352242922",
                "waba_id": "102290129340398",
                "display_phone_number": "15550783881",
                "app": "main",
                "access_token_env": "WA_TOKEN",
            }
        ],
        "x_apps": [
            {"name": "main", "app_id": "13090192", "consumer_secret_env": "X_CONSUMER_SECRET"}
        ],
        "x_accounts": [{"user_id": u, "screen_name": s, "app": "main"} for u, s in x_users],
        "telegram_bots": [
            {
                "bot_id": "7000000001",
                "username": "acme_bot",
                "token_env": "TG_TOKEN",
                "secret_token_env": "TG_SECRET",
            }
        ],
        "api_sources": [
            {"name": "webform", "secret_env": "API_SECRET", "media_hosts": list(api_media_hosts)}
        ],
        "media_hosts": media_hosts or {},
    }
