"""``@every("EXPIRY_INTERVAL", default=60)``: nameko's timer, with its interval in seconds read
from the service's config when the service starts (a decorator runs before any config exists).

A tick that raises (the database briefly down) is logged by nameko and counted in
``entrypoint_errors_total``, and the timer fires again at the next interval: it never stops
the service, like the gateway's ``prune_nonces``."""
from nameko.timer import Timer


class ConfiguredTimer(Timer):
    def __init__(self, setting, default, **kwargs):
        self.setting, self.default = setting, default
        super().__init__(interval=default, **kwargs)

    def setup(self):
        self.interval = float(self.container.config.get(self.setting, self.default))


every = ConfiguredTimer.decorator
