"""Strict appliance configuration: the model, the YAML loader and its error reporting."""

from appliance.config.loader import ConfigError, ConfigProblem, load_config
from appliance.config.model import ApplianceConfig, Profile

__all__ = ["ApplianceConfig", "ConfigError", "ConfigProblem", "Profile", "load_config"]
