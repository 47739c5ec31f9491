"""The official-account bot's answers: the command texts (积分, 会议, 待办, 帮助) from the project's services, and a
location as a duty check-in (services.duty_checkins judges it, as from the mini-program).

Every text is Chinese and fits a passive reply (WeChat's limit: 2048 bytes of content). Read-only except the
check-in, which is flushed for the view to commit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select

from models import (
    CheckinKind,
    DutyAssignment,
    DutyCheckin,
    KindAudience,
    Meeting,
    MeetingKind,
    MeetingStatus,
    Member,
    Notification,
    NotificationStatus,
    Organisation,
    OrgKind,
    db,
)
from services import duty_checkins, learning_due, learning_points, meeting_due  # noqa: F401 - due-item providers
from services.authz import Actor
from services.errors import AppError
from services.home import due_items
from services.meetings import LEADERSHIP_LEVELS, period_of
from services.wechat_accounts import identity_of

TEXT_LIMIT_BYTES = 2048  # WeChat's limit on a passive text reply's content
SHOWN = 5  # items per list in a reply
RESULT_LABELS = {"inside": "在村（范围内）", "outside": "不在范围内", "uncertain": "无法确定是否在村"}
TIMING_LABELS = {"on_time": "正常", "early": "早到/早退", "late": "迟到", "off_roster": "非值班时间"}
CADENCE_UNITS = {"month": "本月", "quarter": "本季度", "year": "本年"}
BIND_HOW = "请在小程序“我的”页点“绑定公众号”获取6位绑定码，然后在这里发送“绑定 绑定码”，例如：绑定 123456"
COMMAND_LIST = (
    "积分 — 我的学习积分\n"
    "会议 — 本支部近期会议和逾期情况\n"
    "待办 — 我的未读提醒和待办事项\n"
    "发送位置 — 驻村干部值班签到\n"
    "解绑 — 解除与党员账号的绑定\n"
    "帮助 — 显示本说明"
)


def _zone():
    return current_app.config["SETTINGS"].zone


def fit(text: str) -> str:
    """`text` cut to WeChat's byte limit (on a character boundary), marked with … when cut."""
    if len(text.encode()) <= TEXT_LIMIT_BYTES:
        return text
    cut = text.encode()[: TEXT_LIMIT_BYTES - len("…".encode())].decode(errors="ignore")
    return cut + "…"


def _local(at: datetime, fmt: str = "%m月%d日 %H:%M") -> str:
    return at.astimezone(_zone()).strftime(fmt)


# ---- fixed texts -------------------------------------------------------------------------------------------


def welcome(member: Member | None, returning: bool = False) -> str:
    if member is None:
        return f"欢迎关注智慧党建云！\n绑定党员账号后，可在这里查询积分、会议和待办，并接收提醒。\n{BIND_HOW}"
    lead = f"欢迎回来，{member.name}！已恢复与党员账号的绑定。" if returning else f"欢迎你，{member.name}！"
    return f"{lead}\n发送以下指令使用：\n{COMMAND_LIST}"


def help_text(member: Member | None) -> str:
    if member is None:
        return fit(f"你还没有绑定党员账号。\n{BIND_HOW}\n\n绑定后可用的指令：\n{COMMAND_LIST}")
    return fit(f"{member.name}，你可以发送：\n{COMMAND_LIST}")


def not_bound() -> str:
    return f"你还没有绑定党员账号，暂时无法使用该功能。\n{BIND_HOW}"


def bind_usage() -> str:
    return "绑定码为6位数字，请发送“绑定 绑定码”，例如：绑定 123456"


def bad_code() -> str:
    return "绑定码无效或已过期，请在小程序“我的”页重新获取后再试。"


def too_many_attempts(minutes: int) -> str:
    return f"绑定码错误次数过多，请{minutes}分钟后再试。"


def already_bound(member: Member) -> str:
    return f"本微信已绑定党员账号（{member.name}）。如需改绑，请先发送“解绑”。"


def account_disabled() -> str:
    return "你的党员账号已停用，请联系所在党组织。"


def bound(member: Member) -> str:
    return f"绑定成功！{member.name}（{member.org.name}），今后会议、学习和值班提醒将通过本公众号发送。\n{COMMAND_LIST}"


def unbound() -> str:
    return "已解除公众号与党员账号的绑定，你将不再收到提醒。重新绑定请在小程序获取绑定码。"


# ---- 积分 --------------------------------------------------------------------------------------------------


