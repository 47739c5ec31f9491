"""The demo city's learning: channels, courses with lessons and media, a question bank, tests, and a month of study.

Called by services.seed.seed_demo after the members exist; deterministic apart from dates relative to today.
- Channels: 网络学院 (always open) and a 主题教育 campaign running now (started 20 days ago, ends in 70 days).
- Courses for the whole city: a compulsory one in the campaign with a deadline, electives in the academy. Articles
  are generated Chinese text on party-building study topics (no real persons); audio lessons are generated WAV tones
  (the `wave` module); slides are a generated PDF (Pillow, with a CJK font when one is installed). Media go through
  the storage adapter, as uploads do.
- A question bank of 40 questions with explanations (rules of organisational life, the Party constitution's basic
  provisions), a test drawn from it and the daily quiz.
- Thirty days of points for the demo townships' members and a sample elsewhere (logins, articles, media time,
  quiz; some proxy study), the day tallies the caps read, and progress on the compulsory course, written in bulk;
  then the leaderboards' rollups are rebuilt from the ledger.
"""

from __future__ import annotations

import io
import math
import random
import wave
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from flask import current_app
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import insert, select

from models import (
    AccountStatus,
    ChannelKind,
    Course,
    CourseAudience,
    CourseStatus,
    CourseTrack,
    Exam,
    LearningChannel,
    Lesson,
    LessonKind,
    LessonProgress,
    Member,
    Organisation,
    PointDaily,
    PointEntry,
    Question,
    QuestionKind,
    StudyDay,
    db,
)
from models.base import utcnow
from services import learning_points as points
from services import learning_ranks as ranks
from services.learning_lessons import READING_CHARS_PER_MINUTE
from services.photo_watermark import choose_font
from services.storage import storage

SEED = 20261204
HISTORY_DAYS = 30
CITY_SAMPLE = 1500  # members outside the demo townships with a study history, at city scale
BATCH = 5000

TOPICS = {
    "党章学习": ("党章是党的根本大法", "学习党章、遵守党章、贯彻党章、维护党章", "党员的义务和权利", "党的纪律"),
    "组织生活": ("三会一课", "主题党日", "组织生活会", "民主评议党员"),
    "乡村振兴": ("村集体经济", "产业发展", "人居环境整治", "村规民约"),
    "基层治理": ("网格化服务", "三务公开", "矛盾纠纷调解", "党员联系户"),
    "作风建设": ("密切联系群众", "调查研究", "廉洁自律", "为民办实事"),
}
OPENERS = (
    "{t}是基层党组织建设的重要内容。",
    "做好{t}工作，关键在于把要求落到实处。",
    "围绕{t}，各党支部结合实际开展了形式多样的学习。",
    "抓好{t}，要坚持问题导向，注重实际效果。",
)
BODIES = (
    "党员要把学习作为一种习惯，利用碎片时间认真学、反复学，做到学而信、学而用、学而行。",
    "支部书记要履行好第一责任人职责，带头讲党课，带头参加组织生活，带头联系服务群众。",
    "要把学习成效体现在推动发展、服务群众的具体行动上，让群众看到实实在在的变化。",
    "对照标准查找差距，列出问题清单，明确整改措施和完成时限，做到件件有着落、事事有回音。",
    "坚持集中学习与个人自学相结合，线上学习与线下交流相结合，增强学习的针对性和实效性。",
    "年龄较大、行动不便的党员，可由支部安排专人送学上门，确保学习教育全覆盖。",
    "流动党员要主动与所在党组织保持联系，按时参加线上学习，按期交纳党费。",
    "要及时公开党务、村务、财务，接受党员群众监督，让权力在阳光下运行。",
    "在防汛救灾、疫情防控、秋收秋种等急难险重任务中，党员要冲在前、干在先。",
    "学习不是一阵子的事，要建立长效机制，把经常性教育和集中性教育结合起来。",
)
CLOSERS = (
    "全体党员要以此次学习为契机，把学习成果转化为干事创业的实际行动。",
    "让我们坚定信心、真抓实干，以基层党建的新成效推动各项工作再上新台阶。",
    "各党支部要认真组织，确保学习有记录、讨论有发言、整改有落实。",
)


