"""The seeded notice texts (version 1 of every purpose), in Chinese and English.

Migration 0002 inserts exactly these. They are frozen: a later change is a new version
published with `consent.notices.publish` (or a later migration), never an edit here, because
consent events prove which text was shown by its SHA-256.
"""

from __future__ import annotations

from typing import Any

CONTROLLER = {
    "name_zh": "深圳市公共信用中心（鹏城分）",
    "name_en": "Shenzhen Public Credit Center (Pengcheng Score)",
    "contact": "privacy@pengcheng.sz.gov.cn",
    "url": "https://pengcheng.sz.gov.cn/privacy",
}
JURISDICTION = "CN-GD-SZ"
# Consents are asked again after this long (a resident's choice should not be eternal).
VALIDITY_DAYS = 730

SCORING_CATEGORIES = [
    "public_credit", "judicial", "tax", "social_insurance", "housing_fund", "utilities",
    "traffic", "volunteer", "blood_donation", "rental", "scenario_performance",
]

SCORING_ZH = (
    "鹏城分个人信息处理告知（信用评分）\n"
    "处理者：深圳市公共信用中心。目的：根据您勾选授权的数据类别计算您的鹏城分，并向您本人解释"
    "分数的构成与改善建议。分数仅向您本人展示，不向任何第三方提供；合作方只能在您另行同意具体"
    "场景后获知您是否符合该场景的权益（例如“可免押”）。\n"
    "数据类别：由您逐项选择（公共信用、司法、纳税、社会保险、住房公积金、水电气、交通、志愿服务、"
    "无偿献血、租赁、场景履约）。其中“场景履约”（含先诊后付还款情况）为敏感个人信息，需您单独同意。"
    "未授权的类别不会用于评分。\n"
    "保存期限：评分结果及其输入保存至您撤回同意后 3 年（用于复核与异议处理），之后删除或匿名化。\n"
    "您的权利：您可随时撤回同意，撤回立即生效，不影响撤回前基于同意已进行的处理，也不影响不需要"
    "这些数据的服务；您可查阅、复制、更正、删除您的个人信息，并要求对自动化决策进行人工复核"
    "（《个人信息保护法》第十四至十六条、第二十四条、第四十四至四十七条）。"
)
SCORING_EN = (
    "Pengcheng Score personal-information notice (credit scoring)\n"
    "Controller: Shenzhen Public Credit Center. Purpose: to compute your Pengcheng Score from the "
    "data categories you tick, and to explain to you how it is made up and how to improve it. The "
    "score is shown only to you and given to no third party; a partner learns only whether you "
    "qualify for a benefit (e.g. \"deposit waived\"), and only after you separately consent to "
    "that scenario.\n"
    "Data categories: chosen by you one by one (public credit, judicial, tax, social insurance, "
    "housing fund, utilities, traffic, volunteering, blood donation, rental, scenario "
    "performance). Scenario performance (including credit-care repayments) is sensitive personal "
    "information and needs your separate consent. Categories you do not authorise are never "
    "used.\n"
    "Retention: scores and their inputs are kept until 3 years after you withdraw (for review "
    "and disputes), then deleted or anonymised.\n"
    "Your rights: you may withdraw at any time, with immediate effect; withdrawal does not affect "
    "processing already done, nor any service that does not need these data. You may access, "
    "copy, correct and erase your data and ask for human review of an automated decision (PIPL "
    "arts. 14-16, 24, 44-47)."
)

