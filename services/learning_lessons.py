"""Lessons of a course and their media: article text, or a video, audio or PDF file kept through the storage
adapter and served behind one-hour signed URLs. Who may do what is decided by services/learning_content.py."""

from __future__ import annotations

import os
import tempfile
import uuid

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from models import Course, Lesson, LessonKind, db
from services import audit
from services.authz import Actor
from services.errors import Invalid, NotFound
from services.learning_content import authorize_manage, get_course_for
from services.storage import storage

MEDIA_URL_SECONDS = 3600
# What each lesson kind accepts: content type, file extension, and a test of the file's first bytes.
MEDIA_TYPES = {
    LessonKind.VIDEO: [("video/mp4", "mp4", lambda head: head[4:8] == b"ftyp")],
    LessonKind.AUDIO: [
        ("audio/mpeg", "mp3", lambda head: head[:3] == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")),
        ("audio/mp4", "m4a", lambda head: head[4:8] == b"ftyp"),
    ],
    LessonKind.SLIDES: [("application/pdf", "pdf", lambda head: head[:5] == b"%PDF-")],
}
READING_CHARS_PER_MINUTE = 400


def _article_duration(body: str) -> int:
    return max(60, round(len(body) * 60 / READING_CHARS_PER_MINUTE))


def add_lesson(actor: Actor, course: Course, data: dict) -> Lesson:
    """Adds a lesson: an article carries its text (reading time from its length unless given); video, audio and
    slides get their file by `store_media`. Audited."""
    authorize_manage(actor, course)
    kind = data["kind"]
    body = data.get("body")
    if kind == LessonKind.ARTICLE and not (body or "").strip():
        raise Invalid("图文课时须填写正文", fields={"body": ["请填写正文"]})
    if kind != LessonKind.ARTICLE and body:
        raise Invalid("只有图文课时有正文", fields={"body": ["只有图文课时有正文"]})
    duration = data.get("duration_s") or (_article_duration(body) if kind == LessonKind.ARTICLE else None)
    if duration is None:
        raise Invalid("请填写课时时长（秒）", fields={"duration_s": ["请填写课时时长"]})
    lesson = Lesson(
        course=course,
        title=data["title"],
        kind=kind,
        body=body,
        duration_s=duration,
        sort_order=data.get("sort_order", len(course.lessons)),
    )
    db.session.add(lesson)
    db.session.flush()
    audit.record(actor, "learning.lesson.create", "learning_lesson", lesson.id, {"course_id": course.id})
    return lesson


def get_lesson_for(actor: Actor, lesson_id: int) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound("课时不存在")
    try:
        get_course_for(actor, lesson.course_id)
    except NotFound:
        raise NotFound("课时不存在") from None
    return lesson


def _media_type(kind: LessonKind, head: bytes) -> tuple[str, str]:
    for content_type, ext, test in MEDIA_TYPES.get(kind, []):
        if test(head):
            return content_type, ext
    allowed = "、".join(ext for _t, ext, _f in MEDIA_TYPES.get(kind, []))
    if not allowed:
        raise Invalid("图文课时不需要上传文件", fields={"file": ["图文课时不需要上传文件"]})
    raise Invalid(f"{kind.label}课时只接受 {allowed} 文件", fields={"file": [f"应为 {allowed} 文件"]})


def store_media(actor: Actor, lesson: Lesson, upload) -> Lesson:
    """Checks the file's first bytes against the lesson's kind and stores it through the storage adapter under a new
    key (the old object is left for a cleanup: a reader may still stream it). Writes the lesson's media fields;
    audited. Stores a file before the commit: a failed commit leaves an unreferenced object, never a broken row."""
    authorize_manage(actor, lesson.course)
    head = upload.read(16)
    content_type, ext = _media_type(lesson.kind, head)
    fd, tmp = tempfile.mkstemp(prefix="lesson-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(head)
            while chunk := upload.read(1 << 20):
                out.write(chunk)
        size = os.path.getsize(tmp)
        key = f"learning/lessons/{lesson.id}/{uuid.uuid4().hex}.{ext}"
        storage().put_file(key, tmp, overwrite=False)
    finally:
        os.unlink(tmp)
    lesson.media_key, lesson.media_type, lesson.media_bytes = key, content_type, size
    audit.record(actor, "learning.lesson.media", "learning_lesson", lesson.id, {"bytes": size, "type": content_type})
    return lesson


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="learning-media")


def media_url(lesson: Lesson) -> str | None:
    """A one-hour URL of the lesson's file: the storage's own signed URL, else one served by this app."""
    if not lesson.media_key:
        return None
    direct = storage().url(lesson.media_key, MEDIA_URL_SECONDS)
    if direct:
        return direct
    return "/api/learning/media/" + _signer().dumps([lesson.id, lesson.media_key])


def open_signed_media(token: str) -> Lesson:
    try:
        lesson_id, key = _signer().loads(token, max_age=MEDIA_URL_SECONDS)
    except (BadSignature, SignatureExpired):
        raise NotFound("链接已失效") from None
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.media_key != key:
        raise NotFound("链接已失效")
    return lesson
