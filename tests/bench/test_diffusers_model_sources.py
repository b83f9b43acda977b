"""Loading SD weights: single checkpoint files, diffusers folders, hub ids (offline), hashes, refusals."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

import pytest
import torch

from bench.errors import UserError
from bench.models import sd_sources
from bench.models.diffusers_model import load_diffusers_model
from bench.models.sd_build import SDComponents, build_random
from bench.models.sd_configs import ARCHS


@pytest.fixture(autouse=True)
def _private_hash_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SAMPLERBENCH_CACHE_DIR", str(tmp_path / "cache"))
    sd_sources._HASHES.clear()
    yield
    sd_sources._HASHES.clear()


@pytest.fixture(scope="module")
def tiny_parts() -> SDComponents:
    return build_random(ARCHS["tiny"], 7, torch.float32)


# ---------------------------------------------------------------- an original-layout (LDM) tiny checkpoint
# The inverse of diffusers' convert_ldm_*_checkpoint for SD 1.x key names (CompVis/stable-diffusion
# layout: input_blocks / middle_block / output_blocks, first_stage_model, cond_stage_model.transformer).

_RESNET = [
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("time_emb_proj", "emb_layers.1"),
    ("conv_shortcut", "skip_connection"),
]
_UNET_FIXED = {
    "time_embedding.linear_1": "time_embed.0",
    "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0",
    "conv_norm_out": "out.0",
    "conv_out": "out.2",
}
_VAE_ATTN = [("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")]


def _rename(rest: str, table: list[tuple[str, str]]) -> str:
    for new, old in table:
        if rest.startswith(new + "."):
            return old + rest[len(new) :]
    return rest


def _ldm_unet_key(key: str, layers: int, attn_up: list[bool]) -> str:
    head, _, leaf = key.rpartition(".")
    if head in _UNET_FIXED:
        return f"{_UNET_FIXED[head]}.{leaf}"
    if m := re.match(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        n = 1 + int(m[1]) * (layers + 1) + int(m[3])
        part = f"0.{_rename(m[4], _RESNET)}" if m[2] == "resnets" else f"1.{m[4]}"
        return f"input_blocks.{n}.{part}"
    if m := re.match(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
        return f"input_blocks.{(int(m[1]) + 1) * (layers + 1)}.0.op.{m[2]}"
    if m := re.match(r"mid_block\.(resnets|attentions)\.(\d+)\.(.*)", key):
        return (
            f"middle_block.1.{m[3]}"
            if m[1] == "attentions"
            else f"middle_block.{2 * int(m[2])}.{_rename(m[3], _RESNET)}"
        )
    if m := re.match(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.*)", key):
        n = int(m[1]) * (layers + 1) + int(m[3])
        part = f"0.{_rename(m[4], _RESNET)}" if m[2] == "resnets" else f"1.{m[4]}"
        return f"output_blocks.{n}.{part}"
    if m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
        i = int(m[1])
        return f"output_blocks.{i * (layers + 1) + layers}.{2 if attn_up[i] else 1}.conv.{m[2]}"
    raise KeyError(key)


def _ldm_vae_item(key: str, value: torch.Tensor, n_up: int) -> tuple[str, torch.Tensor]:
    key = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
    if m := re.match(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.*)", key):
        return f"{m[1]}.mid.block_{int(m[2]) + 1}.{m[3]}", value
    if m := re.match(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.*)", key):  # 1x1 convs in LDM
        conv = value[:, :, None, None] if value.dim() == 2 else value
        return f"{m[1]}.mid.attn_1.{_rename(m[2], _VAE_ATTN)}", conv
    if m := re.match(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
        return f"encoder.down.{m[1]}.block.{m[2]}.{m[3]}", value
    if m := re.match(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)", key):
        return f"encoder.down.{m[1]}.downsample.conv.{m[2]}", value
    if m := re.match(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", key):
        return f"decoder.up.{n_up - 1 - int(m[1])}.block.{m[2]}.{m[3]}", value
    if m := re.match(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)", key):
        return f"decoder.up.{n_up - 1 - int(m[1])}.upsample.conv.{m[2]}", value
    return key, value


def ldm_state_dict(parts: SDComponents) -> dict[str, torch.Tensor]:
    """A tiny SD 1.x pipeline as one original-layout state dict (what A1111 / ComfyUI checkpoints hold)."""
    unet, vae = parts.unet, parts.vae
    attn_up = ["CrossAttn" in kind for kind in unet.config.up_block_types]
    out = {
        "model.diffusion_model." + _ldm_unet_key(k, unet.config.layers_per_block, attn_up): v
        for k, v in unet.state_dict().items()
    }
    for k, v in vae.state_dict().items():
        k, v = _ldm_vae_item(k, v, len(vae.config.up_block_types))
        out["first_stage_model." + k] = v
    for k, v in parts.text_encoders[0].state_dict().items():
        out["cond_stage_model.transformer.text_model." + k] = v
    return {k: v.contiguous() for k, v in out.items()}


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_the_ldm_export_inverts_diffusers_conversion(tiny_parts):
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint

    ldm = ldm_state_dict(tiny_parts)
    pairs = ((tiny_parts.unet, convert_ldm_unet_checkpoint), (tiny_parts.vae, convert_ldm_vae_checkpoint))
    for module, convert in pairs:
        back, ref = convert(ldm, dict(module.config)), module.state_dict()
        assert back.keys() == ref.keys() and all(torch.equal(back[k], ref[k]) for k in ref)


# ---------------------------------------------------------------- single files


@pytest.fixture(scope="module")
def tiny_file(tiny_parts, tmp_path_factory) -> Path:
    from safetensors.torch import save_file

    path = tmp_path_factory.mktemp("ckpt") / "tiny-sd.safetensors"
    save_file(ldm_state_dict(tiny_parts), str(path))
    return path


def test_single_safetensors_file_loads_offline_with_the_same_weights(tiny_parts, tiny_file):
    model = load_diffusers_model({"source": str(tiny_file), "device": "cpu"})
    assert _same_weights(model.unet, tiny_parts.unet) and _same_weights(model.vae, tiny_parts.vae)
    assert _same_weights(model.text_encoders[0], tiny_parts.text_encoders[0])
    identity = model.identity()
    assert identity["sha256"] == hashlib.sha256(tiny_file.read_bytes()).hexdigest()
    assert identity["arch"] == "tiny" and identity["random_weights"] is False and not model.random_weights
    x = torch.randn(1, *model.latent_shape(64, 64))
    cond = model.encode(["a cat"])
    with torch.no_grad():
        direct = tiny_parts.unet(x, torch.tensor([250.0]), encoder_hidden_states=cond.embeds).sample
    assert torch.allclose(model.eps(x, torch.tensor([250.0]), cond), direct, atol=1e-6)


def test_sha256_is_cached_by_path_size_and_mtime(tiny_file):
    expected = hashlib.sha256(tiny_file.read_bytes()).hexdigest()
    assert sd_sources.file_sha256(tiny_file) == expected
    cache = Path(os.environ["SAMPLERBENCH_CACHE_DIR"]) / "sha256.json"
    entries = json.loads(cache.read_text())
    assert entries[str(tiny_file.resolve())]["sha256"] == expected
    # a forged entry with the same stamp is believed: proof the file is not read again
    entries[str(tiny_file.resolve())]["sha256"] = "forged"
    cache.write_text(json.dumps(entries))
    sd_sources._HASHES.clear()
    assert sd_sources.file_sha256(tiny_file) == "forged"
    # a new mtime invalidates the entry
    stat = tiny_file.stat()
    os.utime(tiny_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert sd_sources.file_sha256(tiny_file) == expected


def test_unknown_architecture_in_a_file_is_a_user_error(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "odd.safetensors"
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(48, 4, 3, 3)}, str(path))
    with pytest.raises(UserError, match="unknown architecture .*known: sd15"):
        load_diffusers_model({"source": str(path)})
    save_file({"weight": torch.zeros(2)}, str(path))
    with pytest.raises(UserError, match="not a Stable Diffusion checkpoint"):
        load_diffusers_model({"source": str(path)})


def test_pickle_checkpoints_need_allow_pickle(tiny_parts, tmp_path):
    path = tmp_path / "tiny-sd.ckpt"
    torch.save({"state_dict": ldm_state_dict(tiny_parts)}, path)
    with pytest.raises(UserError, match="allow_pickle") as err:
        load_diffusers_model({"source": str(path)})
    assert "\n" not in str(err.value)
    model = load_diffusers_model({"source": str(path), "allow_pickle": True})
    assert _same_weights(model.unet, tiny_parts.unet)


def test_missing_files_and_odd_sources_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_diffusers_model({"source": str(tmp_path / "none.safetensors")})
    with pytest.raises(UserError, match="no model_index.json"):
        load_diffusers_model({"source": str(tmp_path)})
    with pytest.raises(UserError, match="neither a file, a folder nor a hub id"):
        load_diffusers_model({"source": "./no/such/thing"})


# ---------------------------------------------------------------- folders and the hub


def _save_tiny_pipeline(parts: SDComponents, folder: Path, safe: bool = True) -> Path:
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        vae=parts.vae,
        text_encoder=parts.text_encoders[0],
        tokenizer=parts.tokenizers[0],
        unet=parts.unet,
        scheduler=EulerDiscreteScheduler.from_config(ARCHS["tiny"].config("scheduler")),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=safe)
    return folder


def test_diffusers_folder_loads_with_a_content_hash(tiny_parts, tmp_path):
    folder = _save_tiny_pipeline(tiny_parts, tmp_path / "pipe")
    model = load_diffusers_model({"source": str(folder), "dtype": "float32"})
    assert _same_weights(model.unet, tiny_parts.unet)
    first = model.identity()["sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    config = folder / "scheduler" / "scheduler_config.json"
    config.write_text(config.read_text().replace('"epsilon"', '"v_prediction"'))
    changed = load_diffusers_model({"source": str(folder)})
    assert changed.identity()["sha256"] != first and changed.prediction_type == "v_prediction"


def test_folder_with_pickle_weights_needs_allow_pickle(tiny_parts, tmp_path):
    folder = _save_tiny_pipeline(tiny_parts, tmp_path / "pipe-bin", safe=False)
    assert list(folder.glob("unet/*.bin"))
    with pytest.raises(UserError, match="allow_pickle"):
        load_diffusers_model({"source": str(folder)})
    assert _same_weights(load_diffusers_model({"source": str(folder), "allow_pickle": True}).unet, tiny_parts.unet)


def test_unreachable_hub_is_a_fast_one_line_error():
    import diffusers.pipelines  # noqa: F401  (import time is not what this test measures)

    source = "samplerbench-tests/no-such-model"
    start = time.perf_counter()
    with pytest.raises(UserError) as err:
        load_diffusers_model({"source": source})
    assert time.perf_counter() - start < 10
    message = str(err.value)
    assert "\n" not in message and source in message and "local" in message


@pytest.mark.slow
def test_random_sd15_builds_with_the_published_sizes():
    start = time.perf_counter()
    model = load_diffusers_model({"arch": "sd15", "weights": "random", "device": "cpu"})
    print(f"random SD 1.5 build: {time.perf_counter() - start:.1f} s")
    assert 859e6 < sum(p.numel() for p in model.unet.parameters()) < 860e6  # SD 1.5 UNet: 859.52 M
    cond = model.encode(["a cat"])
    assert cond.embeds.shape == (1, 77, 768)
    eps = model.eps(torch.randn(1, *model.latent_shape(256, 256)), torch.tensor([500.0]), cond)
    assert torch.isfinite(eps).all()