# code: (name_zh, name_en, benefit_zh, benefit_en, recipients, categories)
_SCENARIOS: dict[str, tuple[str, str, str, str, list[dict[str, str]], list[str]]] = {
    "medical_credit": (
        "信用就医（先诊后付）", "Credit medical care (treat first, pay later)",
        "在合作医院先诊疗后付费，并获得相应信用额度；就诊账单及还款情况将记录为场景履约信息",
        "be treated at partner hospitals first and pay later within a credit line; bills and "
        "repayments are recorded as scenario performance",
        [{"kind": "hospital", "name_zh": "合作医院", "name_en": "Partner hospitals"},
         {"kind": "payment_channel", "name_zh": "支付渠道", "name_en": "Payment channels"}],
        ["scenario_performance"],
    ),
    "deposit_waiver_bike": (
        "共享单车免押", "Bike-share deposit waiver", "租用共享单车免交押金",
        "rent shared bikes without a deposit",
        [{"kind": "deposit_partner", "name_zh": "共享单车运营方",
          "name_en": "Bike-share operators"}],
        ["scenario_performance"],
    ),
    "deposit_waiver_powerbank": (
        "共享充电宝免押", "Power-bank deposit waiver", "租借共享充电宝免交押金",
        "borrow shared power banks without a deposit",
        [{"kind": "deposit_partner", "name_zh": "共享充电宝运营方",
          "name_en": "Power-bank operators"}],
        ["scenario_performance"],
    ),
    "library_no_deposit": (
        "图书馆免押借阅", "Library borrowing without deposit", "在合作图书馆免押金借书",
        "borrow books at partner libraries without a deposit",
        [{"kind": "deposit_partner", "name_zh": "合作图书馆", "name_en": "Partner libraries"}],
        ["scenario_performance"],
    ),
    "hotel_no_deposit": (
        "酒店免押入住", "Hotel stay without deposit", "在合作酒店入住免交押金",
        "stay at partner hotels without a deposit",
        [{"kind": "deposit_partner", "name_zh": "合作酒店", "name_en": "Partner hotels"}],
        ["scenario_performance"],
    ),
    "rental_deposit_waiver": (
        "租房押金减免", "Rental deposit waiver", "租赁合作房源时减免押金",
        "rent partner housing with a reduced or waived deposit",
        [{"kind": "deposit_partner", "name_zh": "合作租赁机构", "name_en": "Partner landlords"}],
        ["scenario_performance"],
    ),
    "points_redemption": (
        "信用积分兑换", "Credit points redemption", "在合作商户使用信用积分兑换权益",
        "redeem credit points for benefits at partner merchants",
        [{"kind": "merchant", "name_zh": "合作商户", "name_en": "Partner merchants"}],
        [],
    ),
    "fewer_documents": (
        "承诺减材料", "Fewer documents on commitment", "在政务窗口以信用承诺代替部分证明材料",
        "replace some supporting documents with a credit commitment at government counters",
        [{"kind": "government", "name_zh": "政务服务窗口", "name_en": "Government counters"}],
        [],
    ),
    "priority_service": (
        "优先办理", "Priority service", "在政务及公共服务窗口享受优先办理",
        "get priority service at government and public-service counters",
        [{"kind": "government", "name_zh": "政务及公共服务窗口",
          "name_en": "Government and public-service counters"}],
        [],
    ),
    "car_repair_discount": (
        "汽车维修优惠", "Car repair discount", "在合作汽修门店享受优惠",
        "get discounts at partner car-repair shops",
        [{"kind": "merchant", "name_zh": "合作汽修门店", "name_en": "Partner car-repair shops"}],
        [],
    ),
    "scenic_discount": (
        "景区门票优惠", "Scenic-site discount", "在合作景区享受门票优惠",
        "get ticket discounts at partner scenic sites",
        [{"kind": "merchant", "name_zh": "合作景区", "name_en": "Partner scenic sites"}],
        [],
    ),
}

SCENARIO_CODES = tuple(_SCENARIOS)


