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
