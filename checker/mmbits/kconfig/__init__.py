"""The Kconfig model: which configuration facts change page descriptor layouts.

Public surface: `Config`, `load_model()`, `config_from_dotconfig()`,
`preset()`/`preset_names()`, `load_domain()`.
"""

from mmbits.kconfig.config import Config
from mmbits.kconfig.model import KconfigModel, load_model

__all__ = ["Config", "KconfigModel", "load_model"]
