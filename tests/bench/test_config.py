"""Config validation: every kind of error names the file, the key path and the line, and exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main
from bench.config import fields, json_schema, load_config
from bench.errors import ConfigError

GOOD = """\
name: t
prompts: ["a red circle"]
seeds: [1, 2]
samplers: ["Euler", "DPM++ 2M Karras"]
steps: [5, 10]
size: [16, 16]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bench.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value


def test_good_config_parses_into_typed_values(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.steps == (5, 10) and config.seeds == (1, 2)
    assert [c.spec.id for c in config.samplers] == ["k:euler/normal", "k:dpmpp_2m/karras"]
    assert config.sizes == ((16, 16),) and config.cfg_scales == (7.0,)
    assert config.output == tmp_path / "runs" / "t"


@pytest.mark.parametrize(
    "old, new, key, line, words",
    [
        ("name: t", "name: t\nsamplerz: [Euler]", "samplerz", 2, ["unknown key", "samplers"]),
        ("steps: [5, 10]", "steps: [5, ten]", "steps[1]", 5, ["expected an integer", "'ten'"]),
        ("seeds: [1, 2]", "seeds: []", "seeds", 3, ["empty"]),
        ("steps: [5, 10]", "steps: [5, 0]", "steps[1]", 5, [">= 1"]),
        ('"DPM++ 2M Karras"', '"DPM++ 2M Karas"', "samplers[1]", 4, ["unknown sampler", "DPM++ 2M Karras"]),
        ('"DPM++ 2M Karras"', '"euler/normal"', "samplers[1]", 4, ["same sampler", "k:euler/normal"]),
        ("size: [16, 16]", "size: [16]", "size", 6, ["[width, height]"]),
        ("seeds: [1, 2]", "seeds: [1, 1]", "seeds[1]", 3, ["duplicate"]),
        ('prompts: ["a red circle"]', 'prompts: "a red circle"', "prompts", 2, ["expected a list"]),
        ("name: t", "name: t\nmodel: {kind: analytic, colour: red}", "model.colour", 2, ["unknown key"]),
    ],
)
def test_each_error_names_key_line_and_what_is_allowed(tmp_path, old, new, key, line, words):
    error = error_of(tmp_path, GOOD.replace(old, new))
    message = str(error)
    assert error.key == key and error.line == line, message
    assert message.startswith(f"{tmp_path / 'bench.yaml'}:{line}: {key}: ")
    for word in words:
        assert word in message


def test_missing_required_key_and_bad_yaml(tmp_path):
    assert "missing required key 'steps'" in str(error_of(tmp_path, GOOD.replace("steps: [5, 10]\n", "")))
    broken = error_of(tmp_path, GOOD.replace("seeds: [1, 2]", "seeds: [1, 2"))
    assert "invalid YAML" in str(broken) and broken.line is not None


def test_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    path = write(tmp_path, GOOD.replace('"Euler"', '"Eulr"'))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "samplers[0]" in err and "Did you mean 'Euler'" in err
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_cli_error_has_no_traceback_in_a_real_process(tmp_path):
    path = write(tmp_path, GOOD.replace("steps: [5, 10]", "steps: [-1]"))
    result = subprocess.run([sys.executable, "-m", "bench.cli", "run", str(path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "steps[0]" in result.stderr


def test_schema_describes_every_key(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert set(schema["properties"]) == set(fields()) == set(json_schema()["properties"])
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"prompts", "seeds", "samplers", "steps"}
