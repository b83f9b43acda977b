"""The explorer's thumbnails with and without the cache of an earlier build, measured side by side.

    python perf/thumbnails.py [--images 500] [--size 512] [--repeats 3]

Writes `--images` PNGs of `--size` px (a smooth pattern plus noise: about as large as SD's 512 px outputs)
and times making every thumbnail with no cache (a first build) and with the cache the first build left (a
rebuild after a resumed run), alternating, best of `--repeats`. Prints seconds and their ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def images(folder: Path, n: int, size: int):
    import numpy as np
    import pandas as pd
    from PIL import Image

    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True)
    x = np.linspace(0, 1, size)
    for i in range(n):
        wave = np.sin(8 * x[None, :] * (i % 7 + 1) + 5 * x[:, None])[..., None] * 100 + 120
        pixels = (wave + rng.normal(0, 10, (size, size, 3))).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / "images" / f"{i}.png")
    return pd.DataFrame({"status": ["ok"] * n, "image": [f"images/{i}.png" for i in range(n)]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from reports.embed import EmbedMode
    from reports.explorer import _thumbs
    from reports.thumb_cache import FILE

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = images(folder, args.images, args.size)
        cold, warm = [], []
        for _ in range(args.repeats):
            (folder / FILE).unlink(missing_ok=True)
            started = time.perf_counter()
            first = _thumbs(results, folder, EmbedMode(), None)
            cold.append(time.perf_counter() - started)
            started = time.perf_counter()
            again = _thumbs(results, folder, EmbedMode(), None)
            warm.append(time.perf_counter() - started)
            assert [t.uri for t in first] == [t.uri for t in again]
        kb = sum(p.stat().st_size for p in (folder / "images").iterdir()) / args.images / 1e3
    print(f"{args.images} images of {args.size} px ({kb:.0f} kB each), best of {args.repeats}")
    print(f"first build (no cache)  {min(cold):7.2f} s  {1e3 * min(cold) / args.images:6.2f} ms/image")
    print(f"rebuild (cache)         {min(warm):7.2f} s  {1e3 * min(warm) / args.images:6.2f} ms/image")
    print(f"rebuild / first build   {min(warm) / min(cold):7.3f}")


if __name__ == "__main__":
    main()
