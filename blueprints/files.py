"""Stored evidence files behind short-lived signed URLs: /api/files/<token>.

The mini-program's <image src> cannot send a login header, so the API hands out URLs signed for one hour
(services.evidence.file_urls) after its own scope check; this view only checks the signature. With Qiniu the
URLs are Qiniu's own signed private-download URLs and this view is not used.
"""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import send_file

from services import evidence
from services.storage import storage

bp = APIBlueprint("files", __name__, url_prefix="/api/files", tag="文件")


@bp.get("/<token>")
@bp.doc(summary="查看照片", description="由接口返回的带签名链接，一小时内有效，无需登录头。", security=[])
def get_file(token):
    row, variant = evidence.open_signed(token)
    key = getattr(row, f"{variant}_key")
    mimetype = row.content_type if variant == "original" else "image/jpeg"
    response = send_file(storage().open(key), mimetype=mimetype, max_age=evidence.FILE_URL_SECONDS)
    response.headers["Cache-Control"] = f"private, max-age={evidence.FILE_URL_SECONDS}"
    return response
