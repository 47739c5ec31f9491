"""Roster import (.xlsx/.csv) through the HTTP API and the CLI: all rows checked first, all written or none.

Every file is generated here (openpyxl, CSV bytes, or a hand-made zip); no real personal data.
"""

from __future__ import annotations

import io
import json
import re
import resource
import time
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from models import AuditEntry, Member, Organisation, db
from tests.factories import make_id_card, member

MEMBER_HEADERS = [
    "姓名",
    "性别",
    "出生日期",
    "手机号",
    "身份证号",
    "党员类别",
    "入党日期",
    "所属组织编码",
    "党员编号",
    "是否流动党员",
    "流动去向",
]
ORG_HEADERS = ["组织名称", "组织编码", "组织类别", "层级", "上级组织编码", "联系电话", "驻地纬度", "驻地经度", "坐标系"]
CJK = re.compile(r"[\u4e00-\u9fff]")
NEW_PASSWORD = "Xin#Mima2026"


# ---------------------------------------------------------------- helpers


def xlsx(headers, rows) -> bytes:
    """A workbook whose first sheet holds `headers` then `rows` (lists, or dicts keyed by header)."""
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers] if isinstance(row, dict) else row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(headers, rows, encoding="utf-8-sig") -> bytes:
    lines = [",".join(headers)] + [
        ",".join("" if row.get(h) is None else str(row.get(h)) for h in headers) for row in rows
    ]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def post_file(client, url, data: bytes, name: str, headers):
    return client.post(
        url, data={"file": (io.BytesIO(data), name)}, headers=headers, content_type="multipart/form-data"
    )


def import_members(client, data, headers, name="名册.xlsx"):
    return post_file(client, "/api/members/import", data, name, headers)


def import_orgs(client, data, headers, name="组织.xlsx"):
    return post_file(client, "/api/orgs/import", data, name, headers)


def committed_count(stmt) -> int:
    """Counts through a connection of its own: only what was committed, whatever the test session holds."""
    with db.engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def member_count() -> int:
    return committed_count(select(func.count()).select_from(Member))


def org_count() -> int:
    return committed_count(select(func.count()).select_from(Organisation))