def points(member: Member, now: datetime) -> str:
    s = learning_points.summary(member)
    lines = [f"{member.name}的学习积分", f"累计：{s['total']}分", f"今日：{s['today']}分"]
    capped = [(rule, got) for rule, got in s["rules"] if rule.daily_cap]
    if capped:
        lines.append("今日各项：")
        lines += [f"· {rule.name}：{got}/{rule.daily_cap}分" for rule, got in capped]
    return fit("\n".join(lines))


# ---- 会议 --------------------------------------------------------------------------------------------------


def _previous_period(cadence: str, now_local: datetime) -> str:
    if cadence == "month":
        first = now_local.replace(day=1)
        prev = first - timedelta(days=1)
        return f"{prev.year}-{prev.month:02d}"
    if cadence == "quarter":
        q = (now_local.month - 1) // 3 + 1
        return f"{now_local.year - 1}Q4" if q == 1 else f"{now_local.year}Q{q - 1}"
    return str(now_local.year - 1)


def _period_label(label: str) -> str:
    if "Q" in label:
        year, q = label.split("Q")
        return f"{year}年第{q}季度"
    if "-" in label:
        year, month = label.split("-")
        return f"{year}年{int(month)}月"
    return f"{label}年"


def _kinds_for(org) -> list[MeetingKind]:
    if org.kind in (OrgKind.BRANCH, OrgKind.JOINT_BRANCH):
        audience = KindAudience.BRANCH
    elif org.level in LEADERSHIP_LEVELS:
        audience = KindAudience.LEADERSHIP
    else:
        return []
    stmt = select(MeetingKind).where(MeetingKind.active.is_(True), MeetingKind.audience == audience)
    return list(db.session.scalars(stmt.order_by(MeetingKind.sort_order, MeetingKind.id)))


def _held_counts(org_id: int, periods: list[str]) -> dict[tuple[int, str], int]:
    rows = db.session.execute(
        select(Meeting.kind_id, Meeting.period, func.count(Meeting.id))
        .where(Meeting.org_id == org_id, Meeting.period.in_(periods), Meeting.status != MeetingStatus.PLANNED)
        .group_by(Meeting.kind_id, Meeting.period)
    ).all()
    return {(kind_id, period): count for kind_id, period, count in rows}


def meetings(member: Member, now: datetime) -> str:
    """The branch's next planned meetings, this period's progress per kind, and kinds missed last period."""
    org = member.org
    upcoming = db.session.scalars(
        select(Meeting)
        .where(Meeting.org_id == org.id, Meeting.status == MeetingStatus.PLANNED, Meeting.ends_at >= now)
        .order_by(Meeting.starts_at)
        .limit(SHOWN)
    ).all()
    lines = [f"{org.name}的组织生活", "近期会议："]
    lines += [f"· {_local(m.starts_at)} {m.title}" for m in upcoming] or ["· 暂无已计划的会议"]
    kinds = _kinds_for(org)
    if kinds:
        now_local = now.astimezone(_zone())
        current = {k.id: period_of(k.cadence, now) for k in kinds}
        previous = {k.id: _previous_period(k.cadence.value, now_local) for k in kinds}
        held = _held_counts(org.id, sorted({*current.values(), *previous.values()}))
        lines.append("本期进度：")
        for k in kinds:
            done = min(held.get((k.id, current[k.id]), 0), k.times_per_period)
            lines.append(f"· {k.name}：{CADENCE_UNITS[k.cadence.value]}已开{done}/{k.times_per_period}次")
        missed = [k for k in kinds if held.get((k.id, previous[k.id]), 0) < k.times_per_period]
        lines.append("逾期未开：" if missed else "上期应开会议均已召开。")
        lines += [f"· {k.name}（{_period_label(previous[k.id])}）" for k in missed]
    return fit("\n".join(lines))


# ---- 待办 --------------------------------------------------------------------------------------------------


def todo(member: Member, now: datetime) -> str:
    """Unread notifications of the inbox, then the member's due items (as on the mini-program's home page)."""
    unread = (
        Notification.member_id == member.id,
        Notification.read_at.is_(None),
        Notification.status != NotificationStatus.CANCELLED,
    )
    count = db.session.scalar(select(func.count(Notification.id)).where(*unread)) or 0
    latest = db.session.scalars(select(Notification).where(*unread).order_by(Notification.id.desc()).limit(SHOWN))
    lines = [f"未读提醒{count}条：" if count else "没有未读提醒。"]
    lines += [f"· {n.title}" + (f"（{_local(n.due_at)}前）" if n.due_at else "") for n in latest]
    actor = Actor(member)
    items = due_items(actor, wechat_bound=identity_of(member) is not None)[:SHOWN]
    lines.append("待办事项：" if items else "暂无待办事项。")
    for item in items:
        due = f"（{_local(item.due_at)}前）" if item.due_at else ""
        lines.append(f"· {item.title}{due}")
    lines.append("详情请在小程序中查看。")
    return fit("\n".join(lines))


