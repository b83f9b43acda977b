"""SD's CLIP tokenizer, built offline from the BPE vocabulary that open_clip ships in its package.

Every SD text encoder (CLIP-L, OpenCLIP-H, OpenCLIP-bigG) uses the same 49408-token BPE; only the padding
token differs. transformers 5 builds the tokenizer from `vocab=` / `merges=` objects (its
`vocab_file=`/`merges_file=` paths silently give a 2-token vocabulary: see ENVIRONMENT.md).
"""

from __future__ import annotations

import gzip
from functools import lru_cache

from transformers import CLIPTokenizer

#: CLIP's BPE: 49152 - 256 - 2 merges follow the header line (Radford et al. 2021, CLIP simple_tokenizer)
N_MERGES = 49152 - 256 - 2
START, END = "<|startoftext|>", "<|endoftext|>"


@lru_cache(maxsize=1)
def _vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """CLIP's vocabulary in CLIP's order: bytes, bytes + '</w>', merged pairs, then the two specials."""
    from open_clip.tokenizer import bytes_to_unicode, default_bpe

    with gzip.open(default_bpe(), "rt", encoding="utf-8") as f:
        merges = [(pair[0], pair[1]) for pair in (line.split() for line in f.read().split("\n")[1 : N_MERGES + 1])]
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + [START, END]
    return {token: i for i, token in enumerate(tokens)}, merges


@lru_cache(maxsize=4)
def clip_tokenizer(pad_token: str = END) -> CLIPTokenizer:
    """SD's tokenizer (77 tokens, lower-cased BPE) with the padding token of the text encoder it feeds."""
    vocab, merges = _vocab_and_merges()
    return CLIPTokenizer(
        vocab=dict(vocab),
        merges=list(merges),  # type: ignore[arg-type]  # transformers 5 takes (a, b) pairs
        pad_token=pad_token,
        model_max_length=77,
    )
