"""Issuance's tables: the catalogue it masters, templates, and vouchers until use."""
import uuid

from sqlalchemy import (ARRAY, BigInteger, Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey, Identity,
                        Index, Integer, LargeBinary, String, Text, UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def _id():
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


class Person(Base):
    """A worker, known by the keyed hash of the ID number; the number itself only sealed."""
    __tablename__ = "persons"
    person_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    id_masked: Mapped[str] = mapped_column(String(18))
    id_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    name_masked: Mapped[str | None] = mapped_column(String(32))
    name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    region_code: Mapped[str] = mapped_column(String(6))
    birth_year: Mapped[int] = mapped_column(Integer)
    gender: Mapped[str] = mapped_column(String(1))
    employer_type: Mapped[str | None] = mapped_column(String(16))  # common.identity.EMPLOYER_TYPES
    created_at = mapped_column(DateTime(timezone=True), server_default=func.now())


class Institution(Base):
    """A training institution (培训机构)."""
    __tablename__ = "institutions"
    id: Mapped[uuid.UUID] = _id()
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(Text)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    # Where its subsidies are paid: the account number only sealed (AES-GCM) and masked.
    payout_bank_name = mapped_column(Text)
    payout_account_name = mapped_column(Text)
    payout_account_sealed = mapped_column(LargeBinary)
    payout_account_masked = mapped_column(String(8))
    created_at = mapped_column(DateTime(timezone=True), server_default=func.now())


class Project(Base):
    """A training project (培训项目) of a region's catalogue: an occupation at a skill level, and
    the subsidy standard it pays. One per region, occupation and level."""
    __tablename__ = "projects"
    id: Mapped[uuid.UUID] = _id()
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    occupation: Mapped[str] = mapped_column(String(20))
    skill_level: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    subsidy_standard_fen: Mapped[int] = mapped_column(BigInteger)
    created_at = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (
        UniqueConstraint("region_code", "occupation", "skill_level", name="projects_region_occupation_level"),
        CheckConstraint("subsidy_standard_fen > 0", name="projects_subsidy_standard_positive"),
        CheckConstraint("skill_level BETWEEN 1 AND 5", name="projects_skill_level"),
    )


class InstitutionProject(Base):
    """A project an institution is allowed to train for; an institution with none is not limited."""
    __tablename__ = "institution_projects"
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), primary_key=True)


class Site(Base):
    """Where an institution trains; check-ins must fall inside ``radius_m`` of it."""
    __tablename__ = "sites"
    id: Mapped[uuid.UUID] = _id()
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer)


class TrainingClass(Base):
    """A class (培训班) of one occupation and level, at one site, with a schedule and a roster."""
    __tablename__ = "classes"
    id: Mapped[uuid.UUID] = _id()
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("institutions.id"), index=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    name: Mapped[str] = mapped_column(Text)
    occupation: Mapped[str] = mapped_column(Text)
    skill_level: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(8))
    completion_threshold: Mapped[float] = mapped_column(Float)
    created_at = mapped_column(DateTime(timezone=True), server_default=func.now())


class ClassSession(Base):
    __tablename__ = "class_sessions"
    id: Mapped[uuid.UUID] = _id()
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("classes.id"), index=True)
    starts_at = mapped_column(DateTime(timezone=True))
    ends_at = mapped_column(DateTime(timezone=True))


class RosterEntry(Base):
    __tablename__ = "roster"
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("classes.id"), primary_key=True)
    person_key: Mapped[str] = mapped_column(ForeignKey("persons.person_key"), primary_key=True)
    added_at = mapped_column(DateTime(timezone=True), server_default=func.now())


class Template(Base):
    """A voucher template (券模板): what its vouchers pay for, to whom, where and until when.
    Its current terms are version ``version``; each version's terms are kept in
    ``template_versions``, and a voucher keeps the version it was issued under."""
    __tablename__ = "templates"
    id: Mapped[uuid.UUID] = _id()
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(Text)
    function: Mapped[str] = mapped_column(String(16))
    distribution: Mapped[str] = mapped_column(String(16))
    face_value_fen: Mapped[int | None] = mapped_column(BigInteger)
    subsidy_standard_fen: Mapped[int | None] = mapped_column(BigInteger)
    occupation: Mapped[str] = mapped_column(Text)
    skill_level: Mapped[int] = mapped_column(Integer)
    institution_ids = mapped_column(ARRAY(UUID(as_uuid=True)))
    eligible_groups = mapped_column(ARRAY(String(32)))  # None: anyone may claim
    funding_source: Mapped[str] = mapped_column(Text)
    payee: Mapped[str] = mapped_column(String(16), server_default="institution")
    valid_from = mapped_column(Date)
    valid_until = mapped_column(Date)
    validity_days = mapped_column(Integer)  # a claimed voucher's own validity, from its claim day
    one_training_per_occupation_year: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    reversal_grace_hours: Mapped[int] = mapped_column(Integer, server_default="24")
    # A credit voucher pays the subsidy standard times its holder's ratio (补贴比例), in percent: the
    # best of {target group: percent} the holder belongs to, else the default. None: the default for all.
    subsidy_ratios = mapped_column(JSONB)
    default_subsidy_ratio_percent: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    requires_certificate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    quantity: Mapped[int] = mapped_column(Integer)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    created_at = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (CheckConstraint("issued <= quantity", name="templates_quantity_cap"),)


