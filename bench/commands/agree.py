"""`bench agree`: how far k-diffusion and diffusers are apart on the same algorithm, same noise.

Runs every pair of `samplers.agreement.PAIRS` on the exact analytic model and prints the table; the
causes of each difference are in that module's docstring (and in docs/samplers.md).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=10, help="sampling steps (default 10)")
    parser.add_argument("--size", type=int, default=16, help="image size in pixels (default 16)")


def analytic_tasks(size: int = 8, prompt: str = "a red circle", cfg_scale: float = 7.0):
    """A task factory on the analytic model: (steps, seeds) -> the runner's SampleTask (bench.task)."""
    from bench.models.loaders import analytic
    from bench.task import analytic_cells, build_task

    model = analytic({})

    def make(steps: int, seeds: tuple[int, ...]):
        cells = analytic_cells(prompt, size, cfg_scale, steps, seeds)
        return build_task(model, cells)

    return make


def format_table(rows) -> str:
    """The agreement rows as a text table (canonical ids; widths fit the content)."""
    import samplers

    cells = [
        (
            r.pair.label,
            samplers.resolve(r.pair.k).id,
            samplers.resolve(r.pair.diffusers).id,
            f"{r.distance:.1e}",
            "-" if r.controlled is None else f"{r.controlled:.1e}",
            f"{r.discretisation:.1e}",
            r.verdict,
        )
        for r in rows
    ]
    head = ("pair", "k-diffusion", "diffusers", "distance", "controlled", "discret.", "verdict")
    widths = [max(len(str(c[i])) for c in [head, *cells]) for i in range(len(head))]
    right = {3, 4, 5}

    def line(values) -> str:
        return "  ".join(
            str(v).rjust(w) if i in right else str(v).ljust(w) for i, (v, w) in enumerate(zip(values, widths))
        ).rstrip()

    lines = [line(head), line("-" * w for w in widths), *map(line, cells)]
    lines.append(
        "distance: relative RMS between the two libraries' images as benchmarked; controlled: the same "
        "with the explained difference removed;\ndiscret.: k-diffusion at these steps vs twice as many "
        "(the scale of a sampler's own error). Causes: docs/samplers.md."
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from bench.errors import UserError
    from samplers.agreement import agreement_table

    if args.steps < 2 or args.size < 8:
        raise UserError(f"bench agree: --steps must be >= 2 and --size >= 8; got {args.steps}, {args.size}")
    print(
        f"k-diffusion vs diffusers on the analytic model, {args.steps} steps, {args.size}x{args.size}, "
        f"CFG 7, seeds 1 and 2"
    )
    print(format_table(agreement_table(analytic_tasks(args.size), args.steps)))
    return 0