# The question bank: basic provisions of the Party constitution and of the branch work regulations, as in any
# study app's bank. Per question: "kind|topic|answer keys", the stem, the options split by "/" (none for true/false,
# whose options are 正确/错误), the explanation; a blank line between questions.
BANK = """
单选|党章党规|A
党的最高领导机关是（　）。
党的全国代表大会和它所产生的中央委员会/中央政治局/中央纪律检查委员会/中央书记处
党章规定：党的最高领导机关，是党的全国代表大会和它所产生的中央委员会。

单选|党章党规|B
预备党员的预备期为（　）。
半年/一年/两年/三年
党章规定：预备党员的预备期为一年。

单选|党章党规|C
党的全国代表大会每（　）年举行一次。
三/四/五/六
党的全国代表大会每五年举行一次，由中央委员会召集。

单选|党章党规|B
党的地方各级代表大会每（　）年举行一次。
三/五/两/四
党章规定：党的地方各级代表大会每五年举行一次。

单选|党章党规|B
党的根本宗旨是（　）。
实事求是/全心全意为人民服务/艰苦奋斗/与时俱进
全心全意为人民服务是党的根本宗旨。

单选|党章党规|B
党的根本组织原则是（　）。
集体领导/民主集中制/个人分工负责/少数服从多数
党是根据自己的纲领和章程，按照民主集中制组织起来的统一整体。

单选|党章党规|B
党的最高理想和最终目标是（　）。
全面建成小康社会/实现共产主义/实现现代化/共同富裕
党的最高理想和最终目标是实现共产主义。

单选|党章党规|C
党的思想路线的核心是（　）。
解放思想/与时俱进/实事求是/求真务实
党的思想路线是一切从实际出发，理论联系实际，实事求是，在实践中检验真理和发展真理。

单选|党章党规|C
留党察看最长不超过（　）。
半年/一年/两年/三年
党章规定：留党察看最长不超过两年。

单选|党章党规|B
年满（　）岁的中国工人、农民、军人、知识分子和其他社会阶层的先进分子，可以申请加入中国共产党。
十六/十八/二十/二十二
党章规定年满十八岁可以申请入党。

单选|发展党员|B
申请入党的人，要有（　）名正式党员作介绍人。
一/两/三/四
申请入党的人，要填写入党志愿书，要有两名正式党员作介绍人。

单选|发展党员|C
入党积极分子一般要经过（　）以上的培养教育和考察，才能列为发展对象。
三个月/半年/一年/两年
发展党员工作细则：入党积极分子经过一年以上培养教育和考察，方可列为发展对象。

单选|党章党规|A
企业、农村、机关、学校等基层单位，凡是有正式党员（　）人以上的，都应当成立党的基层组织。
三/五/七/十
党章规定：凡是有正式党员三人以上的，都应当成立党的基层组织。

单选|组织生活|B
党支部党员大会一般（　）召开一次。
每月/每季度/每半年/每年
支部工作条例：党员大会一般每季度召开一次。

单选|组织生活|B
党支部委员会会议一般（　）召开一次。
每周/每月/每季度/每半年
支部委员会会议一般每月召开一次。

单选|组织生活|B
党小组会一般（　）召开一次。
每周/每月/每季度/每年
党小组会一般每月召开一次。

单选|组织生活|B
党课一般（　）至少开展一次。
每月/每季度/每半年/每年
党支部每季度至少上一次党课。

单选|组织生活|C
组织生活会一般（　）召开一次。
每季度/每半年/每年/每两年
组织生活会一般每年召开一次。

单选|组织生活|B
主题党日一般（　）开展一次。
每周/每月/每季度/每年
党支部每月相对固定一天开展主题党日。

单选|组织生活|C
民主评议党员一般（　）开展一次。
每季度/每半年/每年/每两年
民主评议党员一般每年开展一次。

单选|党章党规|D
党员的党龄，从（　）之日算起。
递交入党申请书/列为入党积极分子/支部大会通过为预备党员/预备期满转为正式党员
党章规定：党员的党龄，从预备期满转为正式党员之日算起。

单选|发展党员|C
发展对象的短期集中培训，时间一般不少于（　）天或不少于24个学时。
一/二/三/五
发展党员工作细则：集中培训时间一般不少于三天或不少于24个学时。

多选|组织生活|ABCD
“三会一课”包括（　）。
支部党员大会/支部委员会/党小组会/党课
三会一课：定期召开支部党员大会、支部委员会、党小组会，按时上好党课。

多选|党章党规|ABCD
党的纪律处分有（　）。
警告、严重警告/撤销党内职务/留党察看/开除党籍
党章规定的纪律处分有五种：警告、严重警告、撤销党内职务、留党察看、开除党籍。

多选|党章党规|ABC
党的三大优良作风是（　）。
理论联系实际/密切联系群众/批评与自我批评/艰苦奋斗
理论联系实际、密切联系群众、批评与自我批评是党的三大优良作风。

多选|基层治理|ABC
“三务公开”是指（　）公开。
党务/村务/财务/商务
三务公开即党务、村务、财务公开。

多选|党章党规|ABC
民主集中制的基本原则包括（　）。
党员个人服从党的组织/少数服从多数/下级组织服从上级组织/上级组织服从下级组织
党员个人服从党的组织，少数服从多数，下级组织服从上级组织，全党各个组织和全体党员服从党的全国代表大会和中央委员会。

多选|组织生活|ABC
会议记录应当包括的证据有（　）。
现场照片/会议记录/应到和实到人员/会后聚餐照片
会议的证据：带时间和位置的现场照片、会议记录、应到和实到人员名单。

多选|党章党规|ABC
预备党员没有以下哪些权利（　）。
表决权/选举权/被选举权/参加党的有关会议
预备党员的权利，除了没有表决权、选举权和被选举权以外，同正式党员一样。

多选|作风建设|ABD
党员在学习教育中应当做到（　）。
按时参加组织生活/认真完成必修课程/由他人代为答题/联系实际查找差距
学习贵在真学真用，代答题不是学习。

判断|党章党规|T
党员有义务按期交纳党费。
按期交纳党费是党员的义务。

判断|党章党规|T
党员没有正当理由，连续六个月不参加党的组织生活，或不交纳党费，或不做党所分配的工作，就被认为是自行脱党。
党章第九条的规定。

判断|党章党规|F
预备党员享有表决权。
预备党员没有表决权、选举权和被选举权。

判断|发展党员|T
发展党员，必须经过党的支部，坚持个别吸收的原则。
党章规定：发展党员，必须经过党的支部，坚持个别吸收的原则。

判断|组织生活|T
党员领导干部应当以普通党员身份参加所在党支部或党小组的组织生活。
这是党内政治生活的基本要求。

判断|组织生活|T
支部党员大会须有半数以上有表决权的党员到会方可进行。
支部工作条例对党员大会到会人数的要求。

判断|党章党规|F
党的纪律处分中，撤销党内职务是最重的处分。
开除党籍是党内的最高处分。

判断|组织生活|F
流动党员外出期间可以不参加任何组织生活。
流动党员应与党组织保持联系，参加组织生活，按期交纳党费。

判断|作风建设|F
学习积分可以请他人代刷，只要分数够就行。
积分应反映本人真实的学习；代学须如实标注，且不计入排行。

判断|基层治理|T
村集体经济收入情况应当向党员群众公开。
财务公开是三务公开的内容。
"""
KINDS = {"单选": QuestionKind.SINGLE, "多选": QuestionKind.MULTIPLE, "判断": QuestionKind.JUDGE}
JUDGE_OPTIONS = [{"key": "T", "text": "正确"}, {"key": "F", "text": "错误"}]


