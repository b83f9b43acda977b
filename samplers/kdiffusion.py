"""The k-diffusion family: `k_diffusion.sampling.sample_*` driven through its discrete-DDPM eps denoiser.

The same adapter runs every function with k-diffusion's signature: the paper family (samplers/solvers_*.py,
`RUNS["paper"]`) and the user's own functions (samplers.plugins, `RUNS["user"]`), with the same noise rules.

The adapter absorbs every exception to the one calling convention:
- `dpm_fast` and `dpm_adaptive` take sigma bounds instead of a schedule: the model's, or as ComfyUI the
  ends of a chosen schedule (`bounds`); dpm_fast gets n = steps evaluations (the schedule's step count),
  dpm_adaptive ignores steps and stops at its tolerance (NFE is counted). A one-step schedule hands them
  an empty range (its only non-zero sigma): there the adapter takes the denoising step itself.
- DPM++ 2M/3M SDE fail on one step in k-diffusion 0.1.1; that step is a plain denoising step, taken here.
- Own noise, seeded per image from the cell's seeds so a batch never changes an image, as the task's noise
  convention says (samplers/noise_conventions.py): ancestral samplers draw from one CPU generator per
  image; SDE samplers get k-diffusion's `BrownianTreeNoiseSampler`, built and queried on the CPU.
- Where k-diffusion couples the images of a batch, the images run one at a time: dpm_adaptive's step
  controller takes one error norm over the batch, and the churn of euler/heun/dpm_2 (`s_churn > 0`)
  draws `torch.randn_like` from the global generator, which is then forked and seeded per image.
  The evaluations per image are handed back with the latents (`Sampled`).
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Callable

import torch

from samplers.algorithms import full_options
from samplers.base import Sampled, SamplerSpec, SampleTask, derive_seed
from samplers.catalogue import algorithm_of
from samplers.k_table import BOUNDED, PER_IMAGE
from samplers.noise_conventions import get as noise_convention
from samplers.plugins import runs as user_runs
from samplers.schedules import SCHEDULE_FUNCTIONS, discard_next_to_last
from samplers.solvers_table import PAPER_FUNCTIONS, Runs

#: family -> algorithm -> where its function lives (the k family: k_diffusion.sampling.sample_<algorithm>)
RUNS: dict[str, Callable[[str], Runs]] = {"paper": PAPER_FUNCTIONS.__getitem__, "user": user_runs}

#: function -> how it draws its own noise
NOISE_KIND: dict[str, str] = {
    "euler_ancestral": "ancestral",
    "dpm_2_ancestral": "ancestral",
    "dpmpp_2s_ancestral": "ancestral",
    "dpm_fast": "ancestral",
    "dpm_adaptive": "ancestral",
    "dpmpp_sde": "brownian",
    "dpmpp_2m_sde": "brownian",
    "dpmpp_3m_sde": "brownian",
}
#: k-diffusion's 2M and 3M SDE read `h` after a lone step to sigma 0 and raise UnboundLocalError; that
#: step is their denoising step (x = denoised), which the adapter takes itself
LONE_DENOISING_STEP = ("dpmpp_2m_sde", "dpmpp_3m_sde")


class _EpsModel(torch.nn.Module):
    """Adapts the runner's eps callable to the `model(x, t)` k-diffusion's DiscreteEpsDDPMDenoiser calls."""

    def __init__(self, eps) -> None:
        super().__init__()
        self.eps = eps
        self.calls = 0

    def forward(self, x: torch.Tensor, t: torch.Tensor, **_: Any) -> torch.Tensor:
        self.calls += 1
        return self.eps(x, t)


class PairDenoiser:
    """(x, sigma) -> (guided denoised, unconditional denoised) from one evaluation of the task's `eps_pair`,
    scaled as k-diffusion's DiscreteEpsDDPMDenoiser scales eps (c_in = 1 / sqrt(sigma^2 + 1), c_out = -sigma)."""

    def __init__(self, denoiser, task: SampleTask) -> None:
        if task.eps_pair is None:
            raise ValueError("this CFG++ sampler needs the unconditional prediction: the task has no eps_pair")
        self.denoiser, self.eps_pair = denoiser, task.eps_pair

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale = sigma.reshape(-1, *([1] * (x.ndim - 1)))
        guided, uncond = self.eps_pair(x / (scale**2 + 1) ** 0.5, self.denoiser.sigma_to_t(sigma))
        return x - scale * guided, x - scale * uncond


def sampler_function(k_diffusion, spec: SamplerSpec) -> tuple[Callable, str | None, bool]:
    """The function `spec` runs, how it draws its own noise, and whether it needs `denoise_pair` (CFG++)."""
    if spec.family == "k":
        return getattr(k_diffusion.sampling, f"sample_{spec.algorithm}"), NOISE_KIND.get(spec.algorithm), False
    runs = RUNS[spec.family](spec.algorithm)
    module, _, attr = runs.path.partition(":")
    return getattr(importlib.import_module(module), attr), runs.noise, runs.pair


def _import_k_diffusion():
    """k-diffusion imports clip-anytorch, which warns about pkg_resources on every import: hush that one."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        import k_diffusion
    return k_diffusion


def sigmas_for(spec: SamplerSpec, steps: int, model_sigmas: torch.Tensor, discard: bool = False) -> torch.Tensor:
    """The noise levels `spec` runs at, from the model's discrete sigmas [1000] ascending."""
    schedule = SCHEDULE_FUNCTIONS[spec.schedule]
    lo, hi = float(model_sigmas[0]), float(model_sigmas[-1])
    if discard:
        return discard_next_to_last(schedule, steps, lo, hi, model_sigmas)
    return schedule(steps, lo, hi, model_sigmas)


