import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # test helper modules


import pytest  # noqa: E402


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: torch's intra-op threads only add waiting on a shared CPU (restored afterwards)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model():
    """The analytic model, built once per test module."""
    from bench.models.loaders import analytic

    return analytic({})


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """(config, run folder) of a finished 4-cell analytic run, for tests that read a real store."""
    from hostile_helpers import TINY

    from bench.cli import main

    root = tmp_path_factory.mktemp("tiny")
    (root / "tiny.yaml").write_text(TINY)
    assert main(["run", str(root / "tiny.yaml"), "-o", str(root / "run"), "--no-progress", "--no-report"]) == 0
    return root / "tiny.yaml", root / "run"


@pytest.fixture(autouse=True)
def no_network_downloads(monkeypatch):
    """Every test is offline (HF_HUB_OFFLINE=1, HF_ENDPOINT at a closed loopback port) unless it points
    HF_ENDPOINT at its own 127.0.0.1 server (tests/hub_server.py) and lifts HF_HUB_OFFLINE itself."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
