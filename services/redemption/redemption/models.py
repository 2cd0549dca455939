"""Redemption's tables: the right to use each claimed voucher, and the classes where
vouchers are used and the projects institutions may train for (replicated from issuance's
catalogue)."""
import datetime
import uuid

from sqlalchemy import Date, DateTime, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class VoucherRight(Base):
    """The right to use one claimed voucher, decided here and only here. ``terms`` is the
    template snapshot the voucher was issued under; ``valid_until`` the right's own last day."""
    __tablename__ = "voucher_rights"
    # The expiry sweep reads claimed rights by last day.
    __table_args__ = (Index("voucher_rights_claimed_until", "valid_until",
                            postgresql_where=text("status = 'claimed'")),)
    voucher_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    holder: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    terms = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(12))
    claimed_at = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime.date] = mapped_column(Date)
    used_at = mapped_column(DateTime(timezone=True))
    used_by_institution = mapped_column(UUID(as_uuid=True))
    used_in_class = mapped_column(UUID(as_uuid=True))
    voided_at = mapped_column(DateTime(timezone=True))
    void_reason = mapped_column(Text)


class InstitutionProjects(Base):
    """The training projects an institution may train for, as (occupation, skill level) pairs
    under ``projects`` (replicated from issuance's catalogue); an empty list: not limited.
    ``sequence`` is the issuance event's, so an older event never overwrites a newer list."""
    __tablename__ = "institution_projects"
    institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    projects = mapped_column(JSONB, nullable=False)
    sequence: Mapped[int] = mapped_column(Integer)


class TrainingClass(Base):
    __tablename__ = "classes"
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    occupation: Mapped[str] = mapped_column(Text)
    skill_level: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(8))
