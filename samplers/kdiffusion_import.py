"""k-diffusion's samplers without the rest of the package: about 200 MB less resident memory per run.

`import k_diffusion` runs its `__init__`, which imports every submodule: the training models, config,
evaluation (OpenAI CLIP, clean-fid, scikit-image) and, through `k_diffusion.utils`, torchvision (about
160 MB resident on its own on torch 2.14 CPU). The samplers need `k_diffusion.sampling` and
`k_diffusion.external` only, and `utils` uses torchvision (`TF`) only in image helpers that no sampler
calls. So `register()` (called by the `bench` command before it imports a sampler, never by `import
samplers`: a program that imports this library keeps its k_diffusion as it is; it imports nothing itself):
  - puts a lazy `k_diffusion` package in `sys.modules` (PEP 562 module `__getattr__`): any submodule, or
    `k_diffusion.Denoiser`, still imports on first use, so `import k_diffusion; k_diffusion.layers...`
    works as before, only later;
  - imports `k_diffusion.utils` with `torchvision.transforms.functional` bound to a proxy that imports
    the real module on its first attribute access (torchvision is never stubbed for anyone else: the
    placeholders live in `sys.modules` only while that one module executes).
Nothing is copied from k-diffusion; if it is already imported, nothing changes.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

PACKAGE = "k_diffusion"
#: what k_diffusion/__init__.py imports (0.1.1): its submodules, and Denoiser from layers
SUBMODULES = ("augmentation", "config", "evaluation", "external", "gns", "layers", "models", "sampling", "utils")
TORCHVISION = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")


class _LazyPackage(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name in SUBMODULES:
            return importlib.import_module(f"{PACKAGE}.{name}")
        if name == "Denoiser":
            return importlib.import_module(f"{PACKAGE}.layers").Denoiser
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")


class _Deferred(types.ModuleType):
    """Stands for a module until an attribute is read, then imports the real one."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module(self.__name__), name)


class _WithoutTorchvision(importlib.abc.Loader):
    """Executes k_diffusion.utils with torchvision's transforms deferred (see the module docstring)."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        if any(name in sys.modules for name in TORCHVISION):  # already there: nothing to save
            self.loader.exec_module(module)
            return
        placeholders = {name: types.ModuleType(name) for name in TORCHVISION[:2]}
        placeholders["torchvision"].transforms = placeholders["torchvision.transforms"]  # type: ignore[attr-defined]
        placeholders["torchvision.transforms"].functional = _Deferred(TORCHVISION[2])  # type: ignore[attr-defined]
        sys.modules.update(placeholders)
        try:
            self.loader.exec_module(module)
        finally:
            for name, placeholder in placeholders.items():
                if sys.modules.get(name) is placeholder:
                    del sys.modules[name]


class _UtilsFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != f"{PACKAGE}.utils":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _WithoutTorchvision(spec.loader)
        return spec


def register() -> bool:
    """Install the lazy package (once); False if k_diffusion was imported already or is not installed."""
    if PACKAGE in sys.modules:
        return isinstance(sys.modules[PACKAGE], _LazyPackage)
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return False
    package = _LazyPackage(PACKAGE)
    package.__spec__ = spec
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    package.__package__ = PACKAGE
    sys.modules[PACKAGE] = package
    sys.meta_path.insert(0, _UtilsFinder())
    return True
