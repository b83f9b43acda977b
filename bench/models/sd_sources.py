"""Where SD weights come from: a hub id, a local diffusers folder, or one checkpoint file.

Everything loads offline first (`local_files_only=True`); the hub is tried only when it answers a quick
probe, so an unreachable hub is a one-line UserError in about a second, never a long timeout. A source's
identity pins its content: the hub commit, or the sha256 of the file(s), cached by path, size and mtime.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import socket
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, TypeVar

import torch

from bench.errors import UserError
from bench.models.sd_build import TEXT_SLOTS, SDComponents, write_config_folder
from bench.models.sd_configs import ARCHS, SDArch

T = TypeVar("T")
SAFE_SUFFIXES = (".safetensors", ".sft")
PICKLE_SUFFIXES = (".ckpt", ".bin", ".pt", ".pth")
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
UNET_KEY = "model.diffusion_model."
LOCAL_COPY_HINT = (
    "point model.source at a local copy: a diffusers folder (with model_index.json) or a .safetensors checkpoint"
)


def classify(source: str) -> str:
    """'file', 'folder' or 'hub' (a UserError when it is none of them)."""
    path = Path(source).expanduser()
    if path.suffix.lower() in SAFE_SUFFIXES + PICKLE_SUFFIXES:
        if not path.is_file():
            raise UserError(f"model.source: checkpoint file not found: {source}")
        return "file"
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise UserError(
                f"model.source: folder {source} has no model_index.json (not a diffusers "
                "pipeline folder); give the folder of a saved pipeline or a .safetensors file"
            )
        return "folder"
    if HUB_ID.match(source) and not source.startswith((".", "/", "~")):
        return "hub"
    raise UserError(f"model.source: {source!r} is neither a file, a folder nor a hub id (owner/name)")


# ---------------------------------------------------------------- content hashes


def _cache_file() -> Path:
    root = (
        os.environ.get("SAMPLERBENCH_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "samplerbench"
    )
    return Path(root) / "sha256.json"


_HASHES: dict[str, dict[str, Any]] = {}


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, read in 8 MiB chunks once; remembered (memory and disk) by path, size, mtime."""
    path = Path(path).resolve()
    stat = path.stat()
    key, stamp = str(path), {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    cache_file = _cache_file()
    if not _HASHES and cache_file.is_file():
        try:
            _HASHES.update(json.loads(cache_file.read_text()))
        except (OSError, ValueError):
            pass  # a damaged cache only costs a re-hash
    entry = _HASHES.get(key)
    if entry and all(entry.get(k) == v for k, v in stamp.items()):
        return entry["sha256"]
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(8 << 20), b""):
            digest.update(chunk)
    _HASHES[key] = {**stamp, "sha256": digest.hexdigest()}
    _save_hashes(cache_file)
    return _HASHES[key]["sha256"]


def _save_hashes(cache_file: Path) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(_HASHES))
        os.replace(tmp, cache_file)
    except OSError:
        pass  # read-only home: hashes are recomputed next time, nothing else changes


def folder_sha256(folder: str | Path, parts: list[str]) -> str:
    """One hash over model_index.json and every file of the loaded components' subfolders."""
    folder = Path(folder)
    files = [folder / "model_index.json"] + sorted(
        p for part in parts for p in (folder / part).rglob("*") if p.is_file()
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.relative_to(folder).as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


# ---------------------------------------------------------------- hub access


def hub_reachable(timeout: float = 2.0) -> bool:
    """A TCP connect to the hub endpoint within `timeout` (DNS included); False when HF_HUB_OFFLINE."""
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)  # getaddrinfo has no timeout of its own
    return bool(result and result[0])


def _cache_then_hub(load: Callable[[bool], T], source: str) -> T:
    """load(local_files_only=True); on a cache miss, load(False) only if the hub answers."""
    try:
        return load(True)
    except OSError:
        if not hub_reachable():
            raise UserError(
                f"model.source: {source!r} is not in the local Hugging Face cache and the hub "
                f"is unreachable; {LOCAL_COPY_HINT}"
            ) from None
    return load(False)


