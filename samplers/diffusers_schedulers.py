"""The diffusers family: a scheduler's `set_timesteps` / `scale_model_input` / `step` loop over the model's eps.

- The scheduler is built to match the model's own `alphas_cumprod`: SD's scaled-linear config when the
  model's schedule is SD's (diffusers then computes the same betas in float32), else `trained_betas`
  derived from it (beta_t = 1 - abar_t / abar_{t-1}), which every class here honours.
- The loop starts from the shared starting noise times `init_noise_sigma` (sigma_max or
  sqrt(sigma_max^2 + 1) for the sigma-based schedulers, 1 for DDIM-like ones), so every family starts
  from the same draw; the model sees `scale_model_input(x, t)`, i.e. DDPM-scaled x_t, at t as a float [B].
- One scheduler per image, the model called on the whole batch (`Loop`): a batch never changes an image.
- EDMEuler / EDMDPMSolverMultistep (`EdmBridge`): their "epsilon" is EDM's F-parametrisation (c_skip =
  sigma_data^2 / (sigma^2 + sigma_data^2)), which no sigma_data turns into x0 = x - sigma eps; their
  v-prediction with sigma_data 1 is SD's own sigma-space parametrisation (c_in = 1/sqrt(sigma^2 + 1),
  x0 = x/(sigma^2 + 1) - sigma v/sqrt(sigma^2 + 1)). So they run on the model's sigma range as v-prediction,
  the model sees the timestep of their sigma (log-linear, as k-diffusion), and gets back the exact v its eps
  implies: v = (eps - sigma x0) / sqrt(sigma^2 + 1).
- Own noise: each image's `step()` gets its CPU generator, seeded `derive_seed(seed, "ancestral")` as the
  k-diffusion family's ancestral noise (so Euler a draws the same numbers in both families);
  DPMSolverSDE gets its Brownian tree through `noise_sampler_seed`, seeded as k-diffusion's.
"""

from __future__ import annotations

import copy
import inspect
import logging
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from samplers.algorithms import Algorithm, full_options
from samplers.base import SamplerSpec, SampleTask, derive_seed
from samplers.catalogue import algorithm_of
from samplers.diffusers_table import EDM, SD_CONFIG, SIGMA_FLAGS, SPACINGS
from samplers.schedules import sd_alphas_cumprod


@lru_cache(maxsize=None)
def scheduler_class(name: str):
    """The diffusers class `<name>Scheduler` (imports diffusers on first use)."""
    import diffusers

    return getattr(diffusers, f"{name}Scheduler")


def _init_params(cls) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters) - {"self"}


