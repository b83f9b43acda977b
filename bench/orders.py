"""The order of convergence of a deterministic sampler, measured on the analytic model against its exact ODE.

One task per step count (same starting noise, CFG 1 so the ODE is smooth), the sampler's output against the
probability-flow ODE solved to 1e-10 (`bench.metrics.ode_reference`), the RMS error's geometric mean over
seeds, and p fitted in error ~ C steps^-p (`bench.aggregate.fit_order`). The model runs in float64 so that
fourth-order samplers do not meet float32 rounding before 320 steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: what the table in docs/samplers.md measures (the issue's protocol: CFG 1, Karras, 40 -> 320 steps)
STEPS = (40, 80, 160, 320)
PROMPT, SIZE, SEEDS = "a red circle", 8, (1, 2)


@dataclass(frozen=True)
class Measured:
    name: str
    errors: dict[int, float]  # steps -> geometric-mean RMS error
    order: float


class OrderBench:
    """The analytic model, its noise and its exact references, built once for many samplers."""

    def __init__(
        self, prompt: str = PROMPT, size: int = SIZE, seeds: tuple[int, ...] = SEEDS, schedule: str = "karras"
    ) -> None:
        import torch

        from bench.guidance import GuidedEps
        from bench.metrics import ode_reference as ode
        from bench.models.loaders import analytic
        from bench.task import starting_noise

        self.model = analytic({"dtype": "float64"})
        self.schedule, self.seeds = schedule, seeds
        cond, uncond = self.model.encode([prompt] * len(seeds)), self.model.encode([""] * len(seeds))
        self.guided = GuidedEps(self.model, cond, uncond, 1.0)
        shape = self.model.latent_shape(size, size)
        self.noise = torch.stack([starting_noise(s, shape) for s in seeds]).double()
        problem = ode.problem_for(self.model, prompt, "", 1.0, size, size)
        self.reference = ode.solve(problem, self.noise.reshape(len(seeds), -1), rtol=1e-10).latents

    def error(self, name: str, steps: int) -> float:
        """Geometric mean over seeds of the RMS distance to the exact solution."""
        import samplers

        spec = samplers.resolve(name, self.schedule)
        task = samplers.SampleTask(
            self.guided, self.model.alphas_cumprod, self.noise, steps, self.seeds, eps_pair=self.guided.with_uncond
        )
        out = samplers.sample(spec, task).reshape(len(self.seeds), -1).double()
        rms = ((out - self.reference) ** 2).mean(dim=1).sqrt().tolist()
        return math.exp(sum(math.log(max(r, 1e-300)) for r in rms) / len(rms))

    def measure(self, name: str, steps: tuple[int, ...] = STEPS) -> Measured:
        from bench.aggregate import fit_order

        errors = {n: self.error(name, n) for n in steps}
        return Measured(name, errors, fit_order(list(errors), list(errors.values())))