def questions() -> list[tuple]:
    """(kind, topic, stem, options, answer keys, explanation) of each question in BANK."""
    out = []
    for block in BANK.strip().split("\n\n"):
        head, stem, *rest = block.split("\n")
        label, topic, keys = head.split("|")
        kind = KINDS[label]
        if kind == QuestionKind.JUDGE:
            options, explanation = JUDGE_OPTIONS, rest[0]
        else:
            options = [{"key": "ABCDEFGH"[i], "text": t} for i, t in enumerate(rest[0].split("/"))]
            explanation = rest[1]
        out.append((kind, topic, stem, options, list(keys), explanation))
    return out


def article(rng: random.Random, topic: str, paragraphs: int) -> str:
    """A generated article on `topic`: paragraphs of template sentences about its sub-topics."""
    subs = TOPICS[topic]
    out = []
    for p in range(paragraphs):
        opener = rng.choice(OPENERS).format(t=subs[p % len(subs)])
        out.append(opener + "".join(rng.sample(BODIES, 3)))
    out.append(rng.choice(CLOSERS))
    return "\n\n".join(out)


def tone_wav(seconds: int, pitch: float) -> bytes:
    """A soft two-note tone, 8 kHz 8-bit mono (about 8 KB a second)."""
    rate, buf = 8000, io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        frames = bytearray()
        for i in range(seconds * rate):
            f = pitch if (i // rate) % 2 == 0 else pitch * 1.25
            frames.append(128 + int(40 * math.sin(2 * math.pi * f * i / rate)))
        w.writeframes(bytes(frames))
    return buf.getvalue()


def slides_pdf(title: str, pages: list[str]) -> bytes:
    """A small PDF of slides drawn with Pillow (Chinese with a CJK font; Latin page numbers without one)."""
    choice = choose_font()

    def font(size):
        return (
            ImageFont.truetype(choice.path, size, index=choice.index) if choice.path else ImageFont.load_default(size)
        )

    images = []
    for n, text in enumerate([title, *pages], start=1):
        im = Image.new("RGB", (960, 540), (255, 255, 255))
        draw = ImageDraw.Draw(im)
        draw.rectangle((0, 0, 960, 70), fill=(178, 34, 34))
        if choice.cjk:
            draw.text((40, 18), title, font=font(30), fill=(255, 255, 255))
            for i in range(0, len(text), 24):
                draw.text((60, 120 + i * 2), text[i : i + 24], font=font(26), fill=(40, 40, 40))
        draw.text((880, 500), f"{n}", font=font(20), fill=(120, 120, 120))
        images.append(im)
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=96)
    return out.getvalue()


