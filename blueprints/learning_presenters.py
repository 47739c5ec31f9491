"""Learning objects as the API returns them (see docs/api-learning.md). Answers and media keys never leave here."""

from __future__ import annotations

from blueprints.schemas import iso_local
from models import Course, LearningChannel, Lesson, LessonProgress, PointEntry, PointRule
from services import learning_lessons as lessons
from services import learning_progress as progress


def channel_json(c: LearningChannel) -> dict:
    return {
        "id": c.id,
        "code": c.code,
        "name": c.name,
        "kind": c.kind.value,
        "kind_label": "主题教育" if c.kind.value == "campaign" else "网络学院",
        "description": c.description,
        "org_id": c.org_id,
        "starts_on": c.starts_on.isoformat() if c.starts_on else None,
        "ends_on": c.ends_on.isoformat() if c.ends_on else None,
        "sort_order": c.sort_order,
        "active": c.active,
    }


def audience_json(course: Course) -> list[dict]:
    return [
        {
            "org_id": a.org_id,
            "org_name": a.org.name,
            "category": a.category.value if a.category else None,
            "category_label": a.category.label if a.category else "全体党员",
        }
        for a in course.audiences
    ]


def course_json(c: Course, done: int | None = None) -> dict:
    return {
        "id": c.id,
        "channel": {"id": c.channel.id, "name": c.channel.name, "kind": c.channel.kind.value},
        "title": c.title,
        "summary": c.summary,
        "owner_org": {"id": c.owner_org.id, "name": c.owner_org.name},
        "track": c.track.value,
        "track_label": c.track.label,
        "deadline": iso_local(c.deadline),
        "status": c.status.value,
        "status_label": c.status.label,
        "published_at": iso_local(c.published_at),
        "lesson_count": len(c.lessons),
        "completed_lessons": done,
    }


def progress_json(p: LessonProgress | None, lesson: Lesson) -> dict:
    threshold = progress.completion_threshold(lesson.duration_s)
    credited = p.credited_s if p else 0
    return {
        "credited_s": credited,
        "position_s": p.position_s if p else 0,
        "required_s": threshold,
        "percent": min(100, round(credited * 100 / threshold)),
        "completed": bool(p and p.completed_at),
        "completed_at": iso_local(p.completed_at) if p else None,
    }


def lesson_json(lesson: Lesson, p: LessonProgress | None = None, *, full: bool = False) -> dict:
    out = {
        "id": lesson.id,
        "course_id": lesson.course_id,
        "title": lesson.title,
        "kind": lesson.kind.value,
        "kind_label": lesson.kind.label,
        "duration_s": lesson.duration_s,
        "sort_order": lesson.sort_order,
        "has_media": lesson.media_key is not None,
        "progress": progress_json(p, lesson),
    }
    if full:
        out.update(body=lesson.body, media_url=lessons.media_url(lesson), media_type=lesson.media_type)
    return out


def course_detail_json(c: Course, progress_by_lesson: dict, can_manage: bool) -> dict:
    done = sum(1 for p in progress_by_lesson.values() if p.completed_at)
    out = course_json(c, done)
    out["lessons"] = [lesson_json(lesson, progress_by_lesson.get(lesson.id)) for lesson in c.lessons]
    out["audience"] = audience_json(c) if can_manage else None
    out["can"] = {"manage": can_manage}
    return out


def rule_json(r: PointRule) -> dict:
    return {
        "code": r.code,
        "name": r.name,
        "points": r.points,
        "daily_cap": r.daily_cap,
        "unit_s": r.unit_s,
        "active": r.active,
    }


def entry_json(e: PointEntry) -> dict:
    return {
        "id": e.id,
        "rule": {"code": e.rule.code, "name": e.rule.name},
        "points": e.points,
        "day": e.day.isoformat(),
        "source_type": e.source_type,
        "source_id": e.source_id,
        "proxy": e.proxy,
        "corrects_id": e.corrects_id,
        "note": e.note,
        "created_at": iso_local(e.created_at),
    }


def summary_json(s: dict) -> dict:
    return {
        "total": s["total"],
        "today": s["today"],
        "day": s["day"].isoformat(),
        "rules": [{**rule_json(r), "earned_today": earned} for r, earned in s["rules"]],
    }
