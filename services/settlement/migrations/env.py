from common.alembic_env import run
from settlement.models import Base

run(Base.metadata)