def audit_count(action: str) -> int:
    return committed_count(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def errors_by_cell(response) -> dict[tuple[int, str], str]:
    rows = response.json["error"]["rows"]
    cells = {(r["row"], r["column"]): r["reason"] for r in rows}
    assert len(cells) == len(rows), f"one reason per cell expected: {rows}"
    return cells


def assert_rejected(response, expected: dict[tuple[int, str], str]):
    """422 import_rejected listing exactly `expected` cells, each reason Chinese and containing the given text."""
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "import_rejected"
    assert CJK.search(error["message"])
    cells = errors_by_cell(response)
    assert set(cells) == set(expected), cells
    for cell, fragment in expected.items():
        assert CJK.search(cells[cell]), cells[cell]
        assert fragment in cells[cell], (cell, cells[cell])
    assert error["error_count"] == len(expected)


_mobiles = iter(range(13600000001, 13699999999))


def new_mobile() -> str:
    return str(next(_mobiles))


def numeric_id_card() -> int:
    """A valid ID-card number without an X, as the integer a careless spreadsheet cell would hold."""
    number = next(n for seq in range(400, 500) if not (n := make_id_card(date(1987, 5, 4), seq=seq)).endswith("X"))
    return int(number)


def member_row(org_code, **extra) -> dict:
    return {"姓名": "导入党员", "性别": "男", "手机号": new_mobile(), "所属组织编码": org_code, **extra}


def org_row(name, code, kind, level, parent_code, **extra) -> dict:
    return {"组织名称": name, "组织编码": code, "组织类别": kind, "层级": level, "上级组织编码": parent_code, **extra}


@pytest.fixture
def clean_session(app):
    """Ends the shared test session's transaction after a request, as a real request's teardown would."""
    yield lambda: db.session.rollback()


# ---------------------------------------------------------------- members: rejected files


def test_bad_rows_are_all_reported_and_nothing_is_written(client, world, login_as, clean_session):
    headers = login_as(world.city_admin)
    good_id = make_id_card(date(1985, 3, 2), seq=201)
    bad_checksum = good_id[:17] + ("0" if good_id[17] != "0" else "1")
    dup_mobile = new_mobile()
    rows = [
        member_row(world.v1.code, 手机号="1380000000"),  # 2: ten digits
        member_row(world.v1.code, 身份证号=bad_checksum),  # 3
        member_row(
            world.v1.code, 身份证号=make_id_card(date(1986, 4, 3), seq=202), 出生日期=date(1986, 4, 4)
        ),  # 4: birth date disagrees with the ID card
        member_row(world.v1.code, 性别="男性"),  # 5
        member_row("NOSUCH-ORG"),  # 6
        member_row(world.town_a1.code),  # 7: a township committee, not a branch
        member_row(world.v2.code, 手机号=dup_mobile),  # 8
        member_row(world.v2.code, 手机号=dup_mobile),  # 9: same mobile as row 8
        member_row(world.v3.code, 手机号=world.member_v2.mobile),  # 10: already in the database
        member_row(world.v3.code, 身份证号=numeric_id_card()),  # 11: a valid number, typed as a number
        member_row(world.v4.code, 身份证号=good_id, 出生日期="1985-03-02", 党员类别="预备党员"),  # 12: fine
    ]
    before_members, before_audit = member_count(), audit_count("member.import")

    r = import_members(client, xlsx(MEMBER_HEADERS, rows), headers)
    clean_session()

    assert_rejected(
        r,
        {
            (2, "手机号"): "手机号",
            (3, "身份证号"): "校验位",
            (4, "出生日期"): "不一致",
            (5, "性别"): "性别",
            (6, "所属组织编码"): "不在您的管理范围内",
            (7, "所属组织编码"): "党支部",
            (9, "手机号"): "与第8行重复",
            (10, "手机号"): "已被其他党员使用",
            (11, "身份证号"): "文本格式",
        },
    )
    assert r.json["error"]["file"] == "名册.xlsx"
    assert member_count() == before_members
    assert audit_count("member.import") == before_audit == 0
    assert db.session.scalar(select(Member).where(Member.mobile == dup_mobile)) is None


def test_row_numbers_count_blank_rows_inside_the_sheet(client, world, login_as, clean_session):
    """A blank row in the middle keeps its number; it is reported (required cells) and later rows keep theirs."""
    wb = Workbook()
    ws = wb.active
    ws.append(MEMBER_HEADERS)
    ok = member_row(world.v1.code)
    ws.append([ok.get(h) for h in MEMBER_HEADERS])  # row 2
    # row 3 left empty
    bad = member_row(world.v1.code, 手机号="12345")
    for col, h in enumerate(MEMBER_HEADERS, start=1):  # row 4
        ws.cell(row=4, column=col, value=bad.get(h))
    ws.cell(row=9, column=1, value=None)  # trailing formatted-but-empty rows are not data
    buf = io.BytesIO()
    wb.save(buf)

    r = import_members(client, buf.getvalue(), login_as(world.city_admin))
    clean_session()

    assert_rejected(
        r,
        {
            (3, "姓名"): "必填",
            (3, "性别"): "必填",
            (3, "手机号"): "必填",
            (3, "所属组织编码"): "必填",
            (4, "手机号"): "手机号",
        },
    )


def test_error_list_is_capped_but_counted(client, world, login_as, clean_session):
    rows = [member_row(world.v1.code, 手机号=f"120{i:08d}") for i in range(620)]  # distinct, all invalid
    r = import_members(client, xlsx(MEMBER_HEADERS, rows), login_as(world.city_admin))
    clean_session()
    assert r.status_code == 422
    error = r.json["error"]
    assert error["code"] == "import_rejected"
    assert error["error_count"] == 620
    assert len(error["rows"]) == 500
    assert error["rows"][0]["row"] == 2 and error["rows"][-1]["row"] == 501
    assert "620" in error["message"]


# ---------------------------------------------------------------- members: an accepted file


def test_good_file_creates_members_with_one_time_passwords(client, world, login_as):
    headers = login_as(world.city_admin)
    id_card = make_id_card(date(1990, 1, 15), seq=311)
    rows = [
        member_row(
            world.v1.code, 姓名="甲一号", 性别="女", 身份证号=id_card, 入党日期=date(2015, 7, 1), 党员类别="正式党员"
        ),
        member_row(world.v2.code, 姓名="甲二号", 党员编号="IMP0002", 出生日期=date(1975, 2, 3), 党员类别="预备党员"),
        member_row(world.v3.code, 姓名="甲三号", 是否流动党员="是", 流动去向="广东省深圳市"),
    ]
    before = member_count()

    r = import_members(client, xlsx(MEMBER_HEADERS, rows), headers)

    assert r.status_code == 201, r.json
    assert r.json["imported"] == 3
    accounts = r.json["accounts"]
    assert [a["row"] for a in accounts] == [2, 3, 4]
    assert [a["mobile"] for a in accounts] == [row["手机号"] for row in rows]
    assert all(re.fullmatch(r"[A-Za-z0-9]{12}", a["initial_password"]) for a in accounts)
    assert len({a["initial_password"] for a in accounts}) == 3
    assert member_count() == before + 3

    db.session.expire_all()
    by_mobile = {
        m.mobile: m
        for m in db.session.scalars(select(Member).where(Member.mobile.in_([row["手机号"] for row in rows])))
    }
    first, second, third = (by_mobile[row["手机号"]] for row in rows)
    assert (first.org_id, second.org_id, third.org_id) == (world.v1.id, world.v2.id, world.v3.id)
    assert first.gender.value == "female" and first.birth_date == date(1990, 1, 15)  # taken from the ID card
    assert first.id_card_cipher is not None and id_card.encode() not in bytes(first.id_card_cipher)
    assert first.member_no == f"DY{first.id:08d}" and accounts[0]["member_no"] == first.member_no
    assert second.member_no == "IMP0002" and second.party_status.value == "probationary"
    assert third.is_floating and third.floating_to == "广东省深圳市"
    assert all(m.must_change_password and m.password_hash is None for m in (first, second, third))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "member.import"))
    assert entry is not None and entry.actor_id == world.city_admin.id and entry.detail["count"] == 3

    # The one-time password logs in, but nothing else answers until it is changed.
    r = client.post(
        "/api/auth/login", json={"username": rows[0]["手机号"], "password": accounts[0]["initial_password"]}
    )
    assert r.status_code == 200, r.json
    bearer = {"Authorization": f"Bearer {r.json['access_token']}"}
    r = client.get("/api/members", headers=bearer)
    assert r.status_code == 403 and r.json["error"]["code"] == "password_change_required"
    r = client.post(
        "/api/auth/password",
        headers=bearer,
        json={"current_password": accounts[0]["initial_password"], "new_password": NEW_PASSWORD},
    )
    assert r.status_code == 204, r.json
    r = client.get("/api/members", headers=bearer)
    assert r.status_code == 200, r.json
    # ... and it was one-time: it no longer logs in, the chosen one does.
    r = client.post(
        "/api/auth/login", json={"username": rows[0]["手机号"], "password": accounts[0]["initial_password"]}
    )
    assert r.status_code == 401
    r = client.post(
        "/api/auth/login", json={"username": accounts[1]["member_no"], "password": accounts[1]["initial_password"]}
    )
    assert r.status_code == 200, r.json  # another imported account logs in by member number


