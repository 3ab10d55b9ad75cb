"""Canned responses: placeholders filled with the customer's and the agent's names."""

from __future__ import annotations

import re

PLACEHOLDERS = ("customer.name", "customer.first_name", "agent.name", "agent.first_name")
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_.]+)\s*\}\}")


def render(template: str, customer_name: str | None, agent_name: str | None) -> str:
    """Fill `{{customer.name}}`-style placeholders; unknown ones are left as written."""
    values = {
        "customer.name": customer_name or "there",
        "customer.first_name": (customer_name or "there").split()[0],
        "agent.name": agent_name or "",
        "agent.first_name": (agent_name or "").split()[0] if agent_name else "",
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
