"""Which token sends for which account: per account from the accounts file, else the default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from notifier.delivery_errors import PermanentFailure

# Accounts by provider: Page or Instagram account id (meta), phone number id (whatsapp),
# user id (x), bot id (telegram): the `inbox` of the replies they send.
PROVIDERS = ("meta", "whatsapp", "x", "telegram")


@dataclass(frozen=True)
class Tokens:
    """Tokens by (provider, account id), with one default per provider."""

    by_account: Mapping[tuple[str, str], str] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Tokens({len(self.by_account)} accounts, defaults for {sorted(self.defaults)})"

    def for_account(self, provider: str, account: str) -> str:
        """The token for `account`, or a permanent failure naming what to configure."""
        token = self.by_account.get((provider, account)) or self.defaults.get(provider)
        if not token:
            raise PermanentFailure(
                f"no {provider} token is configured for account {account}: add it to the "
                f"notifier's accounts file or set SWITCHBOARD_NOTIFIER_{provider.upper()}_TOKEN"
            )
        return token
