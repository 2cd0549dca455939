"""Configuration: a service's ``config.yml`` with ``${VAR:default}`` substitutions,
the same format ``nameko run --config`` reads, so CLIs and tests see what services see."""
import os

import yaml
from nameko.cli.main import IMPLICIT_ENV_VAR_MATCHER, env_var_constructor


class _ConfigLoader(yaml.SafeLoader):
    """nameko's substitutions on a loader of our own: nameko's ``setup_yaml_parser``
    would change every ``yaml.safe_load`` in the process."""


_ConfigLoader.add_constructor("!env_var", env_var_constructor)
_ConfigLoader.add_implicit_resolver("!env_var", IMPLICIT_ENV_VAR_MATCHER, None)


def load(path):
    with open(path) as f:
        return yaml.load(f, Loader=_ConfigLoader)


def secret(config, key):
    """A secret from the environment or the config; refuses to run without it."""
    value = os.environ.get(key) or config.get(key)
    if not value:
        raise RuntimeError(f"{key} is not set: export it (in Kubernetes, from a Secret)")
    return value