def bounds(spec: SamplerSpec, steps: int, model_sigmas: torch.Tensor) -> tuple[float, float, int]:
    """(sigma_min, sigma_max, n) for dpm_fast/dpm_adaptive: the model's range and `steps` on their own
    schedule; on another schedule its first and last non-zero sigma and its step count, as ComfyUI hands
    them these samplers (so `ddim_uniform` can give a step more and `beta` fewer, as there)."""
    if spec.schedule not in SCHEDULE_FUNCTIONS or spec.schedule == "exponential":
        return float(model_sigmas[0]), float(model_sigmas[-1]), steps
    sigmas = sigmas_for(spec, steps, model_sigmas)
    nonzero = sigmas[sigmas > 0]
    return float(nonzero[-1]), float(sigmas[0]), len(sigmas) - 1


def _options(spec: SamplerSpec, task: SampleTask) -> dict[str, Any]:
    algo = algorithm_of(spec)
    given = {**spec.option_dict, **task.options}
    return full_options(algo, given) if algo is not None else given


def sample(spec: SamplerSpec, task: SampleTask) -> torch.Tensor | Sampled:
    """Run `sample_<algorithm>` from the shared starting noise; clean latents [B, C, h, w]."""
    k_diffusion = _import_k_diffusion()
    options = _options(spec, task)
    one_by_one = PER_IMAGE.get(spec.algorithm, lambda o: False)(options)
    if not one_by_one:
        model = _EpsModel(task.eps)
        return _run(k_diffusion, spec, options, task, model)
    eps = task.eps if len(task.seeds) == 1 else task.eps_single
    if eps is None:
        raise ValueError(f"{spec.id} runs images one by one: the task needs eps_single (an eps for one image)")
    outs, counts = [], []
    for i, seed in enumerate(task.seeds):
        model = _EpsModel(eps)
        single = SampleTask(
            eps,
            task.alphas_cumprod,
            task.noise[i : i + 1],
            task.steps,
            (seed,),
            task.options,
            noise_convention=task.noise_convention,
        )
        outs.append(_run(k_diffusion, spec, options, single, model, churn_seed=derive_seed(seed, "churn")))
        counts.append(model.calls)
    return Sampled(torch.cat(outs), tuple(counts))


def sample_on(spec: SamplerSpec, task: SampleTask, sigmas: torch.Tensor) -> torch.Tensor:
    """`spec`'s algorithm on explicit noise levels (e.g. another library's), one batch; for comparisons."""
    return _run(_import_k_diffusion(), spec, _options(spec, task), task, _EpsModel(task.eps), sigmas=sigmas)


def _run(
    k_diffusion,
    spec: SamplerSpec,
    options: dict[str, Any],
    task: SampleTask,
    model: _EpsModel,
    churn_seed: int | None = None,
    sigmas: torch.Tensor | None = None,
) -> torch.Tensor:
    device = task.noise.device
    convention = noise_convention(task.noise_convention)
    denoiser = k_diffusion.external.DiscreteEpsDDPMDenoiser(model, task.alphas_cumprod.to(device), quantize=False)
    kwargs = {k: v for k, v in options.items() if k != "discard_next_to_last_sigma"}
    fn, noise_kind, wants_pair = sampler_function(k_diffusion, spec)
    if wants_pair:
        kwargs["denoise_pair"] = PairDenoiser(denoiser, task)
    if spec.algorithm in BOUNDED:
        lo, hi, n = bounds(spec, task.steps, denoiser.sigmas)
        x = convention.start(task.noise, hi, float(denoiser.sigma_max))
        if lo >= hi:  # a one-step schedule: an empty range, where k-diffusion would return x as it is
            return denoiser(x, hi * x.new_ones([x.shape[0]]))
        args: tuple = (lo, hi, n) if spec.algorithm == "dpm_fast" else (lo, hi)
        if options.get("eta", 0.0) > 0:
            kwargs["noise_sampler"] = convention.ancestral(x, task.seeds)
    else:
        if sigmas is None:  # computed from the float64 table, then in the latents' dtype: k-diffusion
            # promotes x to the sigmas' dtype (to_d divides by a [1, 1, 1, 1] sigma), as A1111 runs float32
            sigmas = sigmas_for(
                spec, task.steps, denoiser.sigmas, bool(options.get("discard_next_to_last_sigma", False))
            )
        sigmas = sigmas.to(device, task.noise.dtype)
        x = convention.start(task.noise, sigmas[0], float(denoiser.sigma_max))
        args = (sigmas,)
        kind = noise_kind
        if kind == "ancestral":
            kwargs["noise_sampler"] = convention.ancestral(x, task.seeds)
        elif kind == "brownian":
            kwargs["noise_sampler"] = convention.brownian(k_diffusion, x, sigmas, task.seeds)
    if spec.algorithm in LONE_DENOISING_STEP and len(args[0]) == 2:
        return denoiser(x, args[0][0] * x.new_ones([x.shape[0]]))
    # euler/heun/dpm_2 call torch.randn_like every step (used only with churn): keep the global
    # generator as it was, and seed it per image when churn uses it
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), warnings.catch_warnings():
        # torchsde clamps queries a rounding error outside the tree's interval, and says so each time
        warnings.filterwarnings("ignore", message="Should have t", category=UserWarning)
        if churn_seed is not None:
            torch.manual_seed(churn_seed)
        return fn(denoiser, x, *args, disable=True, **kwargs)
