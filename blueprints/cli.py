"""Command-line entry points: `flask --app app <command>`. Each commits once at its end."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from models import Organisation, Role, db
from models.member import ROLE_LABELS
from services import roster_import
from services.authz import SYSTEM
from services.errors import AppError
from services.wechat_accounts import bind_demo_openids


def account_label(role: str) -> str:
    """The Chinese label of a demo account's `role`: a member role, or "cadre" (a member assigned to a village)."""
    return "驻村干部" if role == "cadre" else ROLE_LABELS[Role(role)]


def _fail(exc: AppError) -> click.ClickException:
    rows = exc.extra.get("rows") or []
    lines = [exc.message] + [f"  第{r['row']}行 {r['column']}：{r['reason']}" for r in rows[:50]]
    if len(rows) > 50:
        lines.append(f"  ……另有{len(rows) - 50}处")
    lines += [f"  {k}：{'；'.join(map(str, v))}" for k, v in exc.fields.items()]
    return click.ClickException("\n".join(lines))


@click.command("seed-demo")
@click.option("--scale", type=click.Choice(["small", "city"]), default="small", show_default=True)
@click.option("--accounts-out", type=click.Path(dir_okay=False), help="把演示账号写入此 JSON 文件")
@click.option("--quiet", is_flag=True, help="不显示进度条")
@with_appcontext
def seed_demo_command(scale: str, accounts_out: str | None, quiet: bool) -> None:
    """Fills an empty database with a generated demo city."""
    from services.seed import seed_demo

    try:
        summary = seed_demo(scale, accounts_out=accounts_out, progress=not quiet)
    except AppError as exc:
        raise _fail(exc) from exc
    meetings = summary["meetings"]
    click.echo(
        f"已生成 {summary['organisations']} 个组织、{summary['members']} 名党员、{meetings['meetings']} 次会议"
        f"（{meetings['photos']} 张照片）、{summary['duty']['cadres']} 名驻村干部，用时 {summary['seconds']:.1f} 秒"
    )


@click.command("import-roster")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["orgs", "members"]), required=True)
@click.option("--passwords-out", type=click.Path(dir_okay=False), help="导入党员时把一次性初始密码写入此 JSON 文件")
@with_appcontext
def import_roster_command(path: str, kind: str, passwords_out: str | None) -> None:
    """Imports organisations or members from .xlsx/.csv, all rows or none."""
    try:
        sheet = roster_import.read_roster(Path(path).name, Path(path).read_bytes())
        with click.progressbar(length=len(sheet.rows), label="写入") as bar:
            run = roster_import.import_members if kind == "members" else roster_import.import_orgs
            result = run(SYSTEM, sheet, progress=bar.update)
    except AppError as exc:
        db.session.rollback()
        raise _fail(exc) from exc
    db.session.commit()
    if kind == "members" and passwords_out:
        Path(passwords_out).write_text(json.dumps(result["accounts"], ensure_ascii=False, indent=1), "utf-8")
    click.echo(f"已导入 {result['imported']} 条")


@click.command("export-members")
@click.option("--org-code", required=True, help="导出该组织及其全部下级的党员")
@click.option("--out", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def export_members_command(org_code: str, out: str) -> None:
    """Writes the member roster of a subtree to .xlsx (ID-card numbers masked)."""
    from services.exports import write_members_xlsx
    from services.orgs import subtree_stats

    org = db.session.scalar(select(Organisation).where(Organisation.code == org_code))
    if org is None:
        raise click.ClickException("组织编码不存在")
    with click.progressbar(length=subtree_stats(org)["members"], label="导出") as bar:
        count = write_members_xlsx(org, out, progress=bar.update)
    click.echo(f"已导出 {count} 名党员到 {out}")


@click.command("set-password")
@click.argument("username")
@click.password_option()
@click.option("--super-admin", is_flag=True, help="同时设为系统管理员")
@with_appcontext
def set_password_command(username: str, password: str, super_admin: bool) -> None:
    """Sets an account's password (policy applies); the operator's way in on a new installation."""
    from services import accounts, passwords

    member = accounts.find_account(username)
    if member is None:
        raise click.ClickException("账号不存在")
    problem = passwords.policy_problem(password, personal=(member.mobile,))
    if problem:
        raise click.ClickException(problem)
    accounts.set_password_directly(member, password)
    if super_admin:
        member.role, member.managed_org_id = Role.SUPER_ADMIN, None
    db.session.commit()
    click.echo(f"已设置 {member.name}（{member.mobile}）的密码")


@click.command("recount-members")
@with_appcontext
def recount_members_command() -> None:
    """Recomputes the per-organisation member counters from the member rows."""
    from services.orgs import recount_members

    wrong = recount_members()
    db.session.commit()
    click.echo(f"已重新统计；{wrong} 个组织的计数有误并已更正")


@click.command("rebuild-meeting-tallies")
@with_appcontext
def rebuild_meeting_tallies_command() -> None:
    """Recounts the meeting statistics' tallies from the meetings (after rows were written around the ORM)."""
    from services.meeting_tallies import rebuild

    rows = rebuild()
    db.session.commit()
    click.echo(f"已重新统计会议台账：{rows} 行")


def demo_accounts_path() -> Path:
    return Path(current_app.instance_path) / "demo-accounts.json"


@click.command("demo-setup")
@with_appcontext
def demo_setup_command() -> None:
    """Brings the database to the latest schema, seeds the small demo city once, and prints the logins."""
    from flask_migrate import upgrade

    from services.seed import seed_demo

    upgrade()
    path = demo_accounts_path()
    if db.session.scalar(select(Organisation.id).limit(1)) is None:
        seed_demo("small", accounts_out=str(path), progress=True)
    if not path.exists():
        raise click.ClickException(f"数据库已有数据但缺少 {path}；运行 make clean-demo 后重试")
    accounts = json.loads(path.read_text("utf-8"))["accounts"]
    if current_app.config["SETTINGS"].wechat_sandbox:
        bind_demo_openids([a["username"] for a in accounts])
        db.session.commit()
    click.echo("\n演示账号（密码相同；在微信沙箱页可用 openid「demo-手机号」模拟微信登录）：")
    for a in accounts:
        click.echo(
            f"  {account_label(a['role']):<8} {a['username']}  {a['password']}  "
            f"{a.get('org_name', '')}（组织ID {a['org_id']}）"
        )
    click.echo("\n服务地址 http://127.0.0.1:5000  接口文档 http://127.0.0.1:5000/api/docs")
    click.echo("微信沙箱发件箱 http://127.0.0.1:5000/_sandbox/wechat/\n")


def register_cli(app) -> None:
    from tasks.reminders import reminders_cli
    from tasks.worker import worker_command

    for command in (
        seed_demo_command,
        import_roster_command,
        export_members_command,
        set_password_command,
        worker_command,
        demo_setup_command,
        recount_members_command,
        rebuild_meeting_tallies_command,
        reminders_cli,
    ):
        app.cli.add_command(command)
