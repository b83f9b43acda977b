"""`bench samplers`: the coverage of each UI's menu, then every registered sampler with its names, or one
sampler with its options.

The plain listing imports no torch (names and specs are pure data); `--check` runs each listed
sampler for 3 steps on the analytic model and says ok or why it failed; without it: "not checked".
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show one sampler, by any of its names, with its options")
    parser.add_argument("--family", help="only this family (k, diffusers)")
    parser.add_argument("--grep", metavar="TEXT", help="only samplers whose id or a name contains TEXT")
    parser.add_argument(
        "--check",
        action="store_true",
        help="run each listed sampler for 3 steps on the analytic model (8x8) and report",
    )


def _noise(spec) -> str:
    return "stochastic" if spec.stochastic else "deterministic"


def _nfe(spec) -> str:
    return "adaptive" if spec.nfe_per_step is None else f"{spec.nfe_per_step:g}"


def webui_lines() -> list[str]:
    """What each A1111 menu entry runs here (bare label = A1111's Automatic schedule type)."""
    import samplers
    from samplers.catalogue import TABLES

    lines = ['A1111 sampler menu -> sampler here (the bare label means A1111\'s "Automatic" schedule type)']
    for family, table in TABLES.items():
        for algo in table.values():
            for label in algo.a1111:
                spec = samplers.resolve(label)
                extra = "  (WebUI-only sampler: its diffusers equivalent)" if family == "diffusers" else ""
                lines.append(f"  {label:<20} -> {spec.id}{extra}")
    return lines


def select(family: str | None, grep: str | None) -> list:
    import samplers
    from bench.errors import UserError

    if family is not None and family not in samplers.FAMILIES:
        raise UserError(f"bench samplers: unknown --family {family!r}; allowed: {', '.join(samplers.FAMILIES.names())}")
    chosen = []
    for spec in samplers.SAMPLERS:
        names = [spec.id, spec.label, *samplers.SAMPLERS.aliases_of(spec.id)]
        if family and spec.family != family:
            continue
        if grep and not any(grep.lower() in n.lower() for n in names):
            continue
        chosen.append(spec)
    return chosen


def check(spec, make_task) -> str:
    """Run `spec` for 3 steps on two seeds, and the second alone: "ok (NFE n)" or "failed: why" (a batch
    must not change an image: the same fairness for a user's own sampler as for the built-ins)."""
    import torch

    import samplers

    try:
        task = make_task(3, (1, 2))
        sampled = samplers.run(spec, task)
        out, nfe = sampled.latents, sampled.nfe[0]
        if tuple(out.shape) != tuple(task.noise.shape):
            return f"failed: output shape {tuple(out.shape)}, expected {tuple(task.noise.shape)}"
        if not bool(torch.isfinite(out).all()):
            return "failed: non-finite output (NaN or inf)"
        if not torch.equal(samplers.sample(spec, make_task(3, (2,)))[0], out[1]):
            return "failed: not batch invariant (image 2 alone differs from image 2 in a batch of 2)"
        return f"ok (NFE {nfe})"
    except Exception as exc:  # the listing goes on; the row says why
        return f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:160]


def describe(name: str) -> list[str]:
    """One sampler in full: what it runs, its names, schedules and options."""
    import samplers
    from bench.errors import UserError
    from samplers.schedule_names import ALL_SCHEDULES

    try:
        spec = samplers.resolve(name)
    except samplers.SamplerError as exc:
        raise UserError(str(exc)) from None
    algo = samplers.algorithm_of(spec)
    lines = [
        f"{spec.id}",
        f"  label: {spec.label}",
        f"  family: {spec.family}   runs: {spec.algorithm}",
        f"  schedule: {spec.schedule}: {ALL_SCHEDULES[spec.schedule].description}",
        f"  noise: {_noise(spec)}   NFE per step: {_nfe(spec)}",
    ]
    if spec.note:
        lines.append(f"  note: {spec.note}")
    lines.append(f"  names: {', '.join(samplers.SAMPLERS.aliases_of(spec.id)) or '-'}")
    if algo is not None:
        lines.append(f"  schedules: {', '.join(algo.schedules)} (or Automatic = {algo.default_schedule})")
        lines.append("  options (YAML keys next to name:):" if algo.options else "  options: none")
        for key, option in sorted(algo.options.items()):
            choices = f" one of {', '.join(map(str, option.choices))};" if option.choices else ""
            lines.append(
                f"    {key} ({option.kind.__name__}, default {option.default!r};{choices} "
                f"{option.target}): {option.help}"
            )
    return lines


def run(args: argparse.Namespace) -> int:
    if args.name:
        print("\n".join(describe(args.name)))
        return 0
    specs = select(args.family, args.grep)
    make_task = None
    if args.check:
        from bench.commands.agree import analytic_tasks

        make_task = analytic_tasks(8)
    if not (args.family or args.grep):
        from samplers.menus import summary_lines

        print("\n".join(summary_lines()) + "\n")
        print("\n".join(webui_lines()) + "\n")
    import samplers

    width = min(max((len(s.id) for s in specs), default=10), 56)
    label_width = min(max((len(s.label) for s in specs), default=10), 32)
    print(f"{'id':<{width}}  {'label':<{label_width}}  {'family':<9}  {'noise':<13}  {'NFE/step':<8}  ran here")
    failed = 0
    for spec in specs:
        status = check(spec, make_task) if make_task else "not checked"
        failed += status.startswith("failed")
        print(
            f"{spec.id:<{width}}  {spec.label:<{label_width}}  {spec.family:<9}  {_noise(spec):<13}  "
            f"{_nfe(spec):<8}  {status}"
        )
        print(f"    names: {', '.join(samplers.SAMPLERS.aliases_of(spec.id))}")
        sys.stdout.flush()
    print(f"{len(specs)} samplers" + (f", {failed} failed" if make_task else "; run with --check to try each"))
    return 1 if failed else 0
