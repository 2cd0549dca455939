"""Statistics' read models: derived from events only, so they can be rebuilt."""
import datetime
import uuid

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Identity, Index, Integer, SmallInteger, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class _Counts:
    """The counts kept per region and template (and day or month): a voucher's lifecycle."""
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    template_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    function = mapped_column(String(16))
    distribution = mapped_column(String(16))
    issued: Mapped[int] = mapped_column(BigInteger, default=0)
    claimed: Mapped[int] = mapped_column(BigInteger, default=0)
    used: Mapped[int] = mapped_column(BigInteger, default=0)
    settled: Mapped[int] = mapped_column(BigInteger, default=0)
    settled_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    voided: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    returned: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    expired: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class VoucherCounts(_Counts, Base):
    """Running counts per region and template."""
    __tablename__ = "voucher_counts"


class MonthlyCounts(_Counts, Base):
    """The same counts per China-time month (``month`` is its first day), for the monthly report:
    a year's report reads a few rows per region and template, never a voucher."""
    __tablename__ = "monthly_counts"
    # A region's rows by code prefix (LIKE '43%' whatever the collation), then the year's months.
    __table_args__ = (Index("monthly_counts_by_region", "region_code", "month",
                            postgresql_ops={"region_code": "varchar_pattern_ops"}),)
    month: Mapped[datetime.date] = mapped_column(Date, primary_key=True)


class DailyCounts(_Counts, Base):
    """The same counts per China-time day, for day-by-day views."""
    __tablename__ = "daily_counts"
    __table_args__ = (Index("daily_counts_by_region", "region_code", "day",
                            postgresql_ops={"region_code": "varchar_pattern_ops"}),)
    day: Mapped[datetime.date] = mapped_column(Date, primary_key=True)


class DemographicCounts(Base):
    """Vouchers claimed and used per month by their holders' profile (age band, gender, home
    province, employer type, target groups): counts only, never a person."""
    __tablename__ = "demographic_counts"
    __table_args__ = (Index("demographic_counts_by_region", "region_code", "month",
                            postgresql_ops={"region_code": "varchar_pattern_ops"}),)
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    month: Mapped[datetime.date] = mapped_column(Date, primary_key=True)
    age_band: Mapped[str] = mapped_column(String(8), primary_key=True)
    gender: Mapped[str] = mapped_column(String(7), primary_key=True)
    home_province: Mapped[str] = mapped_column(String(7), primary_key=True)
    employer_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    groups: Mapped[str] = mapped_column(Text, primary_key=True)  # sorted, comma-separated; '' for none
    claimed: Mapped[int] = mapped_column(BigInteger, default=0)
    used: Mapped[int] = mapped_column(BigInteger, default=0)


class CatalogueEntry(Base):
    """Institutions (and online platforms) on the platform, the training projects of the
    catalogue and the templates that make a project's training payable by voucher, as announced."""
    __tablename__ = "catalogue"
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)  # institution, project, template
    entry_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6))
    occupation: Mapped[str | None] = mapped_column(Text)  # projects and templates
    skill_level: Mapped[int | None] = mapped_column(SmallInteger)
    since = mapped_column(DateTime(timezone=True), nullable=False)


class CheckinInstitution(Base):
    """Institutions that have used voucher check-in (启用打卡签到), since their first check-in."""
    __tablename__ = "checkin_institutions"
    institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6))
    since = mapped_column(DateTime(timezone=True), nullable=False)


class Trainee(Base):
    """A trainee who completed a training in a region, and when they first rated one there: the
    evaluation completion rate counts users (用户数). ``person_key`` is the platform's keyed hash."""
    __tablename__ = "trainees"
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    completed_at = mapped_column(DateTime(timezone=True))
    evaluated_at = mapped_column(DateTime(timezone=True))


class ActivityCounts(Base):
    """Per region, month and kind: check-ins, trainings completed, evaluations, anomalies by rule."""
    __tablename__ = "activity_counts"
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    month: Mapped[datetime.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)  # checkins, completions, evaluations, anomaly:<rule>
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class EventJournal(Base):
    """Every event statistics applied, as received: the read models are a function of it, so they
    can be rebuilt (``operations.rebuild``), and a new read model gets its history."""
    __tablename__ = "event_journal"
    position: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[str] = mapped_column(Text)
    payload = mapped_column(JSONB, nullable=False)


class Target(Base):
    """A region's annual targets, from a provincial task table, as published."""
    __tablename__ = "targets"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    planned_trainees: Mapped[int | None] = mapped_column(BigInteger)  # none in Shandong's table
    issue_target: Mapped[int] = mapped_column(BigInteger)
    use_target: Mapped[int] = mapped_column(BigInteger)
    rule_deviation: Mapped[str | None] = mapped_column(Text)  # why the row breaks the rule, if it does


class RegionFacts(Base):
    """What a region's bureau reports of itself for a month (附件 3's basic indicators and the
    denominators no event carries): kept as entered, not derived, so a rebuild keeps them."""
    __tablename__ = "region_facts"
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    month: Mapped[datetime.date] = mapped_column(Date, primary_key=True)
    working_group: Mapped[bool | None] = mapped_column(Boolean)      # 工作机制: 专项工作组已成立
    policy_issued: Mapped[bool | None] = mapped_column(Boolean)      # 政策文件: 已印发
    promotion_plan: Mapped[bool | None] = mapped_column(Boolean)     # 宣传推广: 已制定方案
    e_cards_issued: Mapped[int | None] = mapped_column(BigInteger)   # 电子社保卡签发数 (persons)
    resident_population: Mapped[int | None] = mapped_column(BigInteger)  # 常住人口
    institutions_total: Mapped[int | None] = mapped_column(BigInteger)   # 培训机构和培训平台总数
    ecard_channels: Mapped[int | None] = mapped_column(Integer)     # 电子社保卡签发渠道数 (Shandong)
    voucher_channels: Mapped[int | None] = mapped_column(Integer)   # 开通职业培训券的渠道数
