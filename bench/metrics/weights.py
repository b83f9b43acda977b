"""Weights of every learned metric: the user's cache first, then a download on a connected machine.

The same conventions as open_clip, transformers and diffusers, so a file fetched by any of them is found:
- a file on the Hugging Face hub (`HubFile`): the hub cache (HF_HUB_CACHE, HF_HOME/hub, ...), then
  `huggingface_hub.hf_hub_download` (its own progress bar, resumable, `HF_ENDPOINT` respected, read when
  the download starts, not when huggingface_hub was imported);
- a file at a URL (`UrlFile`: torchvision / pytorch-fid backbones, open_clip's OpenAI weights): the folder
  its tool caches into (torch hub `checkpoints/`, `~/.cache/clip`), then `torch.hub.download_url_to_file`.

Offline (`bench run --offline` or `HF_HUB_OFFLINE=1`) nothing touches the network: a cache miss raises
`WeightsMissing` naming where we looked and how to fetch. `WeightsMissing` is not a `UserError`: the run
goes on without that metric's column, with a warning.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_TRUE = ("1", "true", "yes", "on")


class WeightsMissing(Exception):
    """A metric's weights are not on this machine and could not (or may not) be downloaded."""


@dataclass(frozen=True)
class HubFile:
    """One file of a Hugging Face hub repository."""

    repo_id: str
    filename: str
    revision: str | None = None
    repo_type: str = "model"

    def describe(self) -> str:
        return f"{self.repo_id}/{self.filename}" + (f"@{self.revision}" if self.revision else "")


@dataclass(frozen=True)
class UrlFile:
    """A file published at a URL, cached in `folder` (None: torch hub's checkpoints folder) by its name."""

    url: str
    folder: str | None = None

    def describe(self) -> str:
        return self.url

    def target(self) -> Path:
        folder = Path(self.folder).expanduser() if self.folder else torch_hub_checkpoints()
        return folder / os.path.basename(self.url.split("?")[0])


def offline(flag: bool = False) -> bool:
    """True when told (`--offline`) or when HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set, read now."""
    return flag or any(
        os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache, resolved from the environment now (not at import time).

    Same precedence as huggingface_hub.constants: HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub,
    XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub.
    """
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "huggingface" / "hub"


def hf_endpoint() -> str:
    """HF_ENDPOINT as set now (huggingface_hub reads it once, at import)."""
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or "https://huggingface.co"


def torch_hub_checkpoints() -> Path:
    """torch.hub's checkpoint cache (TORCH_HOME, XDG_CACHE_HOME/torch, ~/.cache/torch) + /hub/checkpoints."""
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "torch"
    )
    return Path(home).expanduser() / "hub" / "checkpoints"


def cached(file: HubFile | UrlFile, cache_dir: str | None = None) -> str | None:
    """The local path of `file` if a cache has it, reading the disk only."""
    if isinstance(file, UrlFile):
        target = file.target()
        return str(target) if target.is_file() else None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(
        file.repo_id,
        file.filename,
        cache_dir=cache_dir or str(hf_hub_cache()),
        revision=file.revision,
        repo_type=file.repo_type,
    )
    return found if isinstance(found, str) and os.path.isfile(found) else None


def where_cached(file: HubFile | UrlFile, cache_dir: str | None = None) -> str:
    """Where `cached` looks, for messages."""
    if isinstance(file, UrlFile):
        return str(file.target())
    kind = {"model": "models", "dataset": "datasets", "space": "spaces"}[file.repo_type]
    return f"{cache_dir or hf_hub_cache()}/{kind}--{file.repo_id.replace('/', '--')} ({file.filename})"


def fetch(
    file: HubFile | UrlFile, what: str, *, offline_flag: bool = False, cache_dir: str | None = None, hint: str = ""
) -> str:
    """Local path of `file`: from the cache, else downloaded (with a progress bar) unless offline.

    `what` names the metric for messages ("HPS v2.1 weights"); `hint` is an extra way to get them.
    """
    path = cached(file, cache_dir)
    if path:
        return path
    looked = where_cached(file, cache_dir)
    extra = f"; or {hint}" if hint else ""
    if offline(offline_flag):
        raise WeightsMissing(
            f"{what} ({file.describe()}) are not on this machine (looked in: {looked}) and "
            f"the run is offline (--offline or HF_HUB_OFFLINE=1); run once without "
            f"--offline on a connected machine to cache them{extra}"
        )
    try:
        return _download(file, cache_dir)
    except Exception as exc:  # no network, 404, proxy...: the metric is skipped with this reason
        first = (str(exc).splitlines() or [""])[0]
        raise WeightsMissing(
            f"{what} ({file.describe()}) are not on this machine (looked in: {looked}) and "
            f"the download failed: {type(exc).__name__}: {first}{extra}"
        ) from exc


def _download(file: HubFile | UrlFile, cache_dir: str | None) -> str:
    if isinstance(file, UrlFile):
        import torch.hub

        target = file.target()
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(file.url, str(target), progress=True)
        return str(target)
    from huggingface_hub import hf_hub_download

    return hf_hub_download(
        file.repo_id,
        file.filename,
        revision=file.revision,
        repo_type=file.repo_type,
        cache_dir=cache_dir or str(hf_hub_cache()),
        endpoint=hf_endpoint(),
    )


def fetch_first(files: list[HubFile | UrlFile], what: str, **kwargs) -> str:
    """The first of `files` that is cached, else the first that downloads (safetensors before .bin)."""
    for file in files:
        path = cached(file, kwargs.get("cache_dir"))
        if path:
            return path
    errors: list[WeightsMissing] = []
    for file in files:
        try:
            return fetch(file, what, **kwargs)
        except WeightsMissing as exc:
            errors.append(exc)
            if offline(kwargs.get("offline_flag", False)):
                break
    raise errors[0]


def hub_folder(repo_or_folder: str, files: Sequence[str], optional: Sequence[str], what: str, offline: bool) -> str:
    """A local folder with `files`: the folder itself, or the hub snapshot they are fetched into."""
    if os.path.isdir(repo_or_folder):
        return repo_or_folder
    paths = [fetch(HubFile(repo_or_folder, f), what, offline_flag=offline) for f in files]
    for name in optional:
        try:  # optional (tokenizer.json only speeds tokenizing up)
            fetch(HubFile(repo_or_folder, name), what, offline_flag=offline)
        except WeightsMissing:
            continue
    return os.path.dirname(paths[0])
