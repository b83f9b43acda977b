"""Orders of convergence of the deterministic samplers on the analytic model (the table in docs/samplers.md).

    python perf/orders.py [--schedule karras] [--steps 40 80 160 320] [--only NAME ...]

CFG 1 (a smooth ODE), float64 model, exact references (bench.orders); prints a Markdown table: expected
order (from the paper, or from the analysis where the paper's assumption does not hold here), measured
order (least squares over the step counts), the error at the first and last step count, and the
slope of the last doubling.
"""

from __future__ import annotations

import argparse
import math
import sys

#: sampler -> (expected order, where it comes from)
EXPECTED: dict[str, tuple[float, str]] = {
    "k:euler": (1, "Euler"),
    "k:heun": (2, "Heun"),
    "k:dpmpp_2m": (2, "DPM-Solver++(2M)"),
    "paper:ipndm": (2, "paper: 4 on equal steps; equal-step weights on Karras's unequal steps: 2"),
    "paper:ipndm_v": (4, "variable-step Adams-Bashforth 4"),
    "paper:deis": (3, "tAB-DEIS, order 3"),
    "paper:res_multistep": (2, "RES, 2nd order"),
    "paper:exp_heun_2_x0": (2, "exponential trapezoidal"),
    "paper:seeds_2?eta=0": (2, "SEEDS-2 at eta = 0, phi_1 (DPM-Solver-2's form), r = 1/2"),
    "paper:seeds_2?eta=0&solver_type=phi_2": (2, "SEEDS-2 at eta = 0, phi_2 / r correction, r = 1/2"),
    "paper:seeds_3?eta=0": (3, "SEEDS-3 at eta = 0: 3-stage exponential RK, c = 1/3, 2/3 (DPM-Solver-3)"),
    "paper:gradient_estimation": (1, "the paper gives no order; gamma = 2 extrapolates d to the step end: 1"),
    "paper:er_sde?noise_scale=ode": (3, "ER-SDE-Solver-3 with phi = sigma (the ODE)"),
    "paper:uni_pc?order=1": (2, "UniP-1 + UniC"),
    "paper:uni_pc?order=2": (3, "UniP-2 + UniC"),
    "paper:uni_pc": (4, "UniP-3 + UniC (default order 3)"),
    "paper:uni_pc_bh2": (4, "UniP-3 + UniC, B(h) = e^h - 1"),
    "paper:sa_solver?eta=0": (3, "SA-Solver 3/4, tau = 0: PEC ends on D at a point predicted at order 2"),
    "paper:sa_solver?eta=0&lower_order_final=false": (4, "SA-Predictor 3 + SA-Corrector 4: corrector order 4"),
    "paper:sa_solver_pece?eta=0": (4, "SA-Predictor 3 + SA-Corrector 4, PECE: corrector order 4"),
    "paper:sa_solver_pece?eta=0&predictor_order=2&corrector_order=2": (2, "SA-Corrector 2"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedule", default="karras")
    parser.add_argument("--steps", type=int, nargs="+", default=[40, 80, 160, 320])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="just these rows (names as in the table)")
    args = parser.parse_args(argv)

    import torch

    from bench.orders import OrderBench

    torch.set_num_threads(1)
    bench = OrderBench(schedule=args.schedule)
    first, last = args.steps[0], args.steps[-1]
    print(f"| sampler | expected | measured | error at {first} | error at {last} | last doubling | why expected |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    unknown = sorted(set(args.only or ()) - set(EXPECTED))
    if unknown:
        parser.error(f"not in the table: {', '.join(unknown)}")
    for name, (expected, why) in EXPECTED.items():
        if args.only and name not in args.only:
            continue
        m = bench.measure(name, tuple(args.steps))
        errors = list(m.errors.values())
        tail = math.log2(errors[-2] / errors[-1])
        print(f"| {name} | {expected:g} | {m.order:.2f} | {errors[0]:.2e} | {errors[-1]:.2e} | {tail:.2f} | {why} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
