"""Importing organisations and members from .xlsx or .csv: check every row first, then write all or nothing.

A rejected file raises Invalid with `rows`: every problem as {row, column, reason} in Chinese, row numbers as
the spreadsheet shows them (the header is row 1). openpyxl parses XML through defusedxml (installed), so a
crafted workbook cannot expand entities.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from openpyxl import load_workbook
from sqlalchemy import insert, select, true, update

from models import AccountStatus, CoordSys, Member, Organisation, OrgKind, OrgLevel, PartyStatus, Role, db
from models.base import utcnow
from models.member import Gender
from models.org import KIND_LABELS, LEVEL_LABELS
from services import audit, idcard, passwords
from services.authz import Actor
from services.errors import Invalid
from services.geo import check_position
from services.members import check_personal
from services.orgs import adjust_member_count, check_placement, create_org

MAX_ERRORS = 500

MEMBER_COLUMNS = {  # header → field
    "姓名": "name",
    "性别": "gender",
    "出生日期": "birth_date",
    "手机号": "mobile",
    "身份证号": "id_card",
    "党员类别": "party_status",
    "入党日期": "joined_on",
    "所属组织编码": "org_code",
    "党员编号": "member_no",
    "是否流动党员": "is_floating",
    "流动去向": "floating_to",
}
MEMBER_REQUIRED = ("姓名", "性别", "手机号", "所属组织编码")
ORG_COLUMNS = {
    "组织名称": "name",
    "组织编码": "code",
    "组织类别": "kind",
    "层级": "level",
    "上级组织编码": "parent_code",
    "联系电话": "contact_phone",
    "驻地纬度": "venue_lat",
    "驻地经度": "venue_lng",
    "坐标系": "venue_coord_sys",
}
ORG_REQUIRED = ("组织名称", "组织编码", "组织类别", "层级", "上级组织编码")

KIND_BY_LABEL = {label: kind for kind, label in KIND_LABELS.items()}
LEVEL_BY_LABEL = {label: lvl for lvl, label in LEVEL_LABELS.items()} | {
    "县": OrgLevel.COUNTY,
    "区": OrgLevel.COUNTY,
    "乡镇": OrgLevel.TOWNSHIP,
    "乡": OrgLevel.TOWNSHIP,
    "镇": OrgLevel.TOWNSHIP,
    "街道": OrgLevel.TOWNSHIP,
    "村": OrgLevel.VILLAGE,
    "社区": OrgLevel.VILLAGE,
}
COORD_BY_LABEL = {
    "wgs84": CoordSys.WGS84,
    "wgs-84": CoordSys.WGS84,
    "gps": CoordSys.WGS84,
    "gcj02": CoordSys.GCJ02,
    "gcj-02": CoordSys.GCJ02,
    "国测局": CoordSys.GCJ02,
    "火星坐标": CoordSys.GCJ02,
}
YES, NO = {"是", "y", "yes", "true", "1"}, {"否", "n", "no", "false", "0", ""}
MEMBER_NO_RE = re.compile(r"[A-Za-z0-9]{4,20}")  # as the API's MemberCreateIn
AUTO_MEMBER_NO_RE = re.compile(r"dy\d{8}", re.IGNORECASE)  # "DY" + id: assigned after insert, never typed in


def _fold(code: str) -> str:
    """Codes and member numbers are ASCII and unique regardless of case (MariaDB's _ci collation): compare so."""
    return code.lower()


@dataclass
class Sheet:
    """Rows of an uploaded roster: `rows[i]` is spreadsheet row `i + 2`, keyed by header text."""

    name: str
    headers: list[str]
    rows: list[dict[str, object]]


@dataclass
class Report:
    errors: list[dict] = field(default_factory=list)

    def add(self, row: int, column: str, reason: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"row": row, "column": column, "reason": reason})
        self.count = getattr(self, "count", 0) + 1

    def raise_if_any(self, sheet: Sheet) -> None:
        if self.errors:
            total = getattr(self, "count", len(self.errors))
            raise Invalid(
                f"导入文件有{total}处错误，未写入任何数据",
                code="import_rejected",
                extra={"rows": self.errors, "error_count": total, "file": sheet.name},
            )


