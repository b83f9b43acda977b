"""Metric weights: the cache first, then a download from a 127.0.0.1 hub server; offline never connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from hub_server import hub_server

from bench.metrics import weights
from bench.metrics.weights import HubFile, UrlFile, WeightsMissing


@pytest.fixture
def caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty hub and torch caches under tmp_path, network allowed (to the test's own server only)."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("HF_HUB_OFFLINE")
    return tmp_path


def test_hub_file_is_downloaded_once_then_read_from_the_cache(caches: Path, monkeypatch) -> None:
    with hub_server() as server:
        server.add_hub_file("org/scorer", "weights.bin", b"tiny weights")
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        file = HubFile("org/scorer", "weights.bin")
        assert weights.cached(file) is None
        path = weights.fetch(file, "test weights")
        assert Path(path).read_bytes() == b"tiny weights"
        assert str(caches / "hf" / "hub" / "models--org--scorer") in path  # the hub cache layout
        assert ("GET", "/org/scorer/resolve/main/weights.bin") in server.requests
        count = len(server.requests)
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        assert weights.fetch(file, "test weights") == path  # offline: found in the cache
        assert len(server.requests) == count


def test_url_file_is_downloaded_into_torch_hub_checkpoints(caches: Path, monkeypatch) -> None:
    with hub_server() as server:
        server.files["/releases/backbone-1234.pth"] = b"backbone"
        file = UrlFile(f"{server.url}/releases/backbone-1234.pth")
        path = weights.fetch(file, "backbone weights")
        assert Path(path) == caches / "torch" / "hub" / "checkpoints" / "backbone-1234.pth"
        assert Path(path).read_bytes() == b"backbone"


@pytest.mark.parametrize("how", ["env", "flag"])
def test_offline_never_connects_and_says_how_to_fetch(caches: Path, monkeypatch, how: str) -> None:
    with hub_server() as server:
        server.add_hub_file("org/scorer", "weights.bin", b"tiny weights")
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        if how == "env":
            monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        for file in (HubFile("org/scorer", "weights.bin"), UrlFile(f"{server.url}/x.pth")):
            with pytest.raises(WeightsMissing) as info:
                weights.fetch(file, "test weights", offline_flag=how == "flag", hint="copy them by hand")
            message = str(info.value)
            assert "offline" in message and "run once without --offline" in message
            assert "copy them by hand" in message and "looked in" in message
        assert server.requests == []


def test_a_failed_download_is_a_warning_not_a_crash(caches: Path, monkeypatch) -> None:
    with hub_server() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        with pytest.raises(WeightsMissing, match="download failed"):
            weights.fetch(HubFile("org/absent", "weights.bin"), "test weights")
        assert server.requests  # it did try, against the loopback server


def test_fetch_first_prefers_a_cached_file_then_downloads_the_first_available(caches: Path, monkeypatch) -> None:
    with hub_server() as server:
        server.add_hub_file("org/scorer", "model.bin", b"bin")
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        files = [HubFile("org/scorer", "model.safetensors"), HubFile("org/scorer", "model.bin")]
        assert Path(weights.fetch_first(files, "test weights")).read_bytes() == b"bin"
        server.add_hub_file("org/scorer", "model.safetensors", b"safe")
        # model.bin is cached now: no new download although the safetensors file appeared
        assert Path(weights.fetch_first(files, "test weights")).read_bytes() == b"bin"


@pytest.mark.slow
def test_clip_tag_weights_are_downloaded_then_read(caches: Path, monkeypatch, tmp_path: Path) -> None:
    """ViT-B-32/openai served by the loopback hub: downloaded through open_clip's hub entry and read (a
    tiny model's file for another architecture is rejected by name, which proves it was loaded)."""
    import open_clip
    from safetensors.torch import save

    from bench.errors import UserError
    from bench.metrics.clip_score import ClipScorer

    tiny = open_clip.model.CLIP(
        16,
        {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
        {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    )
    data = save({k: v.contiguous() for k, v in tiny.state_dict().items()})
    with hub_server() as server:
        server.add_hub_file("timm/vit_base_patch32_clip_224.openai", "open_clip_model.safetensors", data)
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        with pytest.raises(UserError, match="could not load weights .*open_clip_model.safetensors"):
            ClipScorer.load("ViT-B-32", pretrained="openai")
        assert any(method == "GET" for method, _ in server.requests)
        served = len(server.requests)
        with pytest.raises(UserError):  # offline: read from the cache, no request
            ClipScorer.load("ViT-B-32", pretrained="openai", offline=True)
        assert len(server.requests) == served


def test_bench_run_offline_never_connects_and_runs_on(caches: Path, monkeypatch, tmp_path: Path, capsys) -> None:
    import json
    import sqlite3

    import yaml

    from bench.cli import main

    path = tmp_path / "b.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "prompts": ["a red circle"],
                "seeds": [1],
                "samplers": ["Euler"],
                "steps": [2],
                "size": [8, 8],
                "output": "run",
                "metrics": ["ode_error", "clip_score"],
                "clip": {"model": "ViT-B-32", "pretrained": "openai"},
            }
        )
    )
    with hub_server() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        assert main(["run", str(path), "--offline", "--no-progress", "--no-report"]) == 0
        assert server.requests == []
    with sqlite3.connect(tmp_path / "run" / "results.sqlite") as db:
        warnings = json.loads(db.execute("SELECT value FROM meta WHERE key = 'warnings'").fetchone()[0])
    assert any("clip_score" in w and "offline" in w for w in warnings)
    assert "offline" in capsys.readouterr().err