def test_utf8_bom_csv(client, world, login_as):
    rows = [member_row(world.v1.code, 姓名="欧阳娜娜", 出生日期="1992/03/04", 入党日期="2016年7月1日")]
    r = import_members(client, csv_bytes(MEMBER_HEADERS, rows, "utf-8-sig"), login_as(world.city_admin), "名册.csv")
    assert r.status_code == 201, r.json
    m = db.session.get(Member, r.json["accounts"][0]["id"])
    assert m.name == "欧阳娜娜" and m.birth_date == date(1992, 3, 4) and m.joined_on == date(2016, 7, 1)


def test_gb18030_csv_is_read(client, world, login_as):
    # 䶮 (U+4DAE) and 𠀾 (U+2003E) lie outside GBK: GB18030 encodes both; these bytes are not UTF-8.
    names = ["李䶮", "王𠀾", "赵钱孙"]
    rows = [member_row(world.v1.code, 姓名=n, 是否流动党员="否") for n in names]
    data = csv_bytes(MEMBER_HEADERS, rows, "gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    r = import_members(client, data, login_as(world.city_admin), "名册.csv")
    assert r.status_code == 201, r.json
    got = [db.session.get(Member, a["id"]).name for a in r.json["accounts"]]
    assert got == names


# ---------------------------------------------------------------- members: files that are not rosters


def test_missing_required_column(client, world, login_as, clean_session):
    headers = [h for h in MEMBER_HEADERS if h != "手机号"]
    r = import_members(client, xlsx(headers, [member_row(world.v1.code)]), login_as(world.city_admin))
    clean_session()
    assert r.status_code == 422
    error = r.json["error"]
    assert error["code"] == "bad_header"
    assert error["fields"]["missing_columns"] == ["手机号"]
    assert "缺少列" in error["message"] and "手机号" in error["message"]


def test_unknown_column(client, world, login_as, clean_session):
    headers = MEMBER_HEADERS + ["备注"]
    r = import_members(client, xlsx(headers, [member_row(world.v1.code, 备注="x")]), login_as(world.city_admin))
    clean_session()
    assert r.status_code == 422
    error = r.json["error"]
    assert error["code"] == "bad_header"
    assert error["fields"]["unknown_columns"] == ["备注"]
    assert "missing_columns" not in error["fields"]
    assert "无法识别的列" in error["message"]


@pytest.mark.parametrize(
    "name, data, code",
    [
        ("名册.xlsx", b"", "invalid"),  # an empty upload named .xlsx
        ("名册.csv", b"", "bad_header"),  # an empty CSV: no header at all
        ("名册.csv", "\ufeff姓名,性别,手机号,所属组织编码\r\n".encode(), "invalid"),  # header only: no data rows
    ],
)
def test_empty_files(client, world, login_as, clean_session, name, data, code):
    before = member_count()
    r = import_members(client, data, login_as(world.city_admin), name)
    clean_session()
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == code
    assert CJK.search(r.json["error"]["message"])
    assert member_count() == before


def test_empty_workbook_and_header_only_workbook(client, world, login_as, clean_session):
    wb = Workbook()
    buf = io.BytesIO()
    wb.save(buf)
    r = import_members(client, buf.getvalue(), login_as(world.city_admin))
    assert r.status_code == 422 and r.json["error"]["code"] == "bad_header"
    r = import_members(client, xlsx(MEMBER_HEADERS, []), login_as(world.city_admin))
    clean_session()
    assert r.status_code == 422
    assert r.json["error"]["code"] == "invalid"
    assert "没有数据行" in r.json["error"]["message"]


def test_non_xlsx_renamed_to_xlsx(client, world, login_as, clean_session):
    headers = login_as(world.city_admin)
    csv_data = csv_bytes(MEMBER_HEADERS, [member_row(world.v1.code)])
    r = import_members(client, csv_data, headers, "名册.xlsx")
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid"
    assert "file" in r.json["error"]["fields"]
    # A zip that is no workbook passes the magic-number check but not openpyxl.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "不是表格")
    r = import_members(client, buf.getvalue(), headers, "名册.xlsx")
    clean_session()
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "invalid" and "file" in r.json["error"]["fields"]


def test_txt_file_is_refused(client, world, login_as, clean_session):
    r = import_members(client, "姓名,性别\n张三,男\n".encode(), login_as(world.city_admin), "名册.txt")
    clean_session()
    assert r.status_code == 422
    assert r.json["error"]["code"] == "invalid"
    assert ".xlsx" in r.json["error"]["message"] and ".csv" in r.json["error"]["message"]


def test_no_file_part(client, world, login_as, clean_session):
    r = client.post(
        "/api/members/import", data={}, headers=login_as(world.city_admin), content_type="multipart/form-data"
    )
    clean_session()
    assert r.status_code == 422 and "file" in r.json["error"]["fields"]


# ---------------------------------------------------------------- members: who may import where


def test_township_admin_cannot_import_into_another_township(client, world, login_as, clean_session):
    rows = [member_row(world.v1.code), member_row("NOSUCH-ORG"), member_row(world.v3.code)]
    before = member_count()
    r = import_members(client, xlsx(MEMBER_HEADERS, rows), login_as(world.town_a2_admin))
    clean_session()
    assert_rejected(r, {(2, "所属组织编码"): "不在您的管理范围内", (3, "所属组织编码"): "不在您的管理范围内"})
    cells = errors_by_cell(r)
    assert cells[(2, "所属组织编码")] == cells[(3, "所属组织编码")]  # nobody learns that v1 exists
    assert member_count() == before


def test_township_admin_imports_into_own_township(client, world, login_as):
    r = import_members(client, xlsx(MEMBER_HEADERS, [member_row(world.v3.code)]), login_as(world.town_a2_admin))
    assert r.status_code == 201, r.json
    assert db.session.get(Member, r.json["accounts"][0]["id"]).org_id == world.v3.id


def test_admin_home_branch_outside_managed_scope_is_not_an_import_target(client, world, login_as, clean_session):
    """An admin may read their own branch, but writes reach only the managed subtree, as for a single member."""
    admin = world.town_a2_admin
    admin.org_id = world.v1.id  # lives in village 1 of township A1, manages township A2
    db.session.commit()
    headers = login_as(admin)
    r = client.post(
        "/api/members",
        headers=headers,
        json={"org_id": world.v1.id, "name": "单个", "gender": "male", "mobile": new_mobile()},
    )
    assert r.status_code == 403, r.json  # the single-member path refuses v1
    clean_session()
    before = member_count()
    r = import_members(client, xlsx(MEMBER_HEADERS, [member_row(world.v1.code)]), headers)
    clean_session()
    assert_rejected(r, {(2, "所属组织编码"): "不在您的管理范围内"})
    assert member_count() == before


@pytest.mark.parametrize("who", ["sec_v1", "member_v1"])
def test_secretaries_and_members_may_not_import(client, world, login_as, clean_session, who):
    before = member_count()
    r = import_members(client, xlsx(MEMBER_HEADERS, [member_row(world.v1.code)]), login_as(getattr(world, who)))
    clean_session()
    assert r.status_code == 403
    assert r.json["error"]["code"] == "forbidden"
    assert member_count() == before
    r = import_orgs(
        client,
        xlsx(ORG_HEADERS, [org_row("某支部", "SEC-X1", "党支部", "村社区", world.v1.code)]),
        login_as(getattr(world, who)),
    )
    clean_session()
    assert r.status_code == 403


def test_import_requires_login(client, world):
    r = import_members(client, xlsx(MEMBER_HEADERS, [member_row(world.v1.code)]), {})
    assert r.status_code == 401


def test_member_numbers(client, world, login_as, clean_session):
    """Member numbers follow the API's format, stay clear of the automatic "DY" + id numbers, and are unique
    regardless of case (MariaDB's unique index ignores case): every such problem is a row, never a 500."""
    member(world.v1, "已有编号", member_no="EXIST01")
    db.session.commit()
    next_id = db.session.scalar(select(func.max(Member.id))) + 1
    rows = [
        member_row(world.v1.code, 党员编号=f"DY{next_id + 1:08d}"),  # 2: the number row 3 would be given
        member_row(world.v1.code),  # 3
        member_row(world.v1.code, 党员编号="dy12345678"),  # 4
        member_row(world.v1.code, 党员编号="AB-12"),  # 5
        member_row(world.v1.code, 党员编号="AB1234"),  # 6
        member_row(world.v1.code, 党员编号="ab1234"),  # 7
        member_row(world.v1.code, 党员编号="exist01"),  # 8
        member_row(world.v1.code, 党员编号="DY1234"),  # 9: fine, not the automatic pattern
    ]
    before = member_count()
    r = import_members(client, xlsx(MEMBER_HEADERS, rows), login_as(world.city_admin))
    clean_session()
    assert_rejected(
        r,
        {
            (2, "党员编号"): "系统自动分配",
            (4, "党员编号"): "系统自动分配",
            (5, "党员编号"): "4到20位字母或数字",
            (7, "党员编号"): "与第6行重复",
            (8, "党员编号"): "已存在",
        },
    )
    assert member_count() == before


def test_codes_match_regardless_of_case(client, world, login_as):
    r = import_members(client, xlsx(MEMBER_HEADERS, [member_row(world.v2.code.lower())]), login_as(world.city_admin))
    assert r.status_code == 201, r.json
    assert db.session.get(Member, r.json["accounts"][0]["id"]).org_id == world.v2.id


# ---------------------------------------------------------------- organisations


def test_org_import_parent_after_child(client, world, login_as):
    headers = login_as(world.county_a_admin)
    rows = [
        org_row("新一村党支部", "NEW-V1", "党支部", "村社区", "NEW-T1"),
        org_row("新二村党总支", "NEW-G2", "党总支", "村社区", "NEW-T1"),
        org_row("新二村第一党支部", "NEW-V21", "党支部", "村", "NEW-G2"),
        org_row(
            "新镇党委",
            "NEW-T1",
            "党委",
            "乡镇街道",
            world.county_a.code,
            联系电话="0851-1234567",
            驻地纬度=26.6,
            驻地经度=106.7,
            坐标系="GCJ-02",
        ),
    ]
    before = org_count()
    r = import_orgs(client, xlsx(ORG_HEADERS, rows), headers)
    assert r.status_code == 201, r.json
    assert r.json["imported"] == 4
    assert [o["row"] for o in r.json["organisations"]] == [5, 2, 3, 4]  # parents first
    assert org_count() == before + 4
    db.session.expire_all()
    by_code = {o.code: o for o in db.session.scalars(select(Organisation).where(Organisation.code.like("NEW-%")))}
    town, v1, g2, v21 = (by_code[c] for c in ("NEW-T1", "NEW-V1", "NEW-G2", "NEW-V21"))
    assert town.parent_id == world.county_a.id
    assert v1.parent_id == town.id and g2.parent_id == town.id and v21.parent_id == g2.id
    assert v21.path == f"{world.county_a.path}{town.id}/{g2.id}/{v21.id}/"
    assert town.venue_coord_sys.value == "gcj02" and town.contact_phone == "0851-1234567"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "org.import"))
    assert entry is not None and entry.detail["count"] == 4

    # The new branch takes members at once.
    r = import_members(client, xlsx(MEMBER_HEADERS, [member_row("NEW-V21")]), headers)
    assert r.status_code == 201, r.json


