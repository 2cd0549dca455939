"""The gateway's tables: the clients that may call it, their signing keys, and the nonces
seen within the signature window."""
import uuid

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ApiClient(Base):
    """A provincial platform, HR bureau, institution, scanner device, e-card channel or the
    ministry, bound to a role and a region (and an institution where it acts for one)."""
    __tablename__ = "clients"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(6))
    institution_id = mapped_column(UUID(as_uuid=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_limit: Mapped[int] = mapped_column(Integer, default=100, server_default="100")  # requests per second
    created_at = mapped_column(DateTime(timezone=True), server_default=func.now())
    disabled_at = mapped_column(DateTime(timezone=True))  # a device its institution disabled, until re-enabled
    __table_args__ = (Index("clients_devices_of_institution", "institution_id", "created_at",
                            postgresql_where=text("role = 'device'")),)


class ClientKey(Base):
    """A signing key. A client has at most two active keys, so that it can rotate without a
    gap; the secret is kept sealed (AES-GCM) because HMAC needs it in the clear to verify."""
    __tablename__ = "client_keys"
    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at = mapped_column(DateTime(timezone=True))


class Nonce(Base):
    """Nonces seen in the signature window, shared by every gateway replica; a replayed
    request finds its nonce here."""
    __tablename__ = "nonces"
    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
