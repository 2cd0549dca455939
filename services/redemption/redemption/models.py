"""Redemption's tables: the right to use each claimed voucher, and the classes where
vouchers are used and the projects institutions may train for (replicated from issuance's
catalogue)."""
import datetime
import uuid

from sqlalchemy import Date, DateTime, ForeignKeyConstraint, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class TemplateTerms(Base):
    """The terms (issuance's template snapshot) of one template version, kept once for all the
    rights issued under it."""
    __tablename__ = "template_terms"
    template_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    terms = mapped_column(JSONB, nullable=False)


class VoucherRight(Base):
    """The right to use one claimed voucher, decided here and only here. ``terms`` are those of
    the template version the voucher was issued under; ``valid_until`` the right's own last day."""
    __tablename__ = "voucher_rights"
    __table_args__ = (
        # The expiry sweep reads claimed rights by last day.
        Index("voucher_rights_claimed_until", "valid_until", postgresql_where=text("status = 'claimed'")),
        ForeignKeyConstraint(["template_id", "template_version"], ["template_terms.template_id",
                                                                   "template_terms.version"],
                             name="voucher_rights_template_terms"),
    )
    voucher_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    holder: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    template_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    template_version: Mapped[int] = mapped_column(Integer)
    template: Mapped[TemplateTerms] = relationship(lazy="joined", innerjoin=True)
    status: Mapped[str] = mapped_column(String(12))
    claimed_at = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime.date] = mapped_column(Date)
    used_at = mapped_column(DateTime(timezone=True))
    used_by_institution = mapped_column(UUID(as_uuid=True))
    used_in_class = mapped_column(UUID(as_uuid=True))
    voided_at = mapped_column(DateTime(timezone=True))
    void_reason = mapped_column(Text)

    @property
    def terms(self):
        return self.template.terms


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
