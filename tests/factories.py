"""Generated test data (no real people): an organisation world with siblings at every level, and members."""

from __future__ import annotations

import itertools
from datetime import date
from types import SimpleNamespace

from models import OrgKind, OrgLevel, Role, db
from services import accounts, idcard
from services import members as member_service
from services.authz import SYSTEM
from services.orgs import create_org

PASSWORD = "Test@Pass2026"
_mobiles = itertools.count(13900000001)
_codes = itertools.count(1)


def make_id_card(birth: date, region: str = "522401", seq: int = 123) -> str:
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + idcard.check_digit(first17)


def org(parent, name, kind=OrgKind.BRANCH, level=OrgLevel.VILLAGE, **extra):
    return create_org(
        SYSTEM,
        parent_id=parent.id if parent else None,
        name=name,
        code=f"T{next(_codes):05d}",
        kind=kind,
        level=level,
        **extra,
    )


def member(branch, name="测试党员", role=Role.MEMBER, managed=None, password=PASSWORD, **extra):
    data = {"name": name, "gender": "male", "mobile": str(next(_mobiles)), "birth_date": date(1980, 5, 17), **extra}
    m, _initial = member_service.create_member(SYSTEM, branch.id, data)
    if role != Role.MEMBER:
        member_service.set_role(SYSTEM, m, role, managed.id if managed else None)
    if password:
        accounts.set_password_directly(m, password)
    return m


def build_world() -> SimpleNamespace:
    """City → counties A, B → townships A1, A2 (A), B1 (B) → village branches V1, V2 (A1), V3 (A2), V4 (B1),
    agency branches for the departments, and one account of every role at sibling places."""
    w = SimpleNamespace()
    C, T, V = OrgLevel.COUNTY, OrgLevel.TOWNSHIP, OrgLevel.VILLAGE
    w.city = org(
        None, "测试市委", OrgKind.COMMITTEE, OrgLevel.CITY, venue_lat=26.58, venue_lng=106.71, venue_coord_sys="wgs84"
    )
    w.city_agency = org(w.city, "市委组织部机关党支部", OrgKind.BRANCH, OrgLevel.CITY)
    w.county_a = org(w.city, "甲县委", OrgKind.COMMITTEE, C)
    w.county_b = org(w.city, "乙县委", OrgKind.COMMITTEE, C)
    w.county_a_agency = org(w.county_a, "甲县委组织部机关党支部", OrgKind.BRANCH, C)
    w.county_b_agency = org(w.county_b, "乙县委组织部机关党支部", OrgKind.BRANCH, C)
    w.town_a1 = org(w.county_a, "甲一镇党委", OrgKind.COMMITTEE, T)
    w.town_a2 = org(w.county_a, "甲二镇党委", OrgKind.COMMITTEE, T)
    w.town_b1 = org(w.county_b, "乙一镇党委", OrgKind.COMMITTEE, T)
    w.town_a1_agency = org(w.town_a1, "甲一镇机关党支部", OrgKind.BRANCH, T)
    w.town_a2_agency = org(w.town_a2, "甲二镇机关党支部", OrgKind.BRANCH, T)
    w.v1 = org(w.town_a1, "一村党支部", OrgKind.BRANCH, V)
    w.v2 = org(w.town_a1, "二村党支部", OrgKind.BRANCH, V)
    w.v3 = org(w.town_a2, "三村党支部", OrgKind.BRANCH, V)
    w.v4 = org(w.town_b1, "四村党支部", OrgKind.BRANCH, V)

    w.super = member(w.city_agency, "超级管理员", Role.SUPER_ADMIN)
    w.city_admin = member(w.city_agency, "市组织部", Role.DEPT_ADMIN, w.city)
    w.county_a_admin = member(w.county_a_agency, "甲县组织部", Role.DEPT_ADMIN, w.county_a)
    w.county_b_admin = member(w.county_b_agency, "乙县组织部", Role.DEPT_ADMIN, w.county_b)
    w.town_a1_admin = member(w.town_a1_agency, "甲一镇组织委员", Role.DEPT_ADMIN, w.town_a1)
    w.town_a2_admin = member(w.town_a2_agency, "甲二镇组织委员", Role.DEPT_ADMIN, w.town_a2)
    w.sec_v1 = member(w.v1, "一村书记", Role.SECRETARY)
    w.sec_v2 = member(w.v2, "二村书记", Role.SECRETARY)
    w.member_v1 = member(w.v1, "一村党员", id_card=make_id_card(date(1980, 5, 17)))
    w.member_v2 = member(w.v2, "二村党员")
    w.member_v3 = member(w.v3, "三村党员")
    w.member_v4 = member(w.v4, "四村党员")
    db.session.commit()
    return w