def read_upload(upload) -> Sheet:
    """Reads a werkzeug FileStorage (from `request.files`)."""
    if upload is None or not upload.filename:
        raise Invalid("请选择要导入的文件", fields={"file": ["请上传 .xlsx 或 .csv 文件"]})
    return read_roster(upload.filename, upload.read())


def read_roster(name: str, data: bytes) -> Sheet:
    lower = name.lower()
    if lower.endswith(".xlsx"):
        if not data.startswith(b"PK"):
            raise Invalid("文件不是有效的 .xlsx", fields={"file": ["文件内容不是 .xlsx 格式"]})
        return _read_xlsx(name, data)
    if lower.endswith(".csv"):
        return _read_csv(name, data)
    raise Invalid("只支持 .xlsx 或 .csv 文件", fields={"file": ["只支持 .xlsx 或 .csv 文件"]})


def _read_xlsx(name: str, data: bytes) -> Sheet:
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile/openpyxl/defusedxml raise many kinds
        raise Invalid("无法读取该 .xlsx 文件", fields={"file": [f"无法读取：{type(exc).__name__}"]}) from exc
    try:
        # read_only parses the sheet XML lazily: broken XML or a bad cell after the header surfaces only here.
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None) or ()
        headers = [str(h).strip() if h is not None else "" for h in header]
        body = [dict(zip(headers, r, strict=False)) for r in rows]
    except Exception as exc:
        raise Invalid("无法读取该 .xlsx 文件", fields={"file": [f"无法读取：{type(exc).__name__}"]}) from exc
    finally:
        wb.close()
    return Sheet(name, headers, _drop_blank(body))


def _read_csv(name: str, data: bytes) -> Sheet:
    # Excel in China saves CSV as GB18030/GBK unless told otherwise; try UTF-8 (with BOM) first.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid("无法识别文件编码", fields={"file": ["请保存为 UTF-8 或 GBK 编码的 CSV"]})
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    headers = [h.strip() for h in header]
    return Sheet(name, headers, _drop_blank([dict(zip(headers, r, strict=False)) for r in reader]))


def _drop_blank(rows: list[dict]) -> list[dict]:
    """Trailing empty rows (Excel keeps formatted ones) are not data; blank rows inside are reported later."""
    while rows and all(_text(v) == "" for v in rows[-1].values()):
        rows.pop()
    return rows


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError("日期格式应为 YYYY-MM-DD")


def _check_headers(sheet: Sheet, columns: dict, required: tuple) -> None:
    missing = [h for h in required if h not in sheet.headers]
    unknown = [h for h in sheet.headers if h and h not in columns]
    if missing or unknown:
        fields = {}
        if missing:
            fields["missing_columns"] = missing
        if unknown:
            fields["unknown_columns"] = unknown
        raise Invalid(
            "表头不符合模板："
            + "；".join(
                ([f"缺少列 {'、'.join(missing)}"] if missing else [])
                + ([f"无法识别的列 {'、'.join(unknown)}"] if unknown else [])
            ),
            fields=fields,
            code="bad_header",
        )
    if not sheet.rows:
        raise Invalid("文件中没有数据行", fields={"file": ["文件中没有数据行"]})


