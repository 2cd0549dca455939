"""A timer whose interval comes from the service's config (``EXPIRY_INTERVAL``), read at setup."""
from types import SimpleNamespace

from common.timer import ConfiguredTimer


def _interval(config):
    timer = ConfiguredTimer("EXPIRY_INTERVAL", default=60)
    timer.container = SimpleNamespace(config=config)
    timer.setup()
    return timer.interval


def test_the_interval_is_the_configured_number_of_seconds():
    assert _interval({"EXPIRY_INTERVAL": 1}) == 1.0
    assert _interval({"EXPIRY_INTERVAL": "0.5"}) == 0.5


def test_without_a_setting_the_interval_is_the_default():
    assert _interval({}) == 60.0


def test_redemptions_expiry_sweep_reads_expiry_interval():
    from redemption.service import RedemptionService
    (entrypoint,) = RedemptionService.expire_rights.nameko_entrypoints
    assert isinstance(entrypoint, ConfiguredTimer) and entrypoint.setting == "EXPIRY_INTERVAL"