def test_org_import_cycle(client, world, login_as, clean_session):
    rows = [
        org_row("甲", "CYC-A", "党总支", "村社区", "CYC-B"),
        org_row("乙", "CYC-B", "党总支", "村社区", "CYC-A"),
        org_row("丙", "CYC-C", "党支部", "村社区", world.town_a1.code),
    ]
    before = org_count()
    r = import_orgs(client, xlsx(ORG_HEADERS, rows), login_as(world.county_a_admin))
    clean_session()
    assert_rejected(r, {(2, "上级组织编码"): "循环", (3, "上级组织编码"): "循环"})
    assert org_count() == before
    assert audit_count("org.import") == 0


def test_org_import_branch_as_parent(client, world, login_as, clean_session):
    rows = [
        org_row("支部下的支部", "BR-X1", "党支部", "村社区", world.v1.code),  # a branch in the database
        org_row("新支部", "BR-P", "党支部", "村社区", world.town_a1.code),
        org_row("文件内支部下的支部", "BR-X2", "党支部", "村社区", "BR-P"),  # a branch earlier in the file
    ]
    before = org_count()
    r = import_orgs(client, xlsx(ORG_HEADERS, rows), login_as(world.county_a_admin))
    clean_session()
    assert_rejected(r, {(2, "上级组织编码"): "党支部下不能再设组织", (4, "上级组织编码"): "党支部下不能再设组织"})
    assert org_count() == before


