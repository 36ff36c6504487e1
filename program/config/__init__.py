"""The typed config layer: reads a stack's config once, validates all of it, and reports every problem.

`load_settings` runs before any resource is registered, so a bad stack config creates nothing. Each
problem names the config key, the bad value, what is allowed and an example. By concern: `sources` (where
raw strings come from), `errors` (problems and redaction), `settings` (what the config is read into),
`reader` (reading keys, collecting problems), `credentials`, `functions` and `routes` (the readers of each
part), `load` (the whole config). The keys themselves are declared once, in `program/keys.py`.
"""

from program.config.errors import ConfigError, Problem, Redactor, secret_by_name
from program.config.functions import FUNCTION_FIELDS
from program.config.load import load_settings
from program.config.project import LAMBDA_SRC, PROJECT, PROJECT_ROOT
from program.config.reader import DEFAULTS, KNOWN_KEYS, closest
from program.config.routes import ROUTE_FIELDS
from program.config.settings import (
    BackendSettings,
    CredentialsSettings,
    FunctionSettings,
    Origin,
    RouteSettings,
    StackSettings,
    TargetSettings,
)
from program.config.sources import ConfigSource, MappingConfigSource, PulumiConfigSource, config_text

__all__ = [
    "DEFAULTS",
    "FUNCTION_FIELDS",
    "KNOWN_KEYS",
    "LAMBDA_SRC",
    "PROJECT",
    "PROJECT_ROOT",
    "ROUTE_FIELDS",
    "BackendSettings",
    "ConfigError",
    "ConfigSource",
    "CredentialsSettings",
    "FunctionSettings",
    "MappingConfigSource",
    "Origin",
    "Problem",
    "PulumiConfigSource",
    "Redactor",
    "RouteSettings",
    "StackSettings",
    "TargetSettings",
    "closest",
    "config_text",
    "load_settings",
    "secret_by_name",
]