COMMANDS = {"积分": points, "会议": meetings, "待办": todo, "帮助": lambda member, now: help_text(member)}


# ---- location → duty check-in ------------------------------------------------------------------------------


def _assignment_on(member: Member, day) -> DutyAssignment | None:
    stmt = (
        select(DutyAssignment)
        .where(DutyAssignment.member_id == member.id, DutyAssignment.starts_on <= day)
        .where(or_(DutyAssignment.ends_on.is_(None), DutyAssignment.ends_on >= day))
        .order_by(DutyAssignment.starts_on.desc(), DutyAssignment.id)
        .limit(1)
    )
    return db.session.scalar(stmt)


def _sent_at(message) -> datetime:
    return datetime.fromtimestamp(int(message._data["CreateTime"]), UTC)


def _checkin(member: Member, assignment: DutyAssignment, **data) -> tuple[DutyCheckin, bool]:
    data.update(org_id=assignment.org_id, kind=CheckinKind.CHECKIN)
    return duty_checkins.record_checkin(Actor(member), data)


def location_message_checkin(member: Member, message, now: datetime) -> str:
    """A location sent in the chat (a point on Tencent Maps, GCJ-02, no accuracy: WECHAT_OA_LOCATION_ACCURACY_M)
    as a check-in at the village the cadre is assigned to that day; its MsgId makes the client_id."""
    read_at = _sent_at(message)
    assignment = _assignment_on(member, read_at.astimezone(_zone()).date())
    if assignment is None:
        return "你今天没有驻村值班安排，位置未作值班签到。"
    label = (message.label or "").strip()
    try:
        row, _created = _checkin(
            member,
            assignment,
            client_id=f"oa-msg-{message.id}",
            latitude=float(message.location_x),
            longitude=float(message.location_y),
            accuracy=current_app.config["SETTINGS"].wechat_oa_location_accuracy_m,
            coord_sys="gcj02",
            read_at=read_at,
            remark=f"公众号发送位置（地图选点）：{label}"[:200],
        )
    except (AppError, ValueError, TypeError) as exc:
        return f"值班签到未成功：{getattr(exc, 'message', '位置数据有误')}"
    return fit(_checkin_text(row))


def location_event_checkin(member: Member, message, now: datetime) -> DutyCheckin | None:
    """The position WeChat reports when the cadre opens the chat (with its precision) as a check-in, at most one
    per WECHAT_OA_LOCATION_EVENT_GAP_MINUTES per village; client_id from CreateTime. Refusals are dropped: no
    reply can be given to this event."""
    settings = current_app.config["SETTINGS"]
    read_at = _sent_at(message)
    assignment = _assignment_on(member, read_at.astimezone(_zone()).date())
    if assignment is None:
        return None
    recent = db.session.scalar(
        select(DutyCheckin.id).where(
            DutyCheckin.member_id == member.id,
            DutyCheckin.org_id == assignment.org_id,
            DutyCheckin.read_at > read_at - timedelta(minutes=settings.wechat_oa_location_event_gap_minutes),
        )
    )
    if recent is not None:
        return None
    try:
        row, _created = _checkin(
            member,
            assignment,
            client_id=f"oa-evt-{int(message._data['CreateTime'])}",
            latitude=message.latitude,
            longitude=message.longitude,
            accuracy=message.precision if message.precision and message.precision > 0 else None,
            coord_sys=settings.wechat_oa_event_coord_sys,
            read_at=read_at,
            remark="公众号自动上报位置",
        )
    except AppError:
        return None
    return row


def _checkin_text(row: DutyCheckin) -> str:
    reasons = row.reasons or {}
    lines = [
        f"值班签到已记录：{db.session.get(Organisation, row.org_id).name}",
        f"时间：{_local(row.read_at)}",
        f"结果：{RESULT_LABELS[row.result.value]}（{reasons.get('result', '')}）",
        f"时段：{TIMING_LABELS[row.timing.value]}",
    ]
    flags = (reasons.get("flags") or {}).values()
    if flags:
        lines.append("异常提示：" + "；".join(flags))
    lines.append("提示：位置消息为地图选点，仅供参考，请尽量在小程序中定位签到。")
    return "\n".join(lines)