def test_org_import_duplicate_codes(client, world, login_as, clean_session):
    rows = [
        org_row("一", "DUP-1", "党支部", "村社区", world.town_a1.code),
        org_row("二", "DUP-1", "党支部", "村社区", world.town_a1.code),
        org_row("三", world.v3.code, "党支部", "村社区", world.town_a1.code),  # taken, and out of this admin's sight
        org_row("四", "dup-ok", "党支部", "村社区", world.town_a1.code),
    ]
    before = org_count()
    r = import_orgs(client, xlsx(ORG_HEADERS, rows), login_as(world.town_a1_admin))
    clean_session()
    assert_rejected(r, {(3, "组织编码"): "与第2行重复", (4, "组织编码"): "已存在"})
    assert org_count() == before


def test_org_codes_are_unique_regardless_of_case(client, world, login_as, clean_session):
    rows = [
        org_row("一", "case-1", "党支部", "村社区", world.town_a1.code),
        org_row("二", "CASE-1", "党支部", "村社区", world.town_a1.code),
        org_row("三", world.v1.code.lower(), "党支部", "村社区", world.town_a1.code),
        org_row("四", "CASE-4", "党支部", "村社区", world.town_a1.code.lower()),  # a parent typed in lower case
    ]
    before = org_count()
    r = import_orgs(client, xlsx(ORG_HEADERS, rows), login_as(world.city_admin))
    clean_session()
    assert_rejected(r, {(3, "组织编码"): "与第2行重复", (4, "组织编码"): "已存在"})
    assert org_count() == before

    r = import_orgs(client, xlsx(ORG_HEADERS, rows[3:]), login_as(world.city_admin))
    assert r.status_code == 201, r.json
    created = db.session.get(Organisation, r.json["organisations"][0]["id"])
    assert created.parent_id == world.town_a1.id