def hub_commit(repo_id: str, revision: str | None) -> str | None:
    """The commit of the cached snapshot that was loaded (None when it cannot be told)."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "model_index.json", revision=revision)
    return Path(found).parent.name if isinstance(found, str) else None


# ---------------------------------------------------------------- pretrained folders and hub ids


def load_pretrained(
    source: str, kind: str, dtype: torch.dtype, variant: str | None, revision: str | None, allow_pickle: bool
) -> tuple[SDComponents, dict[str, Any]]:
    """Components of a diffusers-layout pipeline, and what pins its content for the identity."""
    location = str(Path(source).expanduser()) if kind == "folder" else source

    def load(local_only: bool) -> SDComponents:
        with warnings.catch_warnings():  # huggingface_hub's deprecation noise from inside diffusers
            warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks.*")
            return _load_parts(location, dtype, variant, revision, allow_pickle, local_only)

    try:
        parts = _cache_then_hub(load, source) if kind == "hub" else load(True)
    except (OSError, ValueError) as err:
        hint = "" if allow_pickle else " (only .safetensors weights load unless model.allow_pickle: true)"
        raise UserError(f"model.source: cannot load {source!r}: {_first_line(err)}{hint}") from None
    if kind == "hub":
        return parts, {"revision": revision or "main", "commit": hub_commit(source, revision)}
    used = ["unet", "vae", "scheduler"] + [name for slot in TEXT_SLOTS[: len(parts.text_encoders)] for name in slot]
    return parts, {"sha256": folder_sha256(location, used)}


def _load_parts(
    location: str, dtype: torch.dtype, variant: str | None, revision: str | None, allow_pickle: bool, local_only: bool
) -> SDComponents:
    from diffusers import DiffusionPipeline

    index = DiffusionPipeline.load_config(location, revision=revision, local_files_only=local_only)
    common = {"revision": revision, "local_files_only": local_only}

    def component(name: str) -> Any:
        entry = index.get(name) or [None, None]
        if entry[0] is None:
            raise UserError(
                f"model.source: {location} has no {name} ({index.get('_class_name')}); "
                "supported: Stable Diffusion 1.x/2.x and SDXL base text-to-image pipelines"
            )
        cls = component_class(location, name, entry)
        if name == "scheduler":
            return dict(cls.load_config(location, subfolder=name, **common))
        kwargs: dict[str, Any] = {"subfolder": name, **common}
        if isinstance(cls, type) and issubclass(cls, torch.nn.Module):
            kwargs.update(dtype=dtype, variant=variant, use_safetensors=None if allow_pickle else True)
        return cls.from_pretrained(location, **kwargs)

    n_text = 2 if (index.get("text_encoder_2") or [None])[0] else 1
    unet = component("unet")
    _check_unet(unet.config, location)
    slots = TEXT_SLOTS[:n_text]
    return SDComponents(
        unet=unet,
        vae=component("vae"),
        text_encoders=tuple(component(enc) for enc, _ in slots),
        tokenizers=tuple(component(tok) for _, tok in slots),
        scheduler_config=component("scheduler"),
        force_zeros_for_empty_prompt=bool(index.get("force_zeros_for_empty_prompt", n_text == 2)),
    )


#: the only libraries a model folder's model_index.json may name (anything else would be imported and run)
COMPONENT_LIBRARIES = ("diffusers", "transformers")


def component_class(location: str, name: str, entry: Any) -> Any:
    """The class a model_index.json entry [library, class] names, from diffusers or transformers only."""
    if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(e, str) for e in entry)):
        raise UserError(
            f"model.source: {location}/model_index.json: {name}: expected [library, class], got {str(entry)[:80]}"
        )
    library, class_name = entry
    if library not in COMPONENT_LIBRARIES:
        raise UserError(
            f"model.source: {location}/model_index.json: {name} names module {library!r}; only "
            f"{' and '.join(COMPONENT_LIBRARIES)} classes are loaded (a folder cannot import code)"
        )
    cls = getattr(importlib.import_module(library), class_name, None)
    if cls is None or class_name.startswith("_"):
        raise UserError(f"model.source: {location}/model_index.json: {name}: {library} has no class {class_name!r}")
    return cls


def _check_unet(config: Any, where: str) -> None:
    if config.get("in_channels", 4) != 4:
        raise UserError(
            f"model.source: {where} has a UNet with {config['in_channels']} input channels "
            "(inpainting or image-conditioned); only text-to-image models (4 channels) run here"
        )


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


# ---------------------------------------------------------------- single files


def checkpoint_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor shapes of a checkpoint (safetensors: from the header only, no weights read)."""
    if path.suffix.lower() in SAFE_SUFFIXES:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 - not a dict
        except Exception as err:  # noqa: BLE001  # SafetensorError, OSError...: a renamed pickle, a truncated download
            raise UserError(
                f"model.source: {path} is not a safetensors file ({_first_line(err)}); a renamed "
                ".ckpt/.pt pickle or a cut-short download?"
            ) from None
    from diffusers.loaders.single_file_utils import load_single_file_checkpoint

    state = load_single_file_checkpoint(str(path), local_files_only=True)
    return {k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")}


def infer_arch(shapes: dict[str, tuple[int, ...]], where: str) -> SDArch:
    """The registered architecture whose UNet width, cross-attention width and family match the file."""
    conv_in = shapes.get(UNET_KEY + "input_blocks.0.0.weight")
    if conv_in is None:
        raise UserError(
            f"model.source: {where} is not a Stable Diffusion checkpoint (no {UNET_KEY}input_blocks.0.0.weight)"
        )
    _check_unet({"in_channels": conv_in[1]}, where)
    cross = next(
        (s[-1] for k, s in sorted(shapes.items()) if k.startswith(UNET_KEY) and k.endswith("attn2.to_k.weight")), None
    )
    is_xl = any(k.startswith("conditioner.embedders.1.") for k in shapes)
    for arch in ARCHS.values():
        unet = arch.unet
        if (arch.is_xl, unet["block_out_channels"][0], unet["cross_attention_dim"]) == (is_xl, conv_in[0], cross):
            return arch
    raise UserError(
        f"model.source: {where}: unknown architecture (UNet width {conv_in[0]}, cross-attention "
        f"{cross}, {'SDXL' if is_xl else 'SD'} layout); known: {', '.join(ARCHS)}"
    )


def load_single_file(path: str, dtype: torch.dtype, allow_pickle: bool) -> tuple[SDComponents, dict[str, Any]]:
    """An original-layout checkpoint (A1111/ComfyUI style) through diffusers' from_single_file, offline:
    the configs come from our architecture table written as a local `config=` folder."""
    import diffusers

    file = Path(path).expanduser()
    if file.suffix.lower() in PICKLE_SUFFIXES and not allow_pickle:
        raise UserError(
            f"model.source: {path} is a pickle checkpoint ({file.suffix}), which can run code when "
            "loaded; convert it to .safetensors or set model.allow_pickle: true if you trust it"
        )
    arch = infer_arch(checkpoint_shapes(file), path)
    with tempfile.TemporaryDirectory(prefix="sd-config-") as config:
        write_config_folder(arch, Path(config))
        pipeline_cls = getattr(diffusers, arch.pipeline)
        try:
            pipe = pipeline_cls.from_single_file(str(file), config=config, torch_dtype=dtype, local_files_only=True)
        except (OSError, ValueError, KeyError, RuntimeError) as err:
            raise UserError(f"model.source: cannot load {path} as {arch.name}: {_first_line(err)}") from None
    encoders = tuple(getattr(pipe, enc) for enc, _ in TEXT_SLOTS[: len(arch.text_encoders)])
    tokenizers = tuple(getattr(pipe, tok) for _, tok in TEXT_SLOTS[: len(arch.text_encoders)])
    parts = SDComponents(
        pipe.unet, pipe.vae, encoders, tokenizers, dict(pipe.scheduler.config), force_zeros_for_empty_prompt=arch.is_xl
    )
    return parts, {"sha256": file_sha256(file), "arch": arch.name}
