"""Agents: everyone may list them (to assign); admins create and change them."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from inbox.api.context import agent, found, transaction
from inbox.api.schemas import AgentChangeSchema, AgentSchema, NewAgentSchema
from inbox.api.security import admin_only
from inbox.credentials import hash_password
from inbox.repository.agents import AgentRepository

blp = Blueprint("agents", __name__, url_prefix="/api/v1/agents", description="Agents")


@blp.route("")
class Agents(MethodView):
    @blp.response(200, AgentSchema(many=True))
    def get(self):
        """Every agent."""
        with transaction() as connection:
            return AgentRepository(connection).list()

    @admin_only
    @blp.arguments(NewAgentSchema)
    @blp.response(201, AgentSchema)
    def post(self, body: dict):
        """Create an agent (admins only)."""
        with transaction() as connection:
            repository = AgentRepository(connection)
            created = repository.create(
                body["email"], body["display_name"], body["role"], hash_password(body["password"])
            )
            repository.audit(
                agent()["id"], "agent_created", details={"agent_id": str(created["id"])}
            )
        return created


@blp.route("/<uuid:agent_id>")
class Agent(MethodView):
    @admin_only
    @blp.arguments(AgentChangeSchema)
    @blp.response(200, AgentSchema)
    def patch(self, body: dict, agent_id):
        """Change an agent's name, role or active flag (admins only)."""
        with transaction() as connection:
            repository = AgentRepository(connection)
            changed = found(repository.update(str(agent_id), body), "agent")
            repository.audit(
                agent()["id"], "agent_changed", details={"agent_id": str(agent_id), **body}
            )
        return changed