def betas_from(alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """beta_t = 1 - abar_t / abar_{t-1} (beta_0 = 1 - abar_0): the betas whose cumulative product is abar."""
    abar = alphas_cumprod.detach().double().cpu()
    return 1.0 - abar / torch.cat([abar.new_ones(1), abar[:-1]])


def beta_config(alphas_cumprod: torch.Tensor) -> dict[str, Any]:
    """The config entries that give a scheduler the model's own noise schedule."""
    abar = alphas_cumprod.detach().double().cpu()
    if len(abar) == SD_CONFIG["num_train_timesteps"] and torch.allclose(abar, sd_alphas_cumprod(), rtol=1e-9, atol=0):
        return {k: SD_CONFIG[k] for k in ("beta_start", "beta_end", "beta_schedule")}
    return {"trained_betas": betas_from(abar).tolist(), "beta_schedule": "linear"}


def scheduler_config(
    spec: SamplerSpec,
    algo: Algorithm | None,
    options: dict[str, Any],
    alphas_cumprod: torch.Tensor,
    seeds: tuple[int, ...],
) -> dict[str, Any]:
    """Constructor arguments for `spec`'s scheduler class: SD config, the model's betas, schedule, options."""
    config: dict[str, Any] = {**SD_CONFIG, **beta_config(alphas_cumprod), "num_train_timesteps": len(alphas_cumprod)}
    if spec.schedule in SPACINGS:
        config["timestep_spacing"] = spec.schedule
    elif spec.schedule in SIGMA_FLAGS:
        config[SIGMA_FLAGS[spec.schedule]] = True
    if spec.algorithm in EDM:  # the model's sigma range, as v-prediction in SD's parametrisation (EdmBridge)
        sigmas = model_sigmas(alphas_cumprod)
        config.update(sigma_min=float(sigmas[0]), sigma_max=float(sigmas[-1]), sigma_schedule=spec.schedule)
        config.update(sigma_data=1.0, prediction_type="v_prediction")
    targets = algo.options if algo is not None else {}
    config.update({k: v for k, v in options.items() if k not in targets or targets[k].target == "config"})
    if spec.algorithm == "DPMSolverSDE":  # one Brownian tree per image, seeded per image
        config["noise_sampler_seed"] = [derive_seed(s, "brownian") for s in seeds]
    params = _init_params(scheduler_class(spec.algorithm))
    return {k: v for k, v in config.items() if k in params}


def model_sigmas(alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """The model's discrete sigmas [T], ascending, float64 on the CPU."""
    abar = alphas_cumprod.detach().double().cpu()
    return ((1 - abar) / abar) ** 0.5


@dataclass
class EdmBridge:
    """Runs an eps model under an EDM-style scheduler set to v-prediction with sigma_data 1 (module doc)."""

    log_sigmas: torch.Tensor  # the model's, ascending, float64

    def timestep(self, sigma: float) -> float:
        """The model's fractional timestep at `sigma`, linear in log sigma (k-diffusion's sigma_to_t)."""
        table = self.log_sigmas
        log_sigma = min(max(math.log(sigma), float(table[0])), float(table[-1]))
        high = int(torch.searchsorted(table, torch.tensor(log_sigma, dtype=table.dtype)).clamp(1, len(table) - 1))
        w = (log_sigma - float(table[high - 1])) / float(table[high] - table[high - 1])
        return high - 1 + w

    @staticmethod
    def v(eps: torch.Tensor, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """The v-prediction that eps implies at sigma: x0 = x - sigma eps, v = (eps - sigma x0)/sqrt(sigma^2 + 1)."""
        return (eps - sigma * (x - sigma * eps)) / math.sqrt(sigma**2 + 1)


@dataclass
class Loop:
    """One scheduler per image (copies after `set_timesteps`), each with its own step() arguments.

    The model sees the whole batch at once (batched speed), but every image steps through its own
    scheduler on its own [1, C, h, w] tensor, so no scheduler arithmetic mixes images: an image is
    bit-identical alone or in any batch whatever the class does inside (UniPC's einsum over its history,
    for one, rounds differently with the batch size).
    """

    schedulers: list[Any]
    step_kwargs: list[dict[str, Any]]
    bridge: EdmBridge | None = None  # EDM-style classes: the model's timestep and v from its eps

    @property
    def init_noise_sigma(self):
        return self.schedulers[0].init_noise_sigma

    @property
    def timesteps(self) -> torch.Tensor:
        return self.schedulers[0].timesteps


def build(spec: SamplerSpec, task: SampleTask) -> Loop:
    """The per-image schedulers, timesteps set, and their step() keyword arguments, for one batch."""
    algo = algorithm_of(spec)
    options = full_options(algo, {**spec.option_dict, **task.options}) if algo else dict(spec.option_dict)
    cls = scheduler_class(spec.algorithm)
    base = cls(**scheduler_config(spec, algo, options, task.alphas_cumprod, task.seeds[:1]))
    base.set_timesteps(task.steps, device=task.noise.device)
    targets = algo.options if algo is not None else {}
    shared = {k: v for k, v in options.items() if k in targets and targets[k].target == "step"}
    takes_generator = "generator" in inspect.signature(cls.step).parameters
    schedulers, step_kwargs = [], []
    for seed in task.seeds:
        scheduler = copy.deepcopy(base)
        if hasattr(scheduler, "noise_sampler_seed"):  # DPMSolverSDE: this image's Brownian tree
            scheduler.noise_sampler_seed = [derive_seed(seed, "brownian")]
        kwargs = dict(shared)
        if takes_generator:
            kwargs["generator"] = [torch.Generator().manual_seed(derive_seed(seed, "ancestral"))]
        schedulers.append(scheduler)
        step_kwargs.append(kwargs)
    bridge = EdmBridge(model_sigmas(task.alphas_cumprod).log()) if spec.algorithm in EDM else None
    return Loop(schedulers, step_kwargs, bridge)


def denoise(loop: Loop, eps, x: torch.Tensor) -> torch.Tensor:
    """The diffusers sampling loop from x (already scaled by init_noise_sigma) to clean latents."""
    rows = [x[i : i + 1].clone() for i in range(x.shape[0])]  # fresh tensors: the same as alone
    for t in loop.timesteps:
        x_in = torch.cat([s.scale_model_input(row, t) for s, row in zip(loop.schedulers, rows)])
        bridge, first = loop.bridge, loop.schedulers[0]
        sigma = float(first.sigmas[first.step_index]) if bridge else 0.0
        model_t = bridge.timestep(sigma) if bridge else float(t)
        out = eps(x_in, torch.full((len(rows),), model_t, device=x.device))
        if bridge:
            out = torch.cat([bridge.v(out[i : i + 1], row, sigma) for i, row in enumerate(rows)])
        rows = [
            s.step(out[i : i + 1].clone(), t, row, **kw).prev_sample
            for i, (s, row, kw) in enumerate(zip(loop.schedulers, rows, loop.step_kwargs))
        ]
    return torch.cat(rows)


@contextmanager
def quiet():
    """Hush what diffusers logs per scheduler (e.g. DPMSolverSinglestep adjusting lower_order_final for odd
    steps, said on every build) and torchsde's notes on clamped queries; both are its normal behaviour."""
    logger = logging.getLogger("diffusers")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Should have t", category=UserWarning)
            yield
    finally:
        logger.setLevel(level)


def sample(spec: SamplerSpec, task: SampleTask) -> torch.Tensor:
    """Run the scheduler's loop from the shared starting noise; clean latents [B, C, h, w]."""
    with quiet():
        loop = build(spec, task)
        return denoise(loop, task.eps, task.noise * loop.init_noise_sigma)
