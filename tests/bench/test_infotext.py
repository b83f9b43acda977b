"""A1111 infotext: our format and parser round-trip every field; a WebUI-style reader gets the same image."""

from __future__ import annotations

import json
import re

import pytest

from bench.infotext import (
    Infotext,
    a1111_sampler,
    format_infotext,
    parse_infotext,
    quote,
)
from samplers.catalogue import SAMPLERS, resolve

HOSTILE_PROMPTS = [
    "a red circle",
    'a "quoted" cat, with: colons, and commas',
    "line one\nline two\n\nline four",
    "a cat\nNegative prompt: not really a negative",
    "a cat\n  Negative prompt: indented marker\nmore",
    "Negative prompt: the very first line",
    "  leading and trailing spaces  ",
    'back\\slash \\" and \\n literal',
    "Steps: 3, Sampler: Euler, Seed: 5",
    "unicode: ☃ — 猫",
    "",
    "crlf\r\nline",
]
HOSTILE_VALUES = [
    "C:\\models\\sd 1.5\\v1-5.safetensors",
    'has "quotes"',
    "a, b",
    "x: y",
    "  padded ",
    "",
    "multi\nline",
    "plain",
    '"starts and ends with quotes"',
    "\\\\server\\share\\m.ckpt",
]


def _fields(model: str) -> dict[str, str]:
    return {
        "Steps": "20",
        "Sampler": "DPM++ 2M",
        "Schedule type": "Karras",
        "CFG scale": "7.0",
        "Seed": "12345",
        "Size": "512x768",
        "Model": model,
        "RNG": "CPU",
        "Sampler id": "k:dpmpp_2m/karras",
    }


@pytest.mark.parametrize("prompt", HOSTILE_PROMPTS)
@pytest.mark.parametrize("negative", ["", "blurry, low quality", "two\nlines", "Negative prompt: again"])
def test_every_field_round_trips(prompt, negative):
    info = Infotext(prompt, negative, _fields("C:\\models\\sd15.safetensors"))
    assert parse_infotext(format_infotext(info)) == info


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_field_values_round_trip_and_stay_on_one_line(value):
    info = Infotext("a cat", "", {**_fields(value), "Note": value})
    text = format_infotext(info)
    assert text.count("\n") == 1  # prompt line + parameters line: no value breaks the last line
    assert parse_infotext(text) == info


def test_a_value_is_quoted_exactly_when_its_plain_form_would_not_read_back():
    assert quote("Karras") == "Karras" and quote(7.0) == "7.0" and quote("512x512") == "512x512"
    path = "C:\\models\\sd15.safetensors"
    assert quote(path) == '"C:\\\\models\\\\sd15.safetensors"' and json.loads(quote(path)) == path
    assert json.loads(quote('say "hi", ok')) == 'say "hi", ok'


def _webui_reading(text: str) -> tuple[str, str, dict[str, str]]:
    """The format as the WebUI documents and shows it, read independently: the last line holds the
    parameters (`Key: value`, a value in double quotes being a JSON string), each line above is stripped,
    and the first line starting with "Negative prompt:" begins the negative prompt."""
    *lines, last = text.split("\n")
    fields: dict[str, str] = {}
    rest = last
    while rest.strip():
        key, _, rest = rest.partition(":")
        rest = rest.lstrip()
        if rest.startswith('"'):
            value, end = json.JSONDecoder().raw_decode(rest)
            rest = rest[end:].lstrip().removeprefix(",")
        else:
            value, _, rest = rest.partition(",")
            value = value.strip()
        fields[key.strip()] = value
    prompt: list[str] = []
    negative: list[str] = []
    in_negative = False
    for line in (ln.strip() for ln in lines):
        if line.startswith("Negative prompt:"):
            in_negative, line = True, line[len("Negative prompt:") :].strip()
        (negative if in_negative else prompt).append(line)
    return "\n".join(prompt), "\n".join(negative), fields


def _clip_text(text: str) -> str:
    """CLIP's tokenisers collapse whitespace: what the text encoder sees."""
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("prompt", [p for p in HOSTILE_PROMPTS if not p.startswith("Negative prompt:")])
def test_the_webui_reads_the_same_prompt_and_every_value(prompt):
    info = Infotext(prompt, "blurry\nNegative prompt: twice", _fields("C:\\models\\my, model.safetensors"))
    read_prompt, read_negative, fields = _webui_reading(format_infotext(info))
    assert _clip_text(read_prompt) == _clip_text(prompt)
    assert _clip_text(read_negative) == _clip_text(info.negative_prompt)
    for key, value in info.fields.items():
        assert fields[key] == value, key


def test_a_prompt_the_webui_would_misread_carries_its_exact_text():
    text = format_infotext(Infotext("a cat\nNegative prompt: no", "dog", {"Steps": "3", "Seed": "1", "RNG": "CPU"}))
    assert text.split("\n")[0] == "a cat Negative prompt: no"  # folded: the same CLIP tokens
    assert "Prompt verbatim" in text and "Negative prompt verbatim" not in text
    plain = format_infotext(Infotext("a cat", "dog", {"Steps": "3", "Seed": "1", "RNG": "CPU"}))
    assert "verbatim" not in plain  # only when needed


def test_keys_the_webui_cannot_read_are_refused():
    with pytest.raises(ValueError, match="not a WebUI key"):
        format_infotext(Infotext("a", "", {"Bad:key": "1"}))


A1111_SCHEDULE_TYPES = {
    "Automatic",
    "Uniform",
    "Karras",
    "Exponential",
    "Polyexponential",
    "SGM Uniform",
    "KL Optimal",
    "Align Your Steps",
    "Simple",
    "Normal",
    "DDIM",
    "Beta",
    "Align Your Steps 11",  # Forge's
}


@pytest.mark.parametrize("spec", list(SAMPLERS), ids=lambda s: s.id)
def test_schedule_type_is_always_one_of_a1111s_own(spec):
    sampler, schedule = a1111_sampler(spec)
    assert schedule is None or schedule in A1111_SCHEDULE_TYPES
    assert sampler


def test_a1111_names_of_common_samplers():
    assert a1111_sampler(resolve("DPM++ 2M Karras")) == ("DPM++ 2M", "Karras")
    assert a1111_sampler(resolve("Euler a")) == ("Euler a", "Uniform")
    assert a1111_sampler(resolve("DPM++ 2M SDE Heun Karras")) == ("DPM++ 2M SDE Heun", "Karras")
    assert a1111_sampler(resolve("DDIM")) == ("DDIM", None)  # never diffusers' "leading"
    assert a1111_sampler(resolve("DPM fast")) == ("DPM fast", None)
    assert a1111_sampler(resolve("euler/beta"))[1] is None  # ComfyUI's beta is not A1111's Beta


def test_a_text_without_a_parameters_line_is_all_prompt():
    info = parse_infotext("just a prompt\nNegative prompt: bad")
    assert info == Infotext("just a prompt", "bad", {})
