"""Typed run configuration, documented once, validated strictly (unknown keys are errors).

Two parts: the schema (:mod:`swirl_wm.config.schema`: the pydantic models of a SWIRL run and of an agent
run, their defaults and cross-field checks) and the loader (:mod:`swirl_wm.config.loader`: YAML safe-loaded,
``--set`` overrides, errors that name file, line and field). Every name of both is importable from here.
"""

from swirl_wm.config.loader import (
    ConfigError,
    ConfigT,
    dump_config,
    is_agent_config,
    load_config,
    parse_override,
    set_dotted,
)
from swirl_wm.config.schema import (
    FILE_FORMATS,
    MODEL_PRESETS,
    USER_FORMATS,
    AgentEnvConfig,
    AgentEvalConfig,
    AgentName,
    AgentRunConfig,
    BaselinesConfig,
    DataConfig,
    EnvName,
    EvalConfig,
    GRPOPhaseConfig,
    LatentActionConfig,
    Logger,
    LoraSettings,
    ModalityName,
    ModelConfig,
    PaWConfig,
    RolloutConfig,
    RunConfig,
    SFTConfig,
    SwirlConfig,
    WarmStartCheckConfig,
)

__all__ = [
    "FILE_FORMATS", "MODEL_PRESETS", "USER_FORMATS", "AgentEnvConfig", "AgentEvalConfig", "AgentName",
    "AgentRunConfig", "BaselinesConfig", "ConfigError", "ConfigT", "DataConfig", "EnvName", "EvalConfig",
    "GRPOPhaseConfig", "LatentActionConfig", "Logger", "LoraSettings", "ModalityName", "ModelConfig", "PaWConfig",
    "RolloutConfig", "RunConfig", "SFTConfig", "SwirlConfig", "WarmStartCheckConfig", "dump_config",
    "is_agent_config", "load_config", "parse_override", "set_dotted",
]
