"""The optional embedder: any OpenAI-compatible `/embeddings` endpoint, through the `openai` SDK.

Like the chat provider, the SDK's own retries are off and every failure becomes a
`ProviderError` whose message never contains the key. Vectors are normalised here because
not every compatible server returns unit-length vectors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import openai

from masthead.errors import ProviderError
from masthead.memory.embedder import normalise_rows

BATCH_SIZE = 128
_TRANSIENT = frozenset({408, 409, 429})


class OpenAIEmbedder:
    def __init__(self, *, base_url: str, model: str, api_key: str, api_key_env: str,
                 timeout_seconds: float = 30.0) -> None:
        self.model_id = f"openai:{model}"
        self.base_url = base_url.rstrip("/")
        self._model = model
        self._api_key_env = api_key_env
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key, timeout=timeout_seconds, max_retries=0)
        self._timeout = timeout_seconds

    def __repr__(self) -> str:
        # Spelled out so the key can never reach a log through a default repr.
        return f"OpenAIEmbedder(model={self._model!r}, base_url={self.base_url!r}, api_key_env={self._api_key_env!r})"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), BATCH_SIZE):
            rows.extend(self._embed_batch(list(texts[start : start + BATCH_SIZE])))
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return normalise_rows(np.array(rows, dtype=np.float32))

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        try:
            response = self._client.embeddings.create(model=self._model, input=texts, encoding_format="float")
        except openai.APIError as exc:
            failure = self._translate(exc)
        else:
            data = sorted(response.data, key=lambda item: item.index)
            if len(data) != len(texts):
                raise ProviderError(
                    f"the embeddings endpoint {self.base_url} returned {len(data)} vectors for {len(texts)} texts",
                    transient=True, fix="retry; if it persists, check the endpoint",
                )
            return [list(item.embedding) for item in data]
        # Raised outside the except block so the SDK error (which may echo the key) is not chained.
        raise failure

    def _translate(self, exc: openai.APIError) -> ProviderError:
        where = f"the embeddings endpoint {self.base_url}"
        if isinstance(exc, openai.APITimeoutError):
            return ProviderError(f"{where} did not answer within {self._timeout:g}s", transient=True,
                                 fix="retry later, or raise [memory.openai] timeout_seconds")
        if isinstance(exc, openai.APIConnectionError):
            return ProviderError(f"{where} cannot be reached", transient=True,
                                 fix="check [memory.openai] base_url and that the server is up")
        status = getattr(exc, "status_code", None)
        if status in (401, 403):
            return ProviderError(f"{where} refused the key in ${self._api_key_env} (HTTP {status})",
                                 fix=f"set {self._api_key_env} to a valid key")
        if status == 404:
            return ProviderError(f"{where} does not know the model {self._model!r} (HTTP 404)",
                                 fix="set [memory.openai] model to an embedding model the endpoint serves")
        transient = status in _TRANSIENT or (status is not None and status >= 500)
        return ProviderError(f"{where} failed with HTTP {status}", transient=transient,
                             fix="retry later" if transient else "check [memory.openai] in masthead.toml")
