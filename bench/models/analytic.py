"""The analytic model: Gaussian-mixture data, so the ideal denoiser is closed-form (DESIGN.md).

Latents are the RGB image itself in [-1, 1] (C=3, no VAE). A prompt names a concept (`concepts.py`)
whose K component means mu_k carry weights w_k (proportional to K..1) and a shared std s; the
unconditional data ("" as prompt or as negative prompt) are a fixed mixture over the whole vocabulary
(every colour x shape on the default background, equal concept weights times w_k).

Schedule: SD's scaled-linear betas, beta = linspace(sqrt(0.00085), sqrt(0.012), 1000)^2 (float64),
abar = cumprod(1 - beta), sigma = sqrt((1 - abar) / abar). A fractional t interpolates log(sigma)
linearly between floor(t) and ceil(t) (as k-diffusion's `DiscreteSchedule.t_to_sigma`), then
abar = 1 / (1 + sigma^2) and 1 - abar = sigma^2 / (1 + sigma^2).

Exact maths, for DDPM-scaled x_t = sqrt(abar) x0 + sqrt(1 - abar) e:
  the noised marginal of component k is N(a mu_k, v I), a = sqrt(abar), v = abar s^2 + 1 - abar;
  responsibilities r_k ∝ w_k exp(-||x_t - a mu_k||^2 / 2v); the term ||x_t||^2 is the same for every
  k and cancels, so the logits are log w_k + (a x_t·mu_k - abar ||mu_k||^2 / 2) / v (log-sum-exp);
  E[x0|x_t] = sum_k r_k (mu_k + (a s^2 / v)(x_t - a mu_k)) = m + (a s^2 / v)(x_t - a m), m = sum_k r_k mu_k;
  eps = (x_t - a E[x0|x_t]) / sqrt(1 - abar), which simplifies exactly to sqrt(1 - abar)(x_t - a m) / v:
  the same number without dividing by the small sqrt(1 - abar) near t = 0, so no NaN/inf at any t.
Everything inside is float64 (logits of order D/v lose their differences in float32); the model's
dtype is the dtype of the latents it takes and returns.

Batch invariance: a row's eps is bit-identical alone or in any batch, because every row is computed on
its own (a fresh, aligned copy; the same [K, D] x [D] product whatever the batch size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from bench.errors import UserError
from bench.models.concepts import Concept, component_weights, parse_prompt, render, vocabulary
from samplers.schedules import sd_alphas_cumprod

NUM_TIMESTEPS = 1000
_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


@dataclass(frozen=True)
class Mixture:
    """An isotropic Gaussian mixture over flat images: means [K, D], log_weights [K], shared std."""

    means: torch.Tensor
    log_weights: torch.Tensor
    std: float


@dataclass(frozen=True)
class _Prepared:
    """A mixture in float64 with ||mu_k||^2 precomputed: what the per-row maths reads."""

    means: torch.Tensor  # [K, D] float64
    sq_norms: torch.Tensor  # [K]
    log_weights: torch.Tensor  # [K], normalised
    std: float


def _prepare(mixture: Mixture, device: torch.device | str = "cpu") -> _Prepared:
    means = mixture.means.to(device=device, dtype=torch.float64).contiguous()
    logw = mixture.log_weights.to(device=device, dtype=torch.float64)
    return _Prepared(means, (means * means).sum(dim=1), logw - torch.logsumexp(logw, 0), float(mixture.std))


def _weighted_mean(x: torch.Tensor, abar: float, mix: _Prepared) -> tuple[torch.Tensor, float, float]:
    """m = sum_k r_k mu_k for one flat row x (float64 [D]), with a = sqrt(abar) and v."""
    a = math.sqrt(abar)
    v = abar * mix.std**2 + (1.0 - abar)
    logits = mix.log_weights + (a * torch.mv(mix.means, x) - 0.5 * abar * mix.sq_norms) / v
    r = torch.softmax(logits, dim=0)
    return torch.mv(mix.means.t(), r), a, v


def _rows(x: torch.Tensor) -> list[torch.Tensor]:
    """Each row flattened into its own fresh float64 tensor (same alignment and kernel for every row)."""
    flat = x.reshape(x.shape[0], -1)
    return [flat[i].to(torch.float64).clone() for i in range(flat.shape[0])]


def _as_abar_list(abar: float | torch.Tensor, batch: int) -> list[float]:
    values = torch.as_tensor(abar, dtype=torch.float64).reshape(-1).tolist()
    if len(values) == 1:
        values = values * batch
    if len(values) != batch or not all(0.0 < v <= 1.0 for v in values):
        raise ValueError(f"abar must be one value or {batch} values in (0, 1]; got {values}")
    return values


def posterior_mean(x_t: torch.Tensor, abar: float | torch.Tensor, mixture: Mixture) -> torch.Tensor:
    """E[x0 | x_t] under `mixture` for DDPM-scaled x_t [B, D] (or [B, C, H, W]); abar scalar or [B].

    Exact (float64 inside, returned in x_t's dtype and shape); row by row, so batch invariant.
    """
    mix = _prepare(mixture, x_t.device)
    out = []
    for x, abar_i in zip(_rows(x_t), _as_abar_list(abar, x_t.shape[0])):
        m, a, v = _weighted_mean(x, abar_i, mix)
        out.append(m + (a * mix.std**2 / v) * (x - a * m))
    return torch.stack(out).reshape(x_t.shape).to(x_t.dtype)


def sample_mixture(mixture: Mixture, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """n exact draws x0 ~ sum_k w_k N(mu_k, s^2 I) from the clean data: [n, D] in the means' dtype."""
    weights = torch.softmax(mixture.log_weights.to(torch.float64).cpu(), dim=0)
    ks = torch.multinomial(weights, n, replacement=True, generator=generator)
    noise = torch.randn((n, mixture.means.shape[1]), generator=generator, dtype=torch.float64)
    x0 = mixture.means.detach().cpu().to(torch.float64)[ks] + mixture.std * noise
    return x0.to(device=mixture.means.device, dtype=mixture.means.dtype)


@dataclass(frozen=True)
class AnalyticCond:
    """Conditioning: one row per image, each a concept or None (the unconditional mixture)."""

    rows: tuple[Concept | None, ...]

    def __len__(self) -> int:
        return len(self.rows)


def _user_check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(f"analytic model: {message}")


class AnalyticModel:
    """The exact Gaussian-mixture model (implements `bench.models.base.DiffusionModel`)."""

    #: it computes row by row with small matrix-vector products, which extra intra-op threads only slow
    #: down (measured 10-100x on a shared 2-core machine); the runner applies this while the model runs
    torch_threads = 1

    def __init__(
        self,
        components: int = 4,
        std: float = 0.1,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> None:
        _user_check(
            isinstance(components, int) and not isinstance(components, bool) and components >= 1,
            f"components must be an integer >= 1; got {components!r}",
        )
        _user_check(
            isinstance(std, (int, float)) and math.isfinite(std) and std > 0, f"std must be a number > 0; got {std!r}"
        )
        _user_check(dtype in _DTYPES, f"dtype must be one of {', '.join(map(str, _DTYPES))}; got {dtype!r}")
        self.components, self.std, self.dtype = components, float(std), dtype
        self.device = torch.device(device)
        self.alphas_cumprod = sd_alphas_cumprod()
        self._log_sigmas = (((1 - self.alphas_cumprod) / self.alphas_cumprod) ** 0.5).log().tolist()
        self._cache: dict[tuple[Concept | None, int, int], _Prepared] = {}

    # -- the DiffusionModel interface ------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        return {
            "kind": "analytic",
            "version": 1,
            "components": self.components,
            "std": self.std,
            "dtype": str(self.dtype).removeprefix("torch."),
        }

    def encode(self, prompts: Sequence[str], clip_skip: int = 1) -> AnalyticCond:
        """One row per prompt; "" (or blank) is the unconditional mixture. clip_skip is ignored here
        (there is no text encoder); it is accepted so every model takes the same arguments."""
        if isinstance(prompts, str):
            raise TypeError("encode takes a sequence of prompts, not one string")
        return AnalyticCond(tuple(None if not p.strip() else parse_prompt(p) for p in prompts))

    def concat_cond(self, uncond: AnalyticCond, cond: AnalyticCond) -> AnalyticCond:
        return AnalyticCond(uncond.rows + cond.rows)

    def eps(self, x_t: torch.Tensor, t: torch.Tensor, cond: AnalyticCond) -> torch.Tensor:
        """Exact eps for DDPM-scaled x_t [B, 3, H, W] at (fractional) t [B] in [0, 999]."""
        if x_t.ndim != 4 or x_t.shape[1] != 3:
            raise ValueError(f"analytic eps expects x_t of shape [B, 3, H, W]; got {tuple(x_t.shape)}")
        batch, _, height, width = x_t.shape
        if len(cond) != batch:
            raise ValueError(f"analytic eps: cond has {len(cond)} rows for a batch of {batch}")
        x = x_t.to(device=self.device, dtype=self.dtype)
        out = []
        for x_row, t_i, row in zip(_rows(x), self._timesteps(t, batch), cond.rows):
            abar, one_minus = self.abar(t_i)
            m, a, v = _weighted_mean(x_row, abar, self._prepared(row, height, width))
            out.append((math.sqrt(one_minus) / v) * (x_row - a * m))
        return torch.stack(out).reshape(x.shape).to(self.dtype)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents are the image: clamp to [-1, 1], (x + 1) / 2 * 255, round; uint8 [B, H, W, 3], CPU."""
        if latents.ndim != 4 or latents.shape[1] != 3:
            raise ValueError(f"analytic decode expects [B, 3, H, W]; got {tuple(latents.shape)}")
        pixels = ((latents.detach().cpu().float().clamp(-1, 1) + 1) * 127.5).round()
        return pixels.to(torch.uint8).permute(0, 2, 3, 1).contiguous()

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        return (3, height, width)

    # -- schedule ----------------------------------------------------------------------------------------

    def abar(self, t: float) -> tuple[float, float]:
        """(abar, 1 - abar) at a fractional timestep, interpolating log sigma like k-diffusion."""
        if not 0.0 <= t <= NUM_TIMESTEPS - 1:
            raise ValueError(f"timestep must be in [0, {NUM_TIMESTEPS - 1}]; got {t}")
        low, high = math.floor(t), math.ceil(t)
        w = t - low
        sigma2 = math.exp(2.0 * ((1.0 - w) * self._log_sigmas[low] + w * self._log_sigmas[high]))
        return 1.0 / (1.0 + sigma2), sigma2 / (1.0 + sigma2)

    @staticmethod
    def _timesteps(t: torch.Tensor | float, batch: int) -> list[float]:
        values = torch.as_tensor(t).detach().to("cpu", torch.float64).reshape(-1).tolist()
        if len(values) == 1:
            values = values * batch  # one timestep for the whole batch, as diffusers passes it
        if len(values) != batch:
            raise ValueError(f"analytic eps: t has {len(values)} values for a batch of {batch}")
        return values

    # -- mixtures, for the samplers and for the exact quality metrics --------------------------------------

    def _concept_mixture(self, concept: Concept, height: int, width: int) -> Mixture:
        means = torch.from_numpy(render(concept, height, width, self.components)).reshape(self.components, -1)
        log_w = torch.from_numpy(component_weights(self.components)).log()
        return Mixture(means, log_w, self.std)

    def _vocabulary_mixture(self, height: int, width: int, extra: Concept | None = None) -> Mixture:
        concepts = vocabulary() + ((extra,) if extra is not None and extra not in vocabulary() else ())
        parts = [self._concept_mixture(c, height, width) for c in concepts]
        log_w = torch.cat([p.log_weights for p in parts]) - math.log(len(concepts))
        return Mixture(torch.cat([p.means for p in parts]), log_w, self.std)

    def _mixture(self, row: Concept | None, height: int, width: int) -> Mixture:
        if row is None:
            return self._vocabulary_mixture(height, width)
        return self._concept_mixture(row, height, width)

    def _prepared(self, row: Concept | None, height: int, width: int) -> _Prepared:
        key = (row, height, width)
        if key not in self._cache:
            self._cache[key] = _prepare(self._mixture(row, height, width), self.device)
        return self._cache[key]

    def mixture_for(self, prompt: str, height: int, width: int) -> Mixture:
        """The clean data distribution a prompt names ("" gives the unconditional mixture), float64."""
        row = None if not prompt.strip() else parse_prompt(prompt)
        return self._mixture(row, height, width)

    def concept_posterior(self, x0: torch.Tensor, prompt: str, height: int, width: int) -> torch.Tensor:
        """P(the prompt's concept | clean image x0) against the rest of the unconditional vocabulary.

        x0 [B, 3, H, W] or [B, D] in [-1, 1]; the prompt's concept joins the vocabulary (equal concept
        weights) if it is not in it. float64 [B]. The empty prompt has no concept: ValueError.
        """
        if not prompt.strip():
            raise ValueError("concept_posterior: the empty prompt names no concept (it is every concept)")
        concept = parse_prompt(prompt)
        mix = self._vocabulary_mixture(height, width, extra=concept)
        vocab = vocabulary()
        index = vocab.index(concept) if concept in vocab else len(vocab)
        mine = slice(index * self.components, (index + 1) * self.components)
        means = mix.means.to(torch.float64)
        out = []
        for x in _rows(x0):
            if x.shape[0] != means.shape[1]:
                raise ValueError(
                    f"concept_posterior: x0 rows have {x.shape[0]} values, "
                    f"a {height}x{width} image has {means.shape[1]}"
                )
            logits = mix.log_weights - ((x - means) ** 2).sum(dim=1) / (2 * self.std**2)
            out.append((torch.logsumexp(logits[mine], 0) - torch.logsumexp(logits, 0)).exp())
        return torch.stack(out)