def _orgs_in_reach(actor: Actor, codes: set[str]) -> dict[str, Organisation]:
    """The organisations with these codes that the actor may add to: its administered subtree only. Not its
    own branch when that lies outside the subtree (visible, not writable, as in `create_member`).
    Keyed by the folded code (see `_fold`)."""
    if actor.is_super:
        scope = true()
    else:
        root = actor.scope_root()
        if root is None:
            return {}
        scope = Organisation.path.like(root.path + "%")
    found: dict[str, Organisation] = {}
    codes_list = sorted(codes)
    for i in range(0, len(codes_list), 1000):
        chunk = codes_list[i : i + 1000]
        stmt = select(Organisation).where(_case_blind(Organisation.code).in_(chunk), scope)
        found.update({_fold(o.code): o for o in db.session.scalars(stmt)})
    return found


def _case_blind(column):
    """MariaDB's _ci collation already compares case-insensitively (and keeps the index); SQLite needs NOCASE."""
    return column.collate("NOCASE") if db.session.get_bind().dialect.name == "sqlite" else column


def _existing(column, values: set[str], fold: bool = False) -> set[str]:
    """The values already in `column`; with `fold`, matched regardless of case and returned folded."""
    out: set[str] = set()
    values_list = sorted(values)
    target = _case_blind(column) if fold else column
    for i in range(0, len(values_list), 1000):
        found = db.session.scalars(select(column).where(target.in_(values_list[i : i + 1000])))
        out.update(map(_fold, found) if fold else found)
    return out


# ---------------------------------------------------------------- members


def import_members(actor: Actor, sheet: Sheet, progress: Callable[[int], None] | None = None) -> dict:
    """Checks every row, then inserts all members with one-time initial passwords (returned once, in plain).

    Raises Invalid with the row report and writes nothing if any row is bad. Audited as one entry.
    """
    _check_headers(sheet, MEMBER_COLUMNS, MEMBER_REQUIRED)
    report = Report()
    parsed = [_parse_member(i + 2, row, report) for i, row in enumerate(sheet.rows)]
    _check_member_references(actor, parsed, report)
    report.raise_if_any(sheet)
    return _write_members(actor, parsed, sheet.name, progress)


def _parse_member(row_no: int, row: dict, report: Report) -> dict:
    data: dict = {"_row": row_no}
    for header, key in MEMBER_COLUMNS.items():
        raw = row.get(header)
        try:
            value = _member_value(key, raw)
        except ValueError as exc:
            report.add(row_no, header, str(exc))
            continue
        if value is not None:
            data[key] = value
    for header in MEMBER_REQUIRED:
        if MEMBER_COLUMNS[header] not in data and not any(
            e["row"] == row_no and e["column"] == header for e in report.errors[-12:]
        ):
            report.add(row_no, header, "此项必填")
    personal = {
        k: data[k]
        for k in ("name", "mobile", "id_card", "birth_date", "joined_on", "is_floating", "floating_to")
        if k in data
    }
    if "id_card" in data and "birth_date" not in data and not idcard.validate(data["id_card"]):
        data["birth_date"] = idcard.birth_date_of(idcard.normalise(data["id_card"]))
    for key, reasons in check_personal(personal).items():
        report.add(row_no, _header_of(MEMBER_COLUMNS, key), reasons[0])
    return data


def _header_of(columns: dict, key: str) -> str:
    return next((h for h, k in columns.items() if k == key), key)


def _member_value(key: str, raw):
    if key in ("id_card",) and isinstance(raw, int | float) and not isinstance(raw, bool):
        raise ValueError("身份证号请以文本格式填写（数字格式会丢失末位）")
    if key in ("birth_date", "joined_on"):
        return _date(raw)
    text = _text(raw)
    if text == "":
        return None
    if key == "gender":
        if text not in ("男", "女"):
            raise ValueError("性别应为“男”或“女”")
        return Gender.MALE if text == "男" else Gender.FEMALE
    if key == "party_status":
        if text not in ("正式党员", "预备党员"):
            raise ValueError("党员类别应为“正式党员”或“预备党员”")
        return PartyStatus.FULL if text == "正式党员" else PartyStatus.PROBATIONARY
    if key == "is_floating":
        if text.lower() not in YES | NO:
            raise ValueError("应填“是”或“否”")
        return text.lower() in YES
    if key == "id_card":
        return idcard.normalise(text)
    if key == "member_no":
        if not MEMBER_NO_RE.fullmatch(text):
            raise ValueError("党员编号应为4到20位字母或数字")
        if AUTO_MEMBER_NO_RE.fullmatch(text):
            raise ValueError("“DY”加8位数字的编号由系统自动分配，请留空或改用其他编号")
        return text
    limits = {"name": 50, "floating_to": 100, "member_no": 20, "org_code": 32, "mobile": 11}
    if len(text) > limits.get(key, 100):
        raise ValueError(f"最多{limits[key]}个字符")
    return text


