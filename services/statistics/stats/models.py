"""Statistics' read models: derived from events only, so they can be rebuilt."""
import datetime
import uuid

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class VoucherCounts(Base):
    """Running counts per region and template."""
    __tablename__ = "voucher_counts"
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


class MonthlyCounts(Base):
    """The same counts per China-time month (``month`` is its first day), for the monthly report:
    a year's report reads a few rows per region and template, never a voucher."""
    __tablename__ = "monthly_counts"
    # A region's rows by code prefix (LIKE '43%' whatever the collation), then the year's months.
    __table_args__ = (Index("monthly_counts_by_region", "region_code", "month",
                            postgresql_ops={"region_code": "varchar_pattern_ops"}),)
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    template_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    month: Mapped[datetime.date] = mapped_column(Date, primary_key=True)
    function = mapped_column(String(16))
    distribution = mapped_column(String(16))
    issued: Mapped[int] = mapped_column(BigInteger, default=0)
    claimed: Mapped[int] = mapped_column(BigInteger, default=0)
    used: Mapped[int] = mapped_column(BigInteger, default=0)
    settled: Mapped[int] = mapped_column(BigInteger, default=0)
    settled_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    voided: Mapped[int] = mapped_column(BigInteger, default=0)
    returned: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    expired: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Target(Base):
    """A region's annual targets, from a provincial task table."""
    __tablename__ = "targets"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    planned_trainees: Mapped[int] = mapped_column(BigInteger)
    issue_target: Mapped[int] = mapped_column(BigInteger)
    use_target: Mapped[int] = mapped_column(BigInteger)
