"""The shipped `accelerate launch` configs (configs/accelerate): each loads as accelerate's own ClusterConfig
(an unknown key is an error there), and each one that shards the model gathers it whole for the checkpoint
save (backend/checkpoints.save_trained)."""

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.utils import DistributedType

FOLDER = Path(__file__).parents[2] / "configs" / "accelerate"


@pytest.mark.parametrize(("name", "kind"), [("ddp", DistributedType.MULTI_GPU), ("fsdp", DistributedType.FSDP),
                                            ("zero2", DistributedType.DEEPSPEED), ("zero3", DistributedType.DEEPSPEED)])
def test_config_loads_as_accelerate_reads_it(name: str, kind: DistributedType) -> None:
    config = load_config_from_file(str(FOLDER / f"{name}.yaml"))
    assert config.distributed_type == kind and config.num_processes > 1 and not config.use_cpu
    assert f"configs/accelerate/{name}.yaml" in (FOLDER / f"{name}.yaml").read_text()  # its launch line


def test_sharded_configs_save_whole_models(tiny) -> None:
    model, _ = tiny  # a Llama, like SmolLM2 and the small preset
    fsdp = load_config_from_file(str(FOLDER / "fsdp.yaml")).fsdp_config
    assert fsdp["fsdp_state_dict_type"] == "FULL_STATE_DICT"
    assert fsdp["fsdp_transformer_layer_cls_to_wrap"] in {type(m).__name__ for m in model.modules()}
    assert load_config_from_file(str(FOLDER / "zero3.yaml")).deepspeed_config["zero3_save_16bit_model"] is True