def _check_member_references(actor: Actor, parsed: list[dict], report: Report) -> None:
    key = current_app.config["SETTINGS"].data_key
    orgs = _orgs_in_reach(actor, {d["org_code"] for d in parsed if "org_code" in d})
    seen: dict[str, dict[str, int]] = {"mobile": {}, "id_card": {}, "member_no": {}}
    for d in parsed:
        org = orgs.get(_fold(d.get("org_code", "")))
        if "org_code" in d and org is None:
            report.add(d["_row"], "所属组织编码", "组织编码不存在或不在您的管理范围内")
        elif org is not None and (not org.kind.is_branch or not org.active):
            report.add(d["_row"], "所属组织编码", "党员只能编入在册的党支部或联合党支部")
        d["_org"] = org
        for field_ in seen:
            value = d.get(field_)
            if value and field_ == "member_no":
                value = _fold(value)
            if value and value in seen[field_]:
                report.add(d["_row"], _header_of(MEMBER_COLUMNS, field_), f"与第{seen[field_][value]}行重复")
            elif value:
                seen[field_][value] = d["_row"]
    taken_mobiles = _existing(Member.mobile, set(seen["mobile"]))
    taken_nos = _existing(Member.member_no, set(seen["member_no"]), fold=True)
    digests = {idcard.digest(n, key): n for n in seen["id_card"]}
    taken_ids = {digests[x] for x in _existing(Member.id_card_digest, set(digests))}
    for d in parsed:
        if d.get("mobile") in taken_mobiles:
            report.add(d["_row"], "手机号", "手机号已被其他党员使用")
        if d.get("member_no") and _fold(d["member_no"]) in taken_nos:
            report.add(d["_row"], "党员编号", "党员编号已存在")
        if d.get("id_card") in taken_ids:
            report.add(d["_row"], "身份证号", "该身份证号已登记")