def _lesson(course: Course, title: str, kind: LessonKind, order: int, **fields) -> Lesson:
    lesson = Lesson(course=course, title=title, kind=kind, sort_order=order, **fields)
    db.session.add(lesson)
    return lesson


def _store(lesson: Lesson, data: bytes, content_type: str, ext: str, key: str) -> None:
    storage().put_bytes(f"learning/demo/{key}.{ext}", data, content_type)
    lesson.media_key, lesson.media_type, lesson.media_bytes = f"learning/demo/{key}.{ext}", content_type, len(data)


def _article_lesson(course, rng, title, topic, order, paragraphs=5) -> Lesson:
    body = article(rng, topic, paragraphs)
    duration = max(60, round(len(body) * 60 / READING_CHARS_PER_MINUTE))
    return _lesson(course, title, LessonKind.ARTICLE, order, body=body, duration_s=duration)


def _content(root: Organisation, today: date, rng: random.Random) -> dict:
    zone = current_app.config["SETTINGS"].zone
    academy = LearningChannel(
        code="academy", name="网络学院", kind=ChannelKind.ACADEMY, org_id=root.id, sort_order=10,
        description="常态化学习：党章党规、组织生活、乡村振兴、基层治理。",
    )  # fmt: skip
    campaign = LearningChannel(
        code=f"campaign-{today.year}", name="主题教育", kind=ChannelKind.CAMPAIGN, org_id=root.id, sort_order=5,
        description="集中学习教育：专题必修课、专题测试与学习排行。",
        starts_on=today - timedelta(days=20), ends_on=today + timedelta(days=70),
    )  # fmt: skip
    db.session.add_all([academy, campaign])
    now = utcnow()
    deadline = datetime.combine(today + timedelta(days=30), time(23, 59), tzinfo=zone)

    def course(channel, title, summary, track=CourseTrack.ELECTIVE, due=None) -> Course:
        c = Course(
            channel=channel, title=title, summary=summary, owner_org_id=root.id, track=track, deadline=due,
            status=CourseStatus.PUBLISHED, published_at=now, audiences=[CourseAudience(org_id=root.id)],
        )  # fmt: skip
        db.session.add(c)
        return c

    compulsory = course(campaign, "主题教育专题必修课", "全市党员必修：党章学习、组织生活规范与作风建设。",
                        CourseTrack.COMPULSORY, deadline)  # fmt: skip
    _article_lesson(compulsory, rng, "第一讲 认真学习党章", "党章学习", 1)
    _article_lesson(compulsory, rng, "第二讲 严格规范组织生活", "组织生活", 2)
    _article_lesson(compulsory, rng, "第三讲 锤炼过硬作风", "作风建设", 3)
    audio = _lesson(compulsory, "第四讲 专题辅导（音频）", LessonKind.AUDIO, 4, duration_s=30)
    _store(audio, tone_wav(30, 440.0), "audio/wav", "wav", "compulsory-audio")
    practice = course(academy, "基层党建工作实务", "三会一课、主题党日、三务公开怎么做。")
    _article_lesson(practice, rng, "三会一课的基本要求", "组织生活", 1)
    _article_lesson(practice, rng, "三务公开与基层治理", "基层治理", 2)
    slides = _lesson(practice, "课件：支部工作流程", LessonKind.SLIDES, 3, duration_s=180)
    pages = ["会前：确定议题，提前通知党员。", "会中：签到、记录、拍摄现场照片。", "会后：整理记录，及时上传。"]
    _store(slides, slides_pdf("支部工作流程", pages), "application/pdf", "pdf", "practice-slides")
    rural = course(academy, "乡村振兴政策解读", "发展村集体经济、改善人居环境的做法与经验。")
    _article_lesson(rural, rng, "发展壮大村集体经济", "乡村振兴", 1, paragraphs=4)
    _article_lesson(rural, rng, "建设宜居宜业和美乡村", "乡村振兴", 2, paragraphs=4)
    talk = _lesson(rural, "政策解读（音频）", LessonKind.AUDIO, 3, duration_s=20)
    _store(talk, tone_wav(20, 523.25), "audio/wav", "wav", "rural-audio")
    micro = course(academy, "微党课：五分钟学党章", "利用碎片时间，每次一小节。")
    for i, topic in enumerate(("党章学习", "作风建设", "基层治理"), start=1):
        _article_lesson(micro, rng, f"第{i}节", topic, i, paragraphs=2)
    db.session.flush()
    return {"channels": [academy, campaign], "courses": [compulsory, practice, rural, micro], "compulsory": compulsory}