def _scenario_texts(code: str) -> tuple[str, str]:
    name_zh, name_en, benefit_zh, benefit_en, recipients, categories = _SCENARIOS[code]
    who_zh = "、".join(r["name_zh"] for r in recipients)
    who_en = ", ".join(r["name_en"] for r in recipients)
    extra_zh = "该场景涉及您的就医信用额度与账单，属于敏感个人信息。" \
        if code == "medical_credit" else ""
    extra_en = "This scenario concerns your medical credit line and bills, which are sensitive " \
        "personal information. " if code == "medical_credit" else ""
    perf_zh = "本场景的履约情况（按时归还或违约）将记录为“场景履约”信息。" if categories else ""
    perf_en = "How you perform in this scenario (returned on time, or defaulted) is recorded " \
        "as scenario performance. " if categories else ""
    zh = (
        f"鹏城分场景授权告知：{name_zh}\n"
        f"处理者：深圳市公共信用中心。目的：让您{benefit_zh}。\n"
        f"向第三方提供：您出示信用码时，{who_zh}仅获知您在该场景下的权益（是否符合条件及额度）和"
        "一个仅对该合作方有效的匿名标识，不会获知您的分数、等级、姓名或身份证号。"
        f"{extra_zh}向合作方提供个人信息需取得您的单独同意。{perf_zh}\n"
        "保存期限：场景记录保存至相关权益结清后 3 年。\n"
        "您可随时撤回本同意，撤回立即生效，尚未使用的信用码随即失效；撤回不影响其他服务。"
    )
    en = (
        f"Pengcheng Score scenario notice: {name_en}\n"
        f"Controller: Shenzhen Public Credit Center. Purpose: to let you {benefit_en}.\n"
        f"Disclosure to third parties: when you show your credit code, {who_en} learn only your "
        "entitlement in this scenario (eligible or not, and the limit) and a pseudonym valid for "
        "that partner alone - never your score, tier, name or ID number. "
        f"{extra_en}Sharing personal information with a partner needs your separate consent. "
        f"{perf_en}\n"
        "Retention: scenario records are kept until 3 years after the benefit is settled.\n"
        "You may withdraw this consent at any time with immediate effect; unused credit codes "
        "stop working at once. Withdrawal does not affect any other service."
    )
    return zh, en


def seed_notices() -> list[dict[str, Any]]:
    """Version 1 of every seeded notice, as keyword arguments for `notices.build`."""
    out: list[dict[str, Any]] = [{
        "purpose": "scoring",
        "title_zh": "信用评分授权", "title_en": "Credit scoring",
        "text_zh": SCORING_ZH, "text_en": SCORING_EN,
        "categories": SCORING_CATEGORIES,
        "separate_consent_categories": ["scenario_performance"],
        "requires_separate_consent": False,
        "recipients": [],
        "retention": "P3Y after withdrawal",
        "validity_days": VALIDITY_DAYS,
    }]
    for code, (name_zh, name_en, *_rest, recipients, categories) in _SCENARIOS.items():
        zh, en = _scenario_texts(code)
        out.append({
            "purpose": f"scenario:{code}",
            "title_zh": name_zh, "title_en": name_en,
            "text_zh": zh, "text_en": en,
            "categories": categories,
            "separate_consent_categories": [],
            # Sharing with a partner is sensitive processing (PIPL art. 23): always separate.
            "requires_separate_consent": True,
            "recipients": recipients,
            "retention": "P3Y after settlement",
            "validity_days": VALIDITY_DAYS,
        })
    return out