def _write_members(actor: Actor, parsed: list[dict], file_name: str, progress) -> dict:
    s = current_app.config["SETTINGS"]
    now, expires = utcnow(), utcnow() + timedelta(days=s.initial_password_days)
    accounts, batch_size = [], 2000
    for start in range(0, len(parsed), batch_size):
        batch = parsed[start : start + batch_size]
        rows, plains = [], []
        for d in batch:
            plain = passwords.new_initial_password()
            plains.append(plain)
            rows.append(
                {
                    "member_no": d.get("member_no"),
                    "name": d["name"],
                    "gender": d["gender"],
                    "birth_date": d.get("birth_date"),
                    "mobile": d["mobile"],
                    "id_card_cipher": idcard.encrypt(d["id_card"], s.data_key) if d.get("id_card") else None,
                    "id_card_digest": idcard.digest(d["id_card"], s.data_key) if d.get("id_card") else None,
                    "party_status": d.get("party_status", PartyStatus.FULL),
                    "joined_on": d.get("joined_on"),
                    "org_id": d["_org"].id,
                    "is_floating": d.get("is_floating", False),
                    "floating_to": d.get("floating_to") if d.get("is_floating") else None,
                    "role": Role.MEMBER,
                    "status": AccountStatus.ACTIVE,
                    "can_view_id_card": False,
                    "password_hash": None,
                    "initial_password_digest": passwords.initial_digest(plain, s.secret_key),
                    "initial_password_expires_at": expires,
                    "must_change_password": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        # Core, not the ORM entity: ORM bulk insert splits a batch wherever rows differ in which values are None.
        table = Member.__table__
        ids = db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).all()
        numbered = [{"id": i, "member_no": f"DY{i:08d}"} for i, r in zip(ids, rows, strict=True) if not r["member_no"]]
        if numbered:
            db.session.execute(update(Member), numbered)
        for member_id, r, plain, d in zip(ids, rows, plains, batch, strict=True):
            accounts.append(
                {
                    "row": d["_row"],
                    "id": member_id,
                    "name": r["name"],
                    "mobile": r["mobile"],
                    "member_no": r["member_no"] or f"DY{member_id:08d}",
                    "initial_password": plain,
                }
            )
        if progress:
            progress(len(batch))
    for org_id, count in Counter(d["_org"].id for d in parsed).items():
        adjust_member_count(org_id, count)
    audit.record(
        actor,
        "member.import",
        "roster",
        None,
        {
            "file": file_name,
            "count": len(accounts),
            "first_id": accounts[0]["id"] if accounts else None,
            "last_id": accounts[-1]["id"] if accounts else None,
        },
    )
    return {"imported": len(accounts), "accounts": accounts}


# ---------------------------------------------------------------- organisations


def import_orgs(actor: Actor, sheet: Sheet, progress: Callable[[int], None] | None = None) -> dict:
    """Checks every row (parents may come later in the same file), then creates the organisations top-down.

    Raises Invalid with the row report and writes nothing if any row is bad.
    """
    _check_headers(sheet, ORG_COLUMNS, ORG_REQUIRED)
    report = Report()
    parsed = [_parse_org(i + 2, row, report) for i, row in enumerate(sheet.rows)]
    order = _plan_orgs(actor, parsed, report)
    report.raise_if_any(sheet)
    created = []
    for d in order:
        parent_id = d["_parent"].id if isinstance(d["_parent"], Organisation) else d["_parent"]["_created"].id
        fields = {
            k: d.get(k)
            for k in ("name", "code", "kind", "level", "contact_phone", "venue_lat", "venue_lng", "venue_coord_sys")
        }
        org = create_org(actor, parent_id=parent_id, **fields)
        d["_created"] = org
        created.append({"row": d["_row"], "id": org.id, "code": org.code, "name": org.name})
        if progress:
            progress(1)
    audit.record(actor, "org.import", "roster", None, {"file": sheet.name, "count": len(created)})
    return {"imported": len(created), "organisations": created}


def _parse_org(row_no: int, row: dict, report: Report) -> dict:
    d: dict = {"_row": row_no}
    for header, key in ORG_COLUMNS.items():
        text = _text(row.get(header))
        if text == "":
            if header in ORG_REQUIRED:
                report.add(row_no, header, "此项必填")
            continue
        try:
            d[key] = _org_value(key, text)
        except ValueError as exc:
            report.add(row_no, header, str(exc))
    if ("venue_lat" in d) != ("venue_lng" in d):
        report.add(row_no, "驻地纬度", "驻地纬度和经度需同时填写")
    if "venue_lat" in d and "venue_lng" in d:
        d.setdefault("venue_coord_sys", CoordSys.WGS84)
        for key in check_position(d["venue_lat"], d["venue_lng"], prefix="venue_"):
            report.add(row_no, _header_of(ORG_COLUMNS, key), "经纬度超出范围")
    return d


def _org_value(key: str, text: str):
    if key == "kind":
        if text not in KIND_BY_LABEL:
            raise ValueError("组织类别应为：" + "、".join(KIND_BY_LABEL))
        return KIND_BY_LABEL[text]
    if key == "level":
        if text not in LEVEL_BY_LABEL:
            raise ValueError("层级应为：市、县区、乡镇街道、村社区")
        return LEVEL_BY_LABEL[text]
    if key == "venue_coord_sys":
        if text.lower() not in COORD_BY_LABEL:
            raise ValueError("坐标系应为 WGS-84 或 GCJ-02")
        return COORD_BY_LABEL[text.lower()]
    if key in ("venue_lat", "venue_lng"):
        try:
            return float(text)
        except ValueError:
            raise ValueError("应为数字") from None
    if key == "code" and not (2 <= len(text) <= 32 and all(c.isalnum() or c in "-_" for c in text) and text.isascii()):
        raise ValueError("组织编码应为2到32位字母、数字、-或_")
    limits = {"name": 100, "contact_phone": 20, "parent_code": 32}
    if len(text) > limits.get(key, 100):
        raise ValueError(f"最多{limits[key]}个字符")
    return text


def _plan_orgs(actor: Actor, parsed: list[dict], report: Report) -> list[dict]:
    """Resolves parents (in the database within scope, or earlier/later in the file) and returns a top-down order."""
    in_file: dict[str, dict] = {}  # folded code → row
    for d in parsed:
        code = _fold(d["code"]) if d.get("code") else None
        if code in in_file:
            report.add(d["_row"], "组织编码", f"与第{in_file[code]['_row']}行重复")
        elif code:
            in_file[code] = d
    for code in _existing(Organisation.code, {d["code"] for d in in_file.values()}, fold=True):
        report.add(in_file[code]["_row"], "组织编码", "组织编码已存在")
    db_parents = _orgs_in_reach(actor, {d["parent_code"] for d in parsed if d.get("parent_code")})
    order, placed = [], set()
    pending = [d for d in parsed if d.get("code") and d.get("parent_code")]
    while pending:
        progressed = []
        for d in pending:
            parent_code = _fold(d["parent_code"])
            parent = db_parents.get(parent_code) or in_file.get(parent_code)
            if parent is None:
                report.add(d["_row"], "上级组织编码", "上级组织不存在或不在您的管理范围内")
                progressed.append(d)
                continue
            if isinstance(parent, dict) and _fold(parent["code"]) not in placed:
                continue  # wait for the parent row
            d["_parent"] = parent
            _check_org_placement(actor, d, parent, report)
            placed.add(_fold(d["code"]))
            order.append(d)
            progressed.append(d)
        if not progressed:
            for d in pending:
                report.add(d["_row"], "上级组织编码", _stuck_reason(d, in_file, pending))
            break
        pending = [d for d in pending if d not in progressed]
    return order


def _stuck_reason(d: dict, in_file: dict[str, dict], pending: list[dict]) -> str:
    """Why a row waits for ever: its parents in the file loop back, or one of them has errors of its own."""
    waiting = {id(p) for p in pending}
    seen: set[int] = set()
    row = d
    while id(row) not in seen:
        seen.add(id(row))
        parent = in_file[_fold(row["parent_code"])]
        if id(parent) not in waiting:
            return f"上级组织（第{parent['_row']}行）有误"
        row = parent
    return "上级组织编码形成循环"


def _check_org_placement(actor: Actor, d: dict, parent, report: Report) -> None:
    if "kind" not in d or "level" not in d:
        return
    if isinstance(parent, Organisation):
        if not actor.is_super and actor.scope_root() is None:
            report.add(d["_row"], "上级组织编码", "无权在该组织下新建组织")
            return
        parent_view = parent
    else:
        if "kind" not in parent or "level" not in parent:
            return
        parent_view = _Virtual(parent["kind"], parent["level"])
    try:
        check_placement(d["kind"], d["level"], parent_view)
    except Invalid as exc:
        column = "层级" if "level" in exc.fields else "上级组织编码"
        report.add(d["_row"], column, exc.message)


@dataclass
class _Virtual:
    """A parent that is itself a row of the same file, for the placement rules."""

    kind: OrgKind
    level: OrgLevel
    active: bool = True
