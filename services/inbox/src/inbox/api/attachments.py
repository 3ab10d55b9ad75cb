"""Attachments: upload a file for a reply; download any attachment of a message."""

from __future__ import annotations

from flask import current_app, send_file
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from inbox.api.context import found, transaction
from inbox.api.schemas import AttachmentSchema
from inbox.repository.messages import MessageRepository
from switchboard_shared.blobstore import BlobNotFound

blp = Blueprint(
    "attachments", __name__, url_prefix="/api/v1/attachments", description="Attachments"
)


class UploadSchema(Schema):
    """A file to attach to a reply (multipart/form-data)."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


@blp.route("")
class Attachments(MethodView):
    @blp.arguments(UploadSchema, location="files")
    @blp.response(201, AttachmentSchema)
    def post(self, files: dict):
        """Upload a file; name its sha256 in a reply's attachments."""
        upload = files["file"]
        data = upload.read()
        sha256 = current_app.extensions["inbox.blobs"].put(data)
        return {
            "filename": upload.filename or None,
            "content_type": upload.mimetype or "application/octet-stream",
            "size": len(data),
            "sha256": sha256,
        }


@blp.route("/<uuid:attachment_id>")
class Attachment(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "the file",
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        }
    )
    def get(self, attachment_id):
        """Download an attachment of a message, as it was received or sent."""
        with transaction() as connection:
            attachment = found(
                MessageRepository(connection).attachment(str(attachment_id)), "attachment"
            )
        if not attachment["sha256"]:
            abort(404, message=attachment["unavailable_reason"] or "the file was not fetched")
        try:
            stream = current_app.extensions["inbox.blobs"].open(attachment["sha256"])
        except BlobNotFound:
            abort(404, message="the file is missing from the blob store")
        return send_file(
            stream,
            mimetype=attachment["content_type"],
            as_attachment=True,
            download_name=attachment["filename"] or attachment["sha256"],
        )