def _bank(root: Organisation) -> list[Question]:
    qs = [
        Question(
            owner_org_id=root.id,
            kind=kind,
            topic=topic,
            stem=stem,
            options=options,
            answer=answer,
            explanation=explanation,
        )  # fmt: skip
        for kind, topic, stem, options, answer, explanation in questions()
    ]
    db.session.add_all(qs)
    test = Exam(
        title="主题教育专题测试", owner_org_id=root.id, audience_org_id=root.id, time_limit_s=900, max_attempts=2,
        pass_score=60, status=CourseStatus.PUBLISHED,
        draw=[{"kind": "single", "topic": None, "count": 6, "points": 10},
              {"kind": "multiple", "topic": None, "count": 2, "points": 10},
              {"kind": "judge", "topic": None, "count": 2, "points": 10}],
    )  # fmt: skip
    quiz = Exam(
        title="每日一练", owner_org_id=root.id, audience_org_id=root.id, time_limit_s=300, max_attempts=1,
        pass_score=60, daily_quiz=True, status=CourseStatus.PUBLISHED,
        draw=[{"kind": "single", "topic": None, "count": 3, "points": 20},
              {"kind": "judge", "topic": None, "count": 2, "points": 20}],
    )  # fmt: skip
    db.session.add_all([test, quiz])
    db.session.flush()
    return qs


def _learners(demo_orgs: list[int], scale: str, rng: random.Random) -> list[tuple[int, int, bool]]:
    """(member, organisation, village member?) of everyone with a history: the demo townships' members, plus a
    sample elsewhere at city scale (everyone at small scale)."""
    m, o = Member, Organisation
    rows = db.session.execute(
        select(m.id, m.org_id, o.path, o.level).join(o, o.id == m.org_id).where(m.status == AccountStatus.ACTIVE)
    ).all()
    demo_paths = [db.session.get(Organisation, i).path for i in demo_orgs]
    chosen = [r for r in rows if scale != "city" or any(r.path.startswith(p) for p in demo_paths)]
    if scale == "city":
        others = [r for r in rows if not any(r.path.startswith(p) for p in demo_paths)]
        chosen += rng.sample(others, min(CITY_SAMPLE, len(others)))
    return [(r.id, r.org_id, r.level.value == "village") for r in chosen]


