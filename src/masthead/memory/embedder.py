"""The Embedder port: text in, L2-normalised float32 vectors out.

Adapters live beside this file (`onnx_embedder`, `openai_embedder`) and never import each
other. Every vector an embedder returns has unit length, so cosine similarity is a dot product.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from masthead.errors import MastheadError


class EmbedderError(MastheadError):
    """The embedding model is missing, corrupt or cannot run."""


@runtime_checkable
class Embedder(Protocol):
    # Identifies the vector space: vectors of different model ids are never compared.
    model_id: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length float32 row per text, in order. For no texts: zero rows (and zero
        columns when the embedder only learns its dimension from an answer)."""
        ...


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Scale each row to unit length; an all-zero row stays zero rather than becoming NaN."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
