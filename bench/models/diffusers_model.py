"""A Stable Diffusion pipeline (1.x, 2.x, XL) behind the `DiffusionModel` interface of bench/models/base.py.

The samplers never see the pipeline: they call `eps(x_t, t, cond)` on DDPM-scaled latents at fractional
t, exactly as they call the analytic model. CLIP skip follows the WebUIs (1 = last layer), the SDXL
added conditions are derived from the latent shape, and v-prediction UNets are converted to eps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import torch

from bench.errors import UserError
from bench.models.sd_build import SDComponents
from bench.models.sd_schedule import abar_at, alphas_cumprod_from_config, check_prediction_type, log_sigmas, to_eps

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}
SPEC_KEYS = (
    "kind",
    "source",
    "arch",
    "weights",
    "seed",
    "dtype",
    "device",
    "variant",
    "revision",
    "allow_pickle",
    "prediction_type",
    "compile",
)


@dataclass(frozen=True)
class SDCond:
    """Text conditioning: CLIP hidden states [B, 77, D] and, for SDXL, pooled embeddings [B, P]."""

    embeds: torch.Tensor
    pooled: torch.Tensor | None = None

    @property
    def batch(self) -> int:
        return self.embeds.shape[0]

    def rows(self, n: int) -> "SDCond":
        """The conditioning for n latents: each row repeated for a block of n / batch consecutive latents,
        so [uncond; cond] from `concat_cond` serves [B seeds uncond; B seeds cond]."""
        if n == self.batch:
            return self
        if n % self.batch:
            raise ValueError(f"conditioning of batch {self.batch} cannot serve {n} latents")
        k = n // self.batch
        return SDCond(
            self.embeds.repeat_interleave(k, 0), None if self.pooled is None else self.pooled.repeat_interleave(k, 0)
        )


class DiffusersModel:
    """Noise prediction, text encoding and VAE decoding of one loaded SD pipeline."""

    def __init__(
        self,
        parts: SDComponents,
        *,
        device: torch.device,
        dtype: torch.dtype,
        identity: Mapping[str, Any],
        random_weights: bool,
        prediction_type: str | None = None,
        compile_unet: bool = False,
    ) -> None:
        self.device, self.compute_dtype = device, dtype
        self.dtype = torch.float64 if dtype == torch.float64 else torch.float32  # latents the samplers hold
        self.random_weights = random_weights
        self.is_xl = len(parts.text_encoders) == 2
        # diffusers/transformers modules: their config attributes are untyped to torch.nn.Module
        self.unet: Any = parts.unet.to(device).eval()
        # SDXL's VAE overflows in fp16: diffusers' SDXL pipeline decodes in fp32 when force_upcast is set
        vae: Any = parts.vae
        upcast = self.is_xl and dtype == torch.float16 and vae.config.get("force_upcast", False)
        self.vae: Any = torch.nn.Module.to(parts.vae, device, torch.float32 if upcast else dtype).eval()
        self.text_encoders: tuple[Any, ...] = tuple(enc.to(device).eval() for enc in parts.text_encoders)
        self.tokenizers = parts.tokenizers
        self.zero_empty_prompt = self.is_xl and parts.force_zeros_for_empty_prompt
        self.alphas_cumprod = alphas_cumprod_from_config(parts.scheduler_config)
        self._log_sigma = log_sigmas(self.alphas_cumprod)
        self.prediction_type = check_prediction_type(
            prediction_type or parts.scheduler_config.get("prediction_type") or "epsilon"
        )
        self.vae_scale = 2 ** (len(vae.config.block_out_channels) - 1)
        self.max_clip_skip: int = min(enc.config.num_hidden_layers for enc in self.text_encoders)
        self._identity = {
            "kind": "diffusers",
            **identity,
            "dtype": str(dtype).removeprefix("torch."),
            "prediction_type": self.prediction_type,
            "random_weights": random_weights,
        }
        self._unet_call = torch.compile(self.unet) if compile_unet else self.unet

    # ------------------------------------------------------------------ interface
    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        s = self.vae_scale
        if height % s or width % s or height <= 0 or width <= 0:
            raise UserError(
                f"size: {width}x{height} is not a positive multiple of {s} (the VAE downsamples "
                f"by {s}); use e.g. {max(s, width // s * s)}x{max(s, height // s * s)}"
            )
        return (self.unet.config.in_channels, height // s, width // s)

    def encode(self, prompts: Sequence[str], clip_skip: int = 1) -> SDCond:
        if not 1 <= clip_skip <= self.max_clip_skip:
            raise UserError(
                f"clip_skip: {clip_skip} is out of range for this text encoder; "
                f"allowed 1..{self.max_clip_skip} (1 = last layer)"
            )
        prompts = list(prompts)
        with torch.no_grad():
            outputs = [self._run_text(enc, tok, prompts) for enc, tok in zip(self.text_encoders, self.tokenizers)]
        if not self.is_xl:  # WebUI CLIP skip N: hidden_states[-N] through the final layer norm
            encoder, out = self.text_encoders[0], outputs[0]
            final_norm: Any = getattr(encoder, "text_model", encoder).final_layer_norm
            with torch.no_grad():
                cond = SDCond(final_norm(out.hidden_states[-clip_skip]))
        else:  # SDXL: penultimate layer at N = 1 (diffusers' clip_skip = N - 1), no norm; pooled from CLIP-G
            embeds = torch.cat([out.hidden_states[-(clip_skip + 1)] for out in outputs], dim=-1)
            cond = SDCond(embeds, outputs[1].text_embeds)
            if self.zero_empty_prompt:
                cond = _zero_rows(cond, [p == "" for p in prompts])
        return SDCond(
            cond.embeds.to(self.compute_dtype), None if cond.pooled is None else cond.pooled.to(self.compute_dtype)
        )

    def concat_cond(self, uncond: SDCond, cond: SDCond) -> SDCond:
        n = max(uncond.batch, cond.batch)
        uncond, cond = uncond.rows(n), cond.rows(n)
        pooled = None if cond.pooled is None or uncond.pooled is None else torch.cat([uncond.pooled, cond.pooled])
        return SDCond(torch.cat([uncond.embeds, cond.embeds]), pooled)

    def eps(self, x_t: torch.Tensor, t: torch.Tensor, cond: SDCond) -> torch.Tensor:
        batch = x_t.shape[0]
        cond = cond.rows(batch)
        t = torch.as_tensor(t, device=self.device).to(torch.float64).reshape(-1).expand(batch)
        added = None
        if self.is_xl:
            added = {"text_embeds": cond.pooled, "time_ids": self._time_ids(x_t.shape[-2:], batch)}
        with torch.no_grad():
            out = self._unet_call(
                x_t.to(self.device, self.compute_dtype),
                t.to(torch.float32),
                encoder_hidden_states=cond.embeds,
                added_cond_kwargs=added,
                return_dict=False,
            )[0]
        x = x_t.to(self.device, self.dtype)
        return to_eps(self.prediction_type, out.to(self.dtype), x, abar_at(self._log_sigma, t))

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        config = self.vae.config
        z = latents.to(self.device, self.vae.dtype) / config.scaling_factor
        if config.get("shift_factor") is not None:
            z = z + config.shift_factor
        with torch.no_grad():
            images = self.vae.decode(z, return_dict=False)[0]
        images = ((images.float() / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)
        return images.permute(0, 2, 3, 1).cpu()

    def environment(self) -> dict[str, Any]:
        """Library versions, device and attention kernels (the GPU, CUDA, cuDNN and SDPA ones on CUDA)."""
        from bench.models.sd_env import cuda_environment, library_versions

        processors = sorted({type(p).__name__ for p in self.unet.attn_processors.values()})
        env = {
            **library_versions(),
            "device": str(self.device),
            "dtype": self._identity["dtype"],
            "attention_processors": processors,
            "compiled": self._unet_call is not self.unet,
        }
        if self.device.type == "cuda":
            env.update(cuda_environment(self.device, self.compute_dtype, head_dim=64))
        return env

    # ------------------------------------------------------------------ helpers
    def _run_text(self, encoder: torch.nn.Module, tokenizer: Any, prompts: list[str]) -> Any:
        ids = tokenizer(
            prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
        ).input_ids.to(self.device)
        return encoder(ids, output_hidden_states=True)

    def _time_ids(self, latent_hw: torch.Size, batch: int) -> torch.Tensor:
        """SDXL micro-conditioning: original size, crop (0, 0), target size = the image size, as (h, w)."""
        h, w = (int(n) * self.vae_scale for n in latent_hw)
        ids = torch.tensor([h, w, 0, 0, h, w], device=self.device, dtype=self.compute_dtype)
        return ids.expand(batch, 6)


def _zero_rows(cond: SDCond, mask: list[bool]) -> SDCond:
    """SDXL's "" prompt as diffusers encodes it by default (force_zeros_for_empty_prompt): all zeros."""
    if not any(mask):
        return cond
    keep = torch.tensor([not m for m in mask], device=cond.embeds.device, dtype=cond.embeds.dtype)
    return SDCond(cond.embeds * keep.view(-1, 1, 1), None if cond.pooled is None else cond.pooled * keep.view(-1, 1))