def _history(learners, today: date, lessons: list[Lesson], rng: random.Random) -> tuple[list, list, list]:
    """Ledger rows, day tallies and study days of the last HISTORY_DAYS days, within every daily cap."""
    rules = {r.code: r for r in points.list_rules()}
    media_unit = rules["media_time"].unit_s or 240
    entries, tallies, days = [], defaultdict(int), []
    now = utcnow()
    for member_id, org_id, village in learners:
        keen = rng.random()  # how often this member studies
        for back in range(HISTORY_DAYS):
            day = today - timedelta(days=back)
            if rng.random() > 0.15 + 0.7 * keen:
                continue
            proxy = village and rng.random() < 0.06  # a secretary studied with an elderly member
            plan = [("login", f"login:{member_id}:{day}", False)]
            for i in range(rng.randint(0, 4)):
                lesson = rng.choice(lessons)
                plan.append(("article_read", f"seed-article:{member_id}:{day}:{i}:{lesson.id}", proxy))
            units = rng.randint(0, 5)
            plan += [("media_time", f"media:{member_id}:{day}:{n}", proxy) for n in range(1, units + 1)]
            if units or proxy:
                seconds = units * media_unit + rng.randint(0, media_unit - 1)
                days.append({"member_id": member_id, "day": day} | ({"media_s": 0, "proxy_media_s": seconds}
                            if proxy else {"media_s": seconds, "proxy_media_s": 0}))  # fmt: skip
            if rng.random() < 0.4:
                plan.append(("daily_quiz", f"seed-quiz:{member_id}:{day}", False))
            for code, key, is_proxy in plan:
                rule = rules[code]
                pts = rule.points * (rng.randint(2, 5) if code == "daily_quiz" else 1)
                pts = min(pts, (rule.daily_cap or pts) - tallies[(member_id, rule.id, day)])
                if pts <= 0:
                    continue
                tallies[(member_id, rule.id, day)] += pts
                entries.append({
                    "member_id": member_id, "org_id": org_id, "rule_id": rule.id, "points": pts, "day": day,
                    "source_type": "study_day" if code == "media_time" else code, "source_id": None,
                    "unique_key": key, "proxy": is_proxy, "created_at": now,
                })  # fmt: skip
    daily = [{"member_id": m, "rule_id": r, "day": d, "points": p} for (m, r, d), p in tallies.items()]
    return entries, daily, days


def _progress(learners, compulsory: Course, rng: random.Random, today: date) -> list[dict]:
    """Progress on the compulsory course: about a third done, a third part-way, a third not started."""
    rows, now = [], utcnow()
    zone = current_app.config["SETTINGS"].zone
    share = current_app.config["SETTINGS"].learning_complete_share
    for member_id, _org, _village in learners:
        done = rng.choice((0, 0, 1, 2, 3, len(compulsory.lessons), len(compulsory.lessons)))
        for i, lesson in enumerate(compulsory.lessons[: done + 1]):
            finished = i < done
            credited = lesson.duration_s if finished else int(lesson.duration_s * share * rng.random() * 0.9)
            at = datetime.combine(today - timedelta(days=rng.randint(0, 19)), time(20, 0), tzinfo=zone)
            rows.append({
                "member_id": member_id, "lesson_id": lesson.id, "course_id": compulsory.id, "credited_s": credited,
                "position_s": credited, "started_at": at, "completed_at": at if finished else None,
                "created_at": now, "updated_at": now,
            })  # fmt: skip
    return rows


def _bulk(model, rows: list[dict]) -> None:
    for i in range(0, len(rows), BATCH):
        db.session.execute(insert(model.__table__), rows[i : i + BATCH])


def seed_learning(demo_orgs: list[int], scale: str) -> dict:
    """Writes the demo learning content, question bank, tests and study history (see the module docstring),
    rebuilds the leaderboards' rollups and commits. `demo_orgs`: the organisations whose members all get a history.
    Stores the media files through the storage adapter. Returns counts."""
    rng = random.Random(SEED)
    points.ensure_default_rules()
    root = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)))
    today = utcnow().astimezone(current_app.config["SETTINGS"].zone).date()
    content = _content(root, today, rng)
    bank = _bank(root)
    learners = _learners(demo_orgs, scale, rng)
    readable = [
        ls for c in content["courses"] for ls in c.lessons if ls.kind in (LessonKind.ARTICLE, LessonKind.SLIDES)
    ]
    entries, daily, days = _history(learners, today, readable, rng)
    _bulk(PointEntry, entries)
    _bulk(PointDaily, daily)
    _bulk(StudyDay, days)
    progress = _progress(learners, content["compulsory"], rng, today)
    _bulk(LessonProgress, progress)
    ranks.rebuild()  # the bulk insert bypassed the grants that keep the rollups
    db.session.commit()
    return {
        "channels": len(content["channels"]),
        "courses": len(content["courses"]),
        "lessons": sum(len(c.lessons) for c in content["courses"]),
        "questions": len(bank),
        "learners": len(learners),
        "entries": len(entries),
        "progress": len(progress),
    }
