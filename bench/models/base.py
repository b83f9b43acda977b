"""The one interface every model offers to the samplers (DESIGN.md, "Models").

A model is what a UNet is to a sampler: a noise predictor on the discrete DDPM schedule. Both sampler
families (k-diffusion, diffusers) drive any model through this interface only, so a new model kind is
one class and one registry entry.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import torch


@runtime_checkable
class DiffusionModel(Protocol):
    """A text-conditioned epsilon-prediction model on SD's discrete schedule."""

    #: cumulative product of (1 - beta), shape [1000], float64 on the CPU
    alphas_cumprod: torch.Tensor
    #: device the model computes on; latents passed to `eps` live there
    device: torch.device
    #: dtype of the latents the samplers integrate (the model casts inside if it computes in fp16)
    dtype: torch.dtype

    def identity(self) -> dict[str, Any]:
        """Everything that changes this model's images (goes into every cell id)."""

    def encode(self, prompts: Sequence[str], clip_skip: int = 1) -> Any:
        """Conditioning for a batch of prompts ("" gives the unconditional conditioning)."""

    def concat_cond(self, uncond: Any, cond: Any) -> Any:
        """Conditioning for the batch [uncond rows; cond rows], so CFG costs one model call."""

    def eps(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any) -> torch.Tensor:
        """Noise prediction at DDPM-scaled x_t = sqrt(abar) x0 + sqrt(1-abar) eps; t may be fractional."""

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Clean latents [B, C, h, w] to images, uint8 RGB [B, H, W, 3] on the CPU."""

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(C, h, w) of the latents for an image of height x width pixels."""
