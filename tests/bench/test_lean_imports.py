"""Lean runs (issue 16, item 5): a run imports only what its benchmark asks for (checked in sys.modules of a
fresh process), and k-diffusion's lazy package (samplers.kdiffusion_import) still gives the whole package."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hostile_helpers import run_python, write

WATCHED = ("diffusers", "transformers", "open_clip", "torchvision", "clip", "matplotlib", "k_diffusion.evaluation")

CONFIG = """\
name: lean
model: analytic
prompts: [a red circle]
seeds: [1, 2]
samplers: {samplers}
steps: [3]
size: [8, 8]
"""


def _python(code: str) -> str:
    out = run_python(code)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


def _imported_by_run(tmp_path: Path, samplers: str) -> set[str]:
    config = write(tmp_path / "b.yaml", CONFIG.format(samplers=samplers))
    code = (
        "import json, sys\nfrom bench.cli import main\n"
        f"assert main(['run', {str(config)!r}, '-o', {str(tmp_path / 'run')!r}, '--no-progress', '--no-report']) == 0\n"
        f"print(json.dumps([m for m in {WATCHED!r} if m in sys.modules]))"
    )
    return set(json.loads(_python(code)))


@pytest.mark.slow  # subprocesses
def test_a_k_diffusion_run_imports_no_diffusers_torchvision_clip_or_plotting(tmp_path):
    assert _imported_by_run(tmp_path, '["Euler a", "DPM++ SDE", "DPM++ 2M Karras"]') == set()


@pytest.mark.slow  # subprocesses
def test_a_diffusers_scheduler_imports_diffusers_but_no_text_or_clip_model(tmp_path):
    assert _imported_by_run(tmp_path, '["DDIM", "UniPC"]') == {"diffusers"}


@pytest.mark.slow  # subprocesses
def test_the_lazy_k_diffusion_package_still_gives_every_submodule_on_use():
    code = (
        "import sys\nfrom samplers import kdiffusion_import\nassert kdiffusion_import.register()\nimport k_diffusion\n"
        "assert 'k_diffusion.layers' not in sys.modules and 'torchvision' not in sys.modules\n"
        "from k_diffusion import Denoiser\n"
        "image = k_diffusion.utils.TF.to_pil_image(__import__('torch').zeros(3, 4, 4))\n"
        "print(Denoiser.__module__, k_diffusion.evaluation.__name__, image.size, 'torchvision' in sys.modules)"
    )
    assert _python(code) == "k_diffusion.layers k_diffusion.evaluation (4, 4) True"


@pytest.mark.slow  # subprocesses
def test_importing_the_library_leaves_k_diffusion_as_it_is():
    code = "import samplers, k_diffusion\nprint(type(k_diffusion).__name__, hasattr(k_diffusion, 'Denoiser'))"
    assert _python(code) == "module True"


@pytest.mark.slow  # subprocesses
def test_a_k_diffusion_imported_before_samplers_is_left_as_it_is():
    code = (
        "import k_diffusion, samplers\nfrom samplers import kdiffusion_import\n"
        "print(kdiffusion_import.register(), type(k_diffusion).__name__, hasattr(k_diffusion, 'Denoiser'))"
    )
    assert _python(code) == "False module True"


def _entry(argv: list[str], before: str = "") -> subprocess.CompletedProcess:
    code = f"import sys\nsys.argv = ['bench', *{argv!r}]\n{before}\nfrom bench.cli import entry\nentry()"
    return run_python(code, timeout=120)


@pytest.mark.slow  # subprocesses
def test_the_bench_script_skips_teardown_but_keeps_statuses_output_and_exit_handlers(tmp_path):
    assert _entry(["--help"]).returncode == 0
    assert _entry(["run"]).returncode == 2  # argparse's usage error
    missing = _entry(["run", str(tmp_path / "none.yaml")])
    assert missing.returncode == 2 and "cannot read the benchmark file" in missing.stderr
    handler = (
        "import atexit, bench.commands.schema as schema\nreal = schema.run\n"
        "def run(args):\n    atexit.register(lambda: print('handler ran'))\n    return real(args)\n"
        "schema.run = run"
    )
    schema = _entry(["schema"], before=handler)
    assert schema.returncode == 0 and schema.stdout.rstrip().endswith("handler ran")
    assert json.loads(schema.stdout.rstrip()[: -len("handler ran")])["title"]  # the whole schema was flushed
    bug = "import bench.commands.schema as schema\nschema.run = lambda args: 1 / 0"
    crashed = _entry(["schema"], before=bug)
    assert crashed.returncode == 1 and "ZeroDivisionError" in crashed.stderr