class TemplateVersion(Base):
    """The terms (the snapshot) of each version of a template, as vouchers carry them."""
    __tablename__ = "template_versions"
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    terms = mapped_column(JSONB, nullable=False)
    created_at = mapped_column(DateTime(timezone=True), server_default=func.now())


class PersonGroup(Base):
    """A person's membership of a target group (重点群体), as a region's bureau recorded it."""
    __tablename__ = "person_groups"
    person_key: Mapped[str] = mapped_column(ForeignKey("persons.person_key"), primary_key=True)
    group: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    recorded_at = mapped_column(DateTime(timezone=True), server_default=func.now())


class Voucher(Base):
    """One voucher. Issuance decides its state until it is claimed; later states
    (used, settled) are recorded here as their owners report them."""
    __tablename__ = "vouchers"
    id: Mapped[uuid.UUID] = _id()
    code: Mapped[str] = mapped_column(String(16), unique=True)
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"))
    template_version: Mapped[int] = mapped_column(Integer, server_default="1")
    status: Mapped[str] = mapped_column(String(12))
    holder: Mapped[str | None] = mapped_column(String(64))
    issued_at = mapped_column(DateTime(timezone=True), server_default=func.now())
    claimed_at = mapped_column(DateTime(timezone=True))
    valid_until = mapped_column(Date)  # the claimed voucher's own last day
    used_at = mapped_column(DateTime(timezone=True))  # as redemption reported it
    # The use_seq of the latest use or reversal applied: an older one arriving late is ignored.
    use_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    __table_args__ = (
        # One voucher per template per person, decided by the database under concurrency.
        Index("vouchers_one_per_holder", "template_id", "holder", unique=True,
              postgresql_where=text("holder IS NOT NULL")),
        # Claims pick any unclaimed voucher of a template.
        Index("vouchers_unclaimed", "template_id", postgresql_where=text("status = 'issued'")),
        Index("vouchers_holder", "holder", postgresql_where=text("holder IS NOT NULL")),
    )


class VoucherHistory(Base):
    """What happened to a voucher after it was issued, in order: claimed, used, use_reversed,
    settled, voided, returned, expired. A targeted voucher's claim is its issue."""
    __tablename__ = "voucher_history"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    voucher_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    status: Mapped[str] = mapped_column(String(12))
    at = mapped_column(DateTime(timezone=True), nullable=False)
    detail = mapped_column(JSONB)


class IssuanceJob(Base):
    """Bulk issuance in the background (批量发券任务): a pool too large for one request, or
    targeted vouchers for many classes, issued a chunk per transaction. Each chunk advances
    ``done`` (vouchers of a pool, classes of a targeted job) in the transaction that issues it,
    so a restarted service goes on exactly where the last commit left off."""
    __tablename__ = "issuance_jobs"
    id: Mapped[uuid.UUID] = _id()
    region_code: Mapped[str] = mapped_column(String(6))  # the region of the manager who started it
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"))
    kind: Mapped[str] = mapped_column(String(8))  # pool | targeted
    class_ids = mapped_column(ARRAY(UUID(as_uuid=True)))  # a targeted job's classes, in order
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    refusals = mapped_column(JSONB, default=list)  # what a chunk was refused, with its class
    status: Mapped[str] = mapped_column(String(8), default="running")  # running | done | stopped
    correlation_id = mapped_column(Text)  # of the request that started it, for its events and log lines
    created_at = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        Index("issuance_jobs_running", "created_at", postgresql_where=text("status = 'running'")),
        CheckConstraint("kind IN ('pool', 'targeted')", name="issuance_jobs_kind"),
        CheckConstraint("done <= total", name="issuance_jobs_done_within_total"),
    )
