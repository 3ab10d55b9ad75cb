"""Telegram Bot API (channels.md 3.2): sendMessage, getFile and file downloads."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from tests.simulators.replies.state import ReplySimulator

blueprint = Blueprint("telegram", __name__)


class BotApiError(Exception):
    """Answer `{"ok": false, "error_code", "description"}`."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@blueprint.errorhandler(BotApiError)
def _error(exc: BotApiError) -> tuple[Response, int]:
    return jsonify({"ok": False, "error_code": exc.code, "description": exc.description}), exc.code


def _sim() -> ReplySimulator:
    return current_app.extensions["reply_simulator"]


def _params() -> dict[str, Any]:
    """The Bot API takes query parameters, a form or a JSON body alike."""
    params: dict[str, Any] = {**request.args.to_dict(), **request.form.to_dict()}
    params.update(request.get_json(silent=True) or {})
    return params


def _bot(token: str) -> tuple[int, str]:
    bot = _sim().telegram_bots.get(token)
    if bot is None:
        raise BotApiError(401, "Unauthorized")
    return bot


@blueprint.route("/bot<token>/<method>", methods=["GET", "POST"])
def call(token: str, method: str) -> Response:
    """Dispatch a Bot API method; unknown methods answer 404 as Telegram does."""
    bot = _bot(token)
    handler = _METHODS.get(method)
    if handler is None:
        raise BotApiError(404, "Not Found")
    return jsonify({"ok": True, "result": handler(bot, _params())})


def _send_message(bot: tuple[int, str], params: dict[str, Any]) -> dict:
    sim = _sim()
    chat_id = params.get("chat_id")
    if chat_id in (None, ""):
        raise BotApiError(400, "Bad Request: chat_id is empty")
    if not params.get("text"):
        raise BotApiError(400, "Bad Request: message text is empty")
    chat_key = int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id
    if chat_key in sim.telegram_blocked:
        raise BotApiError(403, "Forbidden: bot was blocked by the user")
    if sim.telegram_chats is not None and chat_key not in sim.telegram_chats:
        raise BotApiError(400, "Bad Request: chat not found")
    chat = (sim.telegram_chats or {}).get(chat_key) or {"id": chat_key, "type": "private"}
    bot_id, username = bot
    message: dict[str, Any] = {
        "message_id": int(sim.next_id()),
        "from": {"id": bot_id, "is_bot": True, "first_name": username, "username": username},
        "chat": chat,
        "date": int(sim.now().timestamp()),
        "text": params["text"],
    }
    reply = params.get("reply_parameters")
    if isinstance(reply, str):
        reply = json.loads(reply)
    reply_id = (reply or {}).get("message_id") or params.get("reply_to_message_id")
    if reply_id:
        message["reply_to_message"] = {
            "message_id": int(reply_id),
            "chat": chat,
            "date": message["date"],
        }
    return message


def _get_file(bot: tuple[int, str], params: dict[str, Any]) -> dict:
    file_id = params.get("file_id")
    if file_id not in _sim().telegram_files:
        raise BotApiError(400, "Bad Request: invalid file_id")
    path, data = _sim().telegram_files[file_id]
    return {
        "file_id": file_id,
        "file_unique_id": f"u{file_id}",
        "file_size": len(data),
        "file_path": path,
    }


_METHODS = {"sendMessage": _send_message, "getFile": _get_file}


@blueprint.get("/file/bot<token>/<path:file_path>")
def download(token: str, file_path: str) -> Response:
    """Serve a file by the path getFile returned."""
    _bot(token)
    for path, data in _sim().telegram_files.values():
        if path == file_path:
            return Response(data, content_type="application/octet-stream")
    raise BotApiError(404, "Not Found")
