"""Pagination shared by every list: a capped page size and one COUNT plus one page query."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Select, func, select

from models import db


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int


def page_size(per_page: int | None) -> int:
    cap = current_app.config["SETTINGS"].page_size_max
    return max(1, min(per_page or 20, cap))


def paginate(stmt: Select, page: int = 1, per_page: int | None = None, total: int | None = None) -> Page:
    """Runs `stmt` for one page (stmt must carry its ORDER BY) and counts the whole result, unless the caller
    knows the `total` already (e.g. from counters)."""
    per_page = page_size(per_page)
    page = max(1, page or 1)
    if total is None:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(items), total=total or 0, page=page, per_page=per_page)