# Version 2 of the scoring notice (migration 0028, issue 23): the core always counts, supplements
# are chosen one by one and can only help. Scenario performance is core, so the scoring notice no
# longer asks a separate acknowledgement for it: it comes only from scenarios the resident used
# under that scenario's own separate consent. The changed scope invalidates consents under
# version 1 (`consent.notices.settle_shipped`), and residents are asked again.
SCORING_V2_ZH = (
    "鹏城分个人信息处理告知（信用评分）\n"
    "处理者：深圳市公共信用中心。目的：计算您的鹏城分，并向您本人解释分数的构成与改善建议。分数仅向"
    "您本人展示，不向任何第三方提供；合作方只能在您另行同意具体场景后获知您是否符合该场景的权益"
    "（例如“可免押”）。\n"
    "核心记录（同意评分即包含，不能单独取消）：依法公开的公共信用信息——行政处罚与表彰奖励（公共信用）、"
    "失信被执行人（司法）、欠税及纳税申报（纳税）；以及您使用鹏城分场景的履约情况（场景履约：先诊后付"
    "是否按时还款、免押物品是否按时归还）。场景履约只来自您已单独同意并实际使用的场景，评分只看是否"
    "按时履约及其时间，不使用诊疗内容或就诊医院。没有核心记录，即视为核心记录良好。\n"
    "补充信息（由您逐项选择，可随时添加或撤回）：社会保险、住房公积金、水电气、交通、志愿服务、无偿献血、"
    "租赁。补充信息只会让分数持平或提高，不会降低：未添加的类别按该类别的最低分计，不会被读取，"
    "也不会成为扣分原因；添加后最差也与未添加时相同。分数页会列出每项补充信息最多可增加的分数。\n"
    "保存期限：评分结果及其输入保存至您撤回同意后 3 年（用于复核与异议处理），之后删除或匿名化。\n"
    "您的权利：您可随时撤回同意，撤回立即生效，不影响撤回前基于同意已进行的处理，也不影响不需要"
    "这些数据的服务；您可查阅、复制、更正、删除您的个人信息，并要求对自动化决策进行人工复核"
    "（《个人信息保护法》第十四至十六条、第二十四条、第四十四至四十七条）。\n"
    "本版变更：评分始终包含核心记录，其余类别改为只会加分的补充信息。您此前的评分授权已失效，"
    "请重新确认。"
)
SCORING_V2_EN = (
    "Pengcheng Score personal-information notice (credit scoring)\n"
    "Controller: Shenzhen Public Credit Center. Purpose: to compute your Pengcheng Score and "
    "explain to you how it is made up and how to improve it. The score is shown only to you and "
    "given to no third party; a partner learns only whether you qualify for a benefit (e.g. "
    "\"deposit waived\"), and only after you separately consent to that scenario.\n"
    "Core records (included whenever you consent to scoring; they cannot be left out): public "
    "credit information published by law - administrative penalties and commendations (public "
    "credit), dishonest judgment debtor listings (judicial), tax arrears and tax filing (tax) - "
    "and how you kept Pengcheng Score's own scenarios (scenario performance: credit-care bills "
    "repaid on time, waived-deposit items returned on time). Scenario performance comes only "
    "from scenarios you used after separately consenting to them; the score reads only whether "
    "and when you kept them, never a diagnosis or a hospital. No core records means a clean "
    "core record.\n"
    "Supplements (chosen by you one by one; add or withdraw any at any time): social insurance, "
    "housing fund, utilities, traffic, volunteering, blood donation, rental. A supplement can "
    "only keep your score level or raise it, never lower it: a supplement you do not add scores "
    "its lowest points, is never read and is never a reason for lost points; once added, its "
    "worst case equals leaving it out. Your score page shows the most each supplement could "
    "add.\n"
    "Retention: scores and their inputs are kept until 3 years after you withdraw (for review "
    "and disputes), then deleted or anonymised.\n"
    "Your rights: you may withdraw at any time, with immediate effect; withdrawal does not affect "
    "processing already done, nor any service that does not need these data. You may access, "
    "copy, correct and erase your data and ask for human review of an automated decision (PIPL "
    "arts. 14-16, 24, 44-47).\n"
    "What changed in this version: scoring always includes the core records; every other "
    "category became a supplement that can only add points. Your earlier scoring consent has "
    "ended; please confirm again."
)


def scoring_notice_v2() -> dict[str, Any]:
    """Version 2 of the scoring notice, as keyword arguments for `notices.build`."""
    return {
        "purpose": "scoring",
        "title_zh": "信用评分授权（核心记录与补充信息）",
        "title_en": "Credit scoring (core records and supplements)",
        "text_zh": SCORING_V2_ZH, "text_en": SCORING_V2_EN,
        "categories": SCORING_CATEGORIES,
        "separate_consent_categories": [],
        "requires_separate_consent": False,
        "recipients": [],
        "retention": "P3Y after withdrawal",
        "validity_days": VALIDITY_DAYS,
    }
