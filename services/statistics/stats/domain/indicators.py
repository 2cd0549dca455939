"""Indicators as the sources define them (Hunan Appendix 3; Shandong §一), and their quarterly
targets. Every rate is a fraction of two counts the report also shows; a rate over nothing is
undefined (None), not zero: a region that issued nothing has not failed its target yet, and a
denominator the bureau has not reported yet leaves its indicator unknown.

附件 3, word for word, and what counts here:

- 领券率 已领取的职业培训券总数占已发放的职业培训券总数的百分比 — claimed / issued
- 用券率 已使用的职业培训券总数占已发放的职业培训券总数的百分比 — used / issued
- 面值券发放率 已发放的面值券总数占发券总数的百分比 — face-value issued / issued
- 通用券发放率 已发放的通用券总数占发券总数的百分比 — general issued / issued
- 培训机构和培训平台覆盖率 支持职业培训券的培训机构和培训平台占全市培训机构和培训平台总数的百分比 —
  institutions on the platform / the region's institutions (the bureau reports the total)
- 培训项目覆盖率 支持职业培训券的培训项目占全市享受培训补贴的培训项目总数的百分比 — subsidised
  projects of the catalogue that a template makes payable by voucher / subsidised projects
- 打卡签到覆盖率 启用职业培训券打卡签到的培训机构数占全省培训机构总数的百分比 — institutions that
  have used voucher check-in / the institutions of the whole **province** (全省, as written)
- 培训评价完成率 完成培训后对课程进行评价的用户数占完成培训的用户总数的百分比 — trainees who rated a
  course / trainees who completed a training (users, each counted once per region)
- 电子社保卡签发数, 签发率 本地区电子社保卡签发数占本地区常住人口的百分比 — e-cards / population
- Shandong §一: 开通职业培训券的渠道数占各市电子社保卡签发渠道数的80%以上 — channels / e-card channels
- 基础指标 工作机制, 政策文件, 宣传推广: yes or no, as the bureau reports them

Counts are the year's to the end of the quarter (the year-to-date of the 月调度).
"""

# Quarter -> target, from 附件 3 (领券率 and 用券率: 四季度总体目标 only; Shandong's 80% of
# channels is for the end of 2021, its fourth quarter).
TARGETS = {
    "claim_rate": {4: 0.40},
    "usage_rate": {4: 0.10},
    "face_value_share": {3: 0.40, 4: 0.60},
    "general_share": {3: 0.40, 4: 0.60},
    "institution_coverage": {3: 0.60, 4: 0.80},
    "project_coverage": {3: 0.60, 4: 0.80},
    "checkin_coverage": {3: 0.60, 4: 0.80},
    "evaluation_completion": {3: 0.60, 4: 0.80},
    "channel_coverage": {4: 0.80},
}
BASIC = ("working_group", "policy_issued", "promotion_plan")


def rate(part, whole):
    return round(part / whole, 4) if whole else None


def summary(counts):
    return {**counts, "claim_rate": rate(counts["claimed"], counts["issued"]),
            "usage_rate": rate(counts["used"], counts["issued"])}


def _fraction(name, numerator, denominator, quarter):
    value = None if numerator is None or denominator is None else rate(numerator, denominator)
    target = TARGETS.get(name, {}).get(quarter)
    return {"value": value, "numerator": numerator, "denominator": denominator, "target": target,
            "met": None if value is None or target is None else value >= target}


def quarterly(quarter, counts, facts, province_facts):
    """A region's indicators at the end of ``quarter`` (1-4).

    ``counts``: the year's counts to date — issued, claimed, used, face_value_issued,
    general_issued, institutions (on the platform), projects and projects_payable (of the
    catalogue), checkin_institutions, trainees_completed, trainees_evaluated; ``facts``: the
    region's latest reported facts (``RegionFacts`` fields, missing ones None);
    ``province_facts``: its province's, for check-in coverage's 全省 denominator."""
    issued = counts["issued"]
    indicators = {
        "claim_rate": _fraction("claim_rate", counts["claimed"], issued, quarter),
        "usage_rate": _fraction("usage_rate", counts["used"], issued, quarter),
        "face_value_share": _fraction("face_value_share", counts["face_value_issued"], issued, quarter),
        "general_share": _fraction("general_share", counts["general_issued"], issued, quarter),
        "institution_coverage": _fraction("institution_coverage", counts["institutions"],
                                          facts.get("institutions_total"), quarter),
        "project_coverage": _fraction("project_coverage", counts["projects_payable"], counts["projects"], quarter),
        "checkin_coverage": _fraction("checkin_coverage", counts["checkin_institutions"],
                                      province_facts.get("institutions_total"), quarter),
        "evaluation_completion": _fraction("evaluation_completion", counts["trainees_evaluated"],
                                           counts["trainees_completed"], quarter),
        "e_card_rate": _fraction("e_card_rate", facts.get("e_cards_issued"), facts.get("resident_population"),
                                 quarter),
        "channel_coverage": _fraction("channel_coverage", facts.get("voucher_channels"),
                                      facts.get("ecard_channels"), quarter),
    }
    return {"e_cards_issued": facts.get("e_cards_issued"), **{name: facts.get(name) for name in BASIC},
            **indicators}
