"""One presentation of a signed report payload, shared by the PDF and the HTML page, so the two
formats always say the same thing. Labels are bilingual (中文 first); data texts such as score
reasons are in the language the resident chose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.registry import CATEGORIES
from reports.build import CST

KIND_NAMES = {"credit_report": ("个人信用报告", "Personal Credit Report"),
              "no_violation": ("无违法违规记录证明", "Certificate of No Violation Record")}
SECTION_NAMES = {"score": "信用分 Score", "records": "分类记录 Records by category",
                 "scenario_performance": "场景履约 Scenario performance",
                 "commendations": "表彰奖励 Commendations",
                 "no_violation": "无违法违规记录 No violation record"}


@dataclass
class Grid:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Block:
    heading: str
    lines: list[str] = field(default_factory=list)
    grids: list[Grid] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class View:
    kind: str
    title_zh: str
    title_en: str
    code: str
    verify_url: str
    facts: list[tuple[str, str]]
    blocks: list[Block]
    footnotes: list[str]


def when(value: str | None) -> str:
    """An ISO time as China Standard Time, to the minute."""
    if not value:
        return ""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(CST) \
        .strftime("%Y-%m-%d %H:%M CST")


def _period(period: dict[str, str]) -> str:
    return f"{period['from']} ~ {period['to']}"


def _negatives(items: list[dict[str, Any]], with_category: bool = True) -> Grid:
    header = ["类型 Type", "日期 Date", "严重程度 Severity", "状态 Status"]
    rows = [[f"{n['name_zh']} {n['name_en']}", n["occurred_on"],
             f"{n.get('severity_zh', '')} {n.get('severity', '')}".strip(),
             f"{n['status_zh']} {n['status_en']}"] for n in items]
    if with_category:
        header = ["类别 Category", *header]
        for row, n in zip(rows, items, strict=True):
            category = CATEGORIES.get(n["category"])
            row.insert(0, f"{category.name_zh} {category.name_en}" if category else n["category"])
    return Grid(header, rows)


def _types(types: list[dict[str, Any]]) -> str:
    parts = []
    for t in types:
        extra = f"（{t['quantity']:g}）" if "quantity" in t else ""
        parts.append(f"{t['name_zh']} {t['count']}{extra}")
    return "；".join(parts) or "无记录 none"


def _score(section: dict[str, Any]) -> Block:
    block = Block(SECTION_NAMES["score"], lines=[
        f"鹏城分 Score: {section['score']}（{section['tier_name']}）",
        f"模型 Model: {section['model']}；计算时间 Computed: {when(section['computed_at'])}",
    ])
    block.grids.append(Grid(["维度 Dimension", "得分 Points", "满分 Max"], [
        [d["name"], str(d["points"]), str(d["max_points"])] for d in section["dimensions"]]))
    if section["reasons"]:
        block.grids.append(Grid(["主要扣分原因 Main reasons", "扣分 Points lost"], [
            [r["text"], str(r["points_lost"])] for r in section["reasons"]]))
    else:
        block.lines.append("无主要扣分原因 No reason lowers this score materially.")
    block.lines.extend(f"异议标注 Under dispute: {d['text']}" for d in section.get("disputed", []))
    return block


def _records(section: dict[str, Any]) -> Block:
    block = Block(f"{SECTION_NAMES['records']}（{_period(section['period'])}）")
    block.grids.append(Grid(["类别 Category", "记录 Records", "负面 Negative"], [
        [f"{c['name_zh']} {c['name_en']}", _types(c["types"]), str(len(c["negatives"]))]
        for c in section["categories"]]))
    negatives = [n for c in section["categories"] for n in c["negatives"]]
    if negatives:
        block.grids.append(_negatives(negatives))
    block.notes.append("已修复、已移除或已过公示期的记录不予展示。"
                       "Records repaired, removed or past their publicity period are not shown.")
    return block


def _performance(section: dict[str, Any]) -> Block:
    block = Block(f"{SECTION_NAMES['scenario_performance']}（{_period(section['period'])}）",
                  lines=[f"记录 Records: {_types(section['types'])}"])
    if section["negatives"]:
        block.grids.append(_negatives(section["negatives"], with_category=False))
    else:
        block.lines.append("无违约记录 No default recorded.")
    return block


def _commendations(section: dict[str, Any]) -> Block:
    block = Block(f"{SECTION_NAMES['commendations']}（{_period(section['period'])}）", lines=[
        f"志愿服务时长 Volunteer hours: {section['volunteer_hours']:g}",
        f"无偿献血次数 Blood donations: {section['blood_donations']}",
    ])
    if section["commendations"]:
        block.grids.append(Grid(["表彰 Commendation", "日期 Date"], [
            [f"{c['name_zh']} {c['name_en']}", c["occurred_on"]]
            for c in section["commendations"]]))
    else:
        block.lines.append("表彰奖励 Commendations: 0")
    return block


def _no_violation(section: dict[str, Any]) -> Block:
    block = Block(f"{SECTION_NAMES['no_violation']}（{_period(section['period'])}）",
                  lines=[section["statement_zh"], section["statement_en"]])
    block.grids.append(Grid(["类别 Category", "结论 Result"], [
        [f"{c['name_zh']} {c['name_en']}",
         "无负面记录 None" if c["clean"] else f"{len(c['negatives'])} 条负面记录 negative"]
        for c in section["categories"]]))
    negatives = [n for c in section["categories"] for n in c["negatives"]]
    if negatives:
        block.grids.append(_negatives(negatives))
    block.notes += [section["scope_zh"], section["scope_en"]]
    return block


RENDERERS = {"score": _score, "records": _records, "scenario_performance": _performance,
             "commendations": _commendations, "no_violation": _no_violation}


def blocks(content: dict[str, Any], sections: list[str]) -> list[Block]:
    return [RENDERERS[s](content[s]) for s in sections if s in RENDERERS and s in content]


def view(payload: dict[str, Any]) -> View:
    """How a signed payload reads, in both formats."""
    zh, en = KIND_NAMES[payload["kind"]]
    content = payload["content"]
    subject = content.get("subject", {})
    facts = [
        ("姓名 Name", subject.get("name", "")),
        ("证件号码 ID number", subject.get("id_number", "")),
        ("报告编号 Report No.", payload["report_id"]),
        ("出具时间 Issued", when(payload["issued_at"])),
        ("有效期至 Valid until", when(payload["valid_until"])),
    ]
    if payload["kind"] == "credit_report":
        facts.append(("包含内容 Sections", "；".join(SECTION_NAMES[s]
                                                   for s in payload["sections"])))
    footnotes = [
        "本报告由鹏城分系统出具并以 Ed25519 数字签名，公钥见 /.well-known/report-keys.json；"
        "内容以核验结果为准。证件号码已脱敏。报告仅包含本人选择提供的内容。",
        "Issued and signed (Ed25519) by the Pengcheng Score service; public keys at "
        "/.well-known/report-keys.json. The verification result is authoritative. The ID number is "
        "masked; the report holds only what its owner chose to share.",
    ]
    return View(payload["kind"], zh, en, payload["code"], payload["verify_url"], facts,
                blocks(content, payload["sections"]), footnotes)
