from common.alembic_env import run
from issuance.models import Base

run(Base.metadata)