# ---------------------------------------------------------------------- loading


def _device(value: str | None) -> torch.device:
    if value is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError):
        raise UserError(f"model.device: {value!r} is not a torch device; use cuda, cuda:N or cpu") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"model.device: {value} requested but no CUDA device is available; use device: cpu")
    return device


def _dtype(value: str | None, device: torch.device) -> torch.dtype:
    if value is None:
        return torch.float16 if device.type == "cuda" else torch.float32
    if value not in DTYPES:
        raise UserError(f"model.dtype: {value!r} is not supported; allowed: {', '.join(DTYPES)}")
    return DTYPES[value]


def load_diffusers_model(spec: Mapping[str, Any]) -> DiffusersModel:
    """Build the model the YAML `model:` mapping describes: {source: hub id | folder | file} or
    {arch: sd15|sd21|sdxl|tiny|tiny-xl, weights: random, seed}."""
    from bench.models import sd_sources
    from bench.models.sd_build import build_random
    from bench.models.sd_configs import get_arch

    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise UserError(f"model: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(SPEC_KEYS[1:])}")
    if ("source" in spec) == ("arch" in spec):
        raise UserError("model: give exactly one of source: (hub id, folder or .safetensors) or arch:")
    device = _device(spec.get("device"))
    dtype = _dtype(spec.get("dtype"), device)
    prediction_type = spec.get("prediction_type")
    if "arch" in spec:
        if spec.get("weights") != "random":
            raise UserError(
                f"model.weights: arch {spec['arch']!r} has no weights here; set weights: random "
                "(time and memory only) or give model.source"
            )
        arch = get_arch(spec["arch"])
        seed = int(spec.get("seed", 0))
        parts, identity, random_weights = build_random(arch, seed, dtype), {"arch": arch.name, "seed": seed}, True
    else:
        if spec.get("weights", "pretrained") != "pretrained":
            raise UserError("model.weights: random weights need arch: (sd15, sd21, sdxl, tiny, tiny-xl), not source:")
        source, allow_pickle = str(spec["source"]), bool(spec.get("allow_pickle", False))
        kind = sd_sources.classify(source)
        if kind == "file":
            parts, pins = sd_sources.load_single_file(source, dtype, allow_pickle)
        else:
            parts, pins = sd_sources.load_pretrained(
                source, kind, dtype, spec.get("variant"), spec.get("revision"), allow_pickle
            )
        variant = {"variant": spec["variant"]} if spec.get("variant") else {}
        identity, random_weights = {"source": source, **variant, **pins}, False
    return DiffusersModel(
        parts,
        device=device,
        dtype=dtype,
        identity=identity,
        random_weights=random_weights,
        prediction_type=prediction_type,
        compile_unet=bool(spec.get("compile", False)),
    )
