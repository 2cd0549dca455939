from common.alembic_env import run
from redemption.models import Base

run(Base.metadata)
