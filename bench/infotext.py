"""A1111's `parameters` infotext: written and read here, and nowhere else.

The format (as the WebUI shows it under an image and reads it back from a pasted PNG):
- the prompt, on as many lines as it has;
- then, if there is a negative prompt, a line starting `Negative prompt: `, followed by the rest of it;
- a last line of `Key: value` pairs separated by `, `. A value with a comma, colon, quote, line break or
  outer space is written as a JSON string (`"C:\\\\models\\\\x.safetensors"`), which the reader decodes.
A reader strips each prompt line and starts the negative prompt at the first line that begins with
`Negative prompt:`, so not every prompt survives the trip: when one would not, its lines that would be
taken for the negative prompt are joined to the line before (CLIP tokenises a line break as a space, so
the WebUI still sees the same prompt), and the exact text rides along as a `Prompt verbatim` field that
this reader prefers. `parse_infotext(format_infotext(x)) == x` for every prompt, field and value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NEGATIVE = "Negative prompt:"
VERBATIM = {"prompt": "Prompt verbatim", "negative_prompt": "Negative prompt verbatim"}
#: a key: a word character, then word characters, spaces, '-' or '/' (what the WebUI's reader accepts)
_KEY = re.compile(r"\s*(\w[\w /-]*?)\s*:\s*")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"\s*(?:,|$)')
_NEEDS_QUOTES = re.compile(r'[,:"\n\r]')


@dataclass(frozen=True)
class Infotext:
    """An image's generation parameters: prompt, negative prompt, then every field in order (as text)."""

    prompt: str
    negative_prompt: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)


def quote(value: Any) -> str:
    """A field value as written: JSON-quoted where the plain form would not read back."""
    text = str(value)
    if _NEEDS_QUOTES.search(text) or text != text.strip():
        return json.dumps(text, ensure_ascii=False)
    return text


def format_infotext(info: Infotext) -> str:
    """The text of a `parameters` chunk; the exact prompts are added as fields where the lines would lose them."""
    fields = {k: str(v) for k, v in info.fields.items()}
    for key in VERBATIM.values():
        fields.pop(key, None)
    for key in fields:
        if not re.fullmatch(r"\w[\w /-]*", key) or key.strip() != key:
            raise ValueError(f"infotext key {key!r} is not a WebUI key (word characters, spaces, '-', '/')")
    head = _lines(_fold(info.prompt), _fold(info.negative_prompt))
    prompt, negative = _read_lines(head.split("\n"))
    if prompt != info.prompt:
        fields[VERBATIM["prompt"]] = info.prompt
    if negative != info.negative_prompt:
        fields[VERBATIM["negative_prompt"]] = info.negative_prompt
    return head + "\n" + ", ".join(f"{k}: {quote(v)}" for k, v in fields.items())


def parse_infotext(text: str) -> Infotext:
    """Read an infotext: the WebUI's reading of the prompt lines, then any verbatim field overrides it."""
    lines = text.split("\n")
    fields = parse_fields(lines[-1])
    if len(fields) >= 3:  # the WebUI's test for a parameters line
        lines = lines[:-1]
    else:
        fields = {}
    prompt, negative = _read_lines(lines)
    prompt = fields.pop(VERBATIM["prompt"], prompt)
    negative = fields.pop(VERBATIM["negative_prompt"], negative)
    return Infotext(prompt, negative, fields)


def parse_fields(line: str) -> dict[str, str]:
    """`Key: value, Key: "json string", ...` -> {key: value}; stops at the first text that is no pair."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(line):
        key = _KEY.match(line, pos)
        if key is None:
            break
        pos = key.end()
        quoted = _JSON_STRING.match(line, pos)
        if quoted:
            raw = quoted.group().rstrip().removesuffix(",").rstrip()
            out[key.group(1)] = json.loads(raw)
            pos = quoted.end()
        else:
            end = line.find(",", pos)
            end = len(line) if end < 0 else end
            out[key.group(1)] = line[pos:end].strip()
            pos = end + 1
    return out


def _lines(prompt: str, negative: str) -> str:
    return prompt + (f"\n{NEGATIVE} {negative}" if negative else "")


def _read_lines(lines: list[str]) -> tuple[str, str]:
    """The WebUI's reading of the lines above the parameters: stripped, split at the negative marker."""
    prompt: list[str] = []
    negative: list[str] | None = None
    for line in lines:
        line = line.strip()
        if line.startswith(NEGATIVE):
            negative = negative if negative is not None else []
            line = line[len(NEGATIVE) :].strip()
        (prompt if negative is None else negative).append(line)
    return "\n".join(prompt), "\n".join(negative or [])


def _fold(text: str) -> str:
    """Join each line that would start a negative prompt to the line before: the same CLIP tokens."""
    lines = text.split("\n")
    out = lines[:1]
    for line in lines[1:]:
        if line.strip().startswith(NEGATIVE):
            out[-1] = f"{out[-1]} {line.strip()}"
        else:
            out.append(line)
    return "\n".join(out)


# -- a cell's infotext -------------------------------------------------------------------------------------


def a1111_sampler(spec) -> tuple[str, str | None]:
    """(A1111 "Sampler", "Schedule type" or None) of a registered sampler.

    The sampler is A1111's menu entry where A1111 has the algorithm (else our label); the schedule type is
    A1111's own label where A1111 has that schedule for k-diffusion samplers (none for DDIM, PLMS, UniPC,
    LCM, which take no schedule type, nor for our `beta` over timesteps, which A1111 does not have).
    """
    from samplers.catalogue import algorithm_of
    from samplers.schedule_names import K_SCHEDULES

    algo = algorithm_of(spec)
    name = algo.a1111[0] if algo is not None and algo.a1111 else (spec.label or spec.id)
    schedule = K_SCHEDULES.get(spec.schedule) if spec.family == "k" else None
    if schedule is None or not schedule.a1111 or len(algo.schedules if algo else ()) == 1:
        return name, None
    return name, schedule.labels[0]


def cell_infotext(cell) -> Infotext:
    """The infotext of a cell's image: A1111's fields (`RNG: CPU`: the starting noise is drawn on the CPU
    from the seed, as A1111 does with that setting) and ours (sampler id, cell id), in A1111's order."""
    spec = cell.sampler.spec
    sampler, schedule = a1111_sampler(spec)
    fields: dict[str, Any] = {"Steps": cell.steps, "Sampler": sampler}
    if schedule is not None:
        fields["Schedule type"] = schedule
    fields.update(
        {
            "CFG scale": cell.cfg_scale,
            "Seed": cell.seed,
            "Size": f"{cell.width}x{cell.height}",
            "Model": cell.model.label,
            "Clip skip": cell.clip_skip,
            "RNG": "CPU",
            "Sampler id": spec.id,
            "Cell id": cell.id,
            "Version": "samplerbench",
        }
    )
    noise = getattr(cell, "as_dict", {}).get("noise", "samplerbench")
    if noise != "samplerbench":  # the tool whose noise the image has (samplers/noise_conventions.py)
        fields["Noise convention"] = noise
    return Infotext(cell.prompt, cell.negative_prompt, {k: str(v) for k, v in fields.items()})


def png_text(cell, model=None) -> dict[str, str]:
    """Every text chunk of a cell's PNG: A1111's `parameters`, and ComfyUI's `prompt` for SD models."""
    from bench.comfy_workflow import cell_workflow

    chunks = {"parameters": format_infotext(cell_infotext(cell))}
    workflow = cell_workflow(cell, model)
    if workflow is not None:
        chunks["prompt"] = json.dumps(workflow)
    return chunks