def test_org_import_child_of_a_rejected_row(client, world, login_as, clean_session):
    """A row waiting for a parent row that has errors is told so, not that there is a cycle."""
    rows = [
        org_row("孙", "ST-G", "党支部", "村社区", "ST-C"),
        org_row("子", "ST-C", "党总支", "村社区", "ST-P"),
        org_row("父", "ST-P", "党委", "乡镇街道", "NOSUCH"),
        org_row("环一", "LOOP-1", "党总支", "村社区", "LOOP-2"),
        org_row("环二", "LOOP-2", "党总支", "村社区", "LOOP-1"),
        org_row("挂在环上", "LOOP-X", "党支部", "村社区", "LOOP-1"),
    ]
    r = import_orgs(client, xlsx(ORG_HEADERS, rows), login_as(world.city_admin))
    clean_session()
    assert_rejected(
        r,
        {
            (4, "上级组织编码"): "不存在",
            (3, "上级组织编码"): "上级组织（第4行）有误",
            (2, "上级组织编码"): "上级组织（第4行）有误",
            (5, "上级组织编码"): "循环",
            (6, "上级组织编码"): "循环",
            (7, "上级组织编码"): "循环",
        },
    )


def test_org_import_checks_values_and_scope(client, world, login_as, clean_session):
    rows = [
        org_row("越级", "SC-1", "党支部", "村社区", world.county_a.code),  # above town_a1_admin's scope
        org_row("别镇", "SC-2", "党支部", "村社区", world.town_a2.code),  # sibling township
        org_row("坏类别", "SC-3", "支部委员会", "村社区", world.town_a1.code),
        org_row("坏层级", "SC-4", "党支部", "省", world.town_a1.code),
        org_row("高于上级", "SC-5", "党支部", "县区", world.town_a1.code),
        org_row("坏编码", "坏编码", "党支部", "村社区", world.town_a1.code),
        org_row("半个坐标", "SC-7", "党支部", "村社区", world.town_a1.code, 驻地纬度=26.5),
        org_row("没上级", "SC-8", "党支部", "村社区", None),
    ]
    r = import_orgs(client, xlsx(ORG_HEADERS, rows), login_as(world.town_a1_admin))
    clean_session()
    assert_rejected(
        r,
        {
            (2, "上级组织编码"): "不在您的管理范围内",
            (3, "上级组织编码"): "不在您的管理范围内",
            (4, "组织类别"): "组织类别应为",
            (5, "层级"): "层级应为",
            (6, "层级"): "不能高于上级",
            (7, "组织编码"): "组织编码应为",
            (8, "驻地纬度"): "同时填写",
            (9, "上级组织编码"): "必填",
        },
    )


# ---------------------------------------------------------------- hostile workbooks

_OOXML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_CT = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="{_OOXML}.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_OOXML}.worksheet+xml"/>
</Types>"""
_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{_PKG_REL}">
<Relationship Id="rId1" Type="{_DOC_REL}/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'{{doctype}}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_REL}">\n'
    '<sheets><sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WB_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{_PKG_REL}">
<Relationship Id="rId1" Type="{_DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""
_SHEET = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'{{doctype}}<worksheet xmlns="{_MAIN}"><sheetData>{{rows}}</sheetData></worksheet>'
)
_LAUGHS = (
    '<!DOCTYPE {root} [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
)


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def hand_made_xlsx(rows: list[list[str]], bomb_in: str | None = None) -> bytes:
    """A minimal workbook written by hand (inline strings); `bomb_in` puts a billion-laughs DOCTYPE into
    "sheet" (and expands it in the first data cell) or "workbook" (expanded in the sheet name)."""
    xml_rows = []
    for r, values in enumerate(rows, start=1):
        cells = "".join(_cell(f"{chr(65 + c)}{r}", v) for c, v in enumerate(values))
        xml_rows.append(f'<row r="{r}">{cells}</row>')
    sheet_doctype = workbook_doctype = ""
    sheet_name = "Sheet1"
    if bomb_in == "sheet":
        sheet_doctype = _LAUGHS.format(root="worksheet")
        xml_rows[1] = xml_rows[1].replace("<t>", "<t>&lol9;", 1)
    elif bomb_in == "workbook":
        workbook_doctype = _LAUGHS.format(root="workbook")
        sheet_name = "&lol9;"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK.format(doctype=workbook_doctype, sheet_name=sheet_name))
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        z.writestr("xl/worksheets/sheet1.xml", _SHEET.format(doctype=sheet_doctype, rows="".join(xml_rows)))
    return buf.getvalue()


def _hand_rows(world) -> list[list[str]]:
    return [["姓名", "性别", "手机号", "所属组织编码"], ["手工表格", "男", new_mobile(), world.v1.code]]


def test_hand_made_workbook_is_readable(client, world, login_as):
    """The control for the bomb below: the same hand-made package without a DOCTYPE imports fine."""
    r = import_members(client, hand_made_xlsx(_hand_rows(world)), login_as(world.city_admin))
    assert r.status_code == 201, r.json
    assert db.session.get(Member, r.json["accounts"][0]["id"]).name == "手工表格"


@pytest.mark.parametrize("bomb_in", ["sheet", "workbook"])
def test_billion_laughs_is_refused(client, world, login_as, clean_session, bomb_in):
    data = hand_made_xlsx(_hand_rows(world), bomb_in=bomb_in)
    assert b"<!ENTITY lol9" in zipfile.ZipFile(io.BytesIO(data)).read(
        "xl/worksheets/sheet1.xml" if bomb_in == "sheet" else "xl/workbook.xml"
    )
    before = member_count()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.monotonic()
    r = import_members(client, data, login_as(world.city_admin))
    clean_session()
    assert time.monotonic() - started < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 200 * 1024  # no 3 GB expansion
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "invalid"
    assert "file" in r.json["error"]["fields"]
    assert member_count() == before


@pytest.mark.parametrize(
    "body",
    [
        '<row r="2"><c r="A2"><v>不是数字</v></c></row></sheetData></worksheet>',  # a numeric cell holding text
        '<row r="2"><c r="A2"',  # the XML breaks off after the header row
    ],
    ids=["bad-number-cell", "truncated-xml"],
)
def test_workbook_broken_below_the_header_is_refused(client, world, login_as, clean_session, body):
    """openpyxl's read-only mode parses rows lazily: damage after the <dimension> element shows up while reading
    rows, not when opening the file; it must still be a 422, not a 500."""
    header = (
        '<row r="1">'
        + "".join(_cell(f"{c}1", h) for c, h in zip("ABCD", ["姓名", "性别", "手机号", "所属组织编码"], strict=True))
        + "</row>"
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN}"><dimension ref="A1:D2"/><sheetData>'
        + header
        + body
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", _CT)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK.format(doctype="", sheet_name="Sheet1"))
        z.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    r = import_members(client, buf.getvalue(), login_as(world.city_admin))
    clean_session()
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "invalid" and "file" in r.json["error"]["fields"]


# ---------------------------------------------------------------- the CLI


def _write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_cli_import_members_writes_passwords(app, world, tmp_path):
    rows = [member_row(world.v1.code, 姓名="命令行一"), member_row(world.v4.code, 姓名="命令行二")]
    path = _write(tmp_path, "名册.xlsx", xlsx(MEMBER_HEADERS, rows))
    out = tmp_path / "passwords.json"
    before = member_count()

    result = app.test_cli_runner().invoke(
        args=["import-roster", path, "--kind", "members", "--passwords-out", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert "写入" in result.output  # the progress bar's label
    assert "已导入 2 条" in result.output
    assert member_count() == before + 2
    accounts = json.loads(out.read_text("utf-8"))
    assert [a["mobile"] for a in accounts] == [r["手机号"] for r in rows]
    assert [a["name"] for a in accounts] == ["命令行一", "命令行二"]
    assert all(a["initial_password"] and a["member_no"].startswith("DY") for a in accounts)
    m = db.session.get(Member, accounts[1]["id"])
    assert m.org_id == world.v4.id and m.must_change_password
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "member.import"))
    assert entry is not None and entry.actor_id is None  # the system acted


def test_cli_initial_password_logs_in(app, client, world, tmp_path):
    row = member_row(world.v2.code)
    path = _write(tmp_path, "名册.csv", csv_bytes(MEMBER_HEADERS, [row], "gb18030"))
    out = tmp_path / "p.json"
    result = app.test_cli_runner().invoke(
        args=["import-roster", path, "--kind", "members", "--passwords-out", str(out)]
    )
    assert result.exit_code == 0, result.output
    password = json.loads(out.read_text("utf-8"))[0]["initial_password"]
    r = client.post("/api/auth/login", json={"username": row["手机号"], "password": password})
    assert r.status_code == 200, r.json


def test_cli_bad_file_exits_non_zero_with_row_reasons(app, world, tmp_path):
    rows = [member_row(world.v1.code), member_row(world.v1.code, 手机号="123"), member_row("NOSUCH", 性别="x")]
    path = _write(tmp_path, "坏名册.xlsx", xlsx(MEMBER_HEADERS, rows))
    out = tmp_path / "passwords.json"
    before = member_count()

    result = app.test_cli_runner().invoke(
        args=["import-roster", path, "--kind", "members", "--passwords-out", str(out)]
    )
    db.session.rollback()

    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)  # a clean message, not a traceback
    assert "未写入任何数据" in result.output
    assert "第3行 手机号：手机号应为11位中国大陆手机号" in result.output
    assert "第4行 性别：" in result.output
    assert "第4行 所属组织编码：组织编码不存在或不在您的管理范围内" in result.output
    assert not out.exists()
    assert member_count() == before


@pytest.mark.parametrize(
    "name, data, fragment",
    [
        ("名册.txt", "姓名\n张三\n".encode(), "只支持"),
        ("名册.xlsx", b"not a zip", ".xlsx"),
    ],
)
def test_cli_unreadable_file_exits_cleanly(app, world, tmp_path, name, data, fragment):
    path = _write(tmp_path, name, data)
    result = app.test_cli_runner().invoke(args=["import-roster", path, "--kind", "members"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not a traceback
    assert fragment in result.output


def test_cli_bad_header(app, world, tmp_path):
    path = _write(tmp_path, "名册.xlsx", xlsx(["姓名", "性别", "电话"], [["张三", "男", "13600000000"]]))
    result = app.test_cli_runner().invoke(args=["import-roster", path, "--kind", "members"])
    assert result.exit_code != 0
    assert "缺少列" in result.output and "无法识别的列 电话" in result.output


def test_cli_import_orgs(app, world, tmp_path):
    rows = [
        org_row("命令行支部", "CLI-V1", "联合党支部", "村社区", "CLI-T1"),
        org_row("命令行镇", "CLI-T1", "党工委", "乡镇街道", world.county_b.code),
    ]
    path = _write(tmp_path, "组织.csv", csv_bytes(ORG_HEADERS, rows))
    result = app.test_cli_runner().invoke(args=["import-roster", path, "--kind", "orgs"])
    assert result.exit_code == 0, result.output
    assert "已导入 2 条" in result.output
    town = db.session.scalar(select(Organisation).where(Organisation.code == "CLI-T1"))
    branch = db.session.scalar(select(Organisation).where(Organisation.code == "CLI-V1"))
    assert town.parent_id == world.county_b.id and branch.parent_id == town.id
