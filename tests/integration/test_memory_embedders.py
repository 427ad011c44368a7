"""The Embedder contract, run against the bundled ONNX model and an OpenAI-compatible endpoint
(the loopback server), plus what only the ONNX adapter promises."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tests.support.openai_server import OpenAIServer

from masthead.errors import ProviderError
from masthead.memory.embedder import Embedder, EmbedderError
from masthead.memory.onnx_embedder import MODEL_PACKAGE, OnnxEmbedder, packaged_model_file
from masthead.memory.openai_embedder import OpenAIEmbedder

TEXTS = ["Tallybook 3.2 adds bank feeds.", "Recurring invoices skip weekends.", "x",
         "A much longer sentence about payment reminders that go out three days after the due date."]


class EmbedderContract:
    @pytest.fixture
    def embedder(self) -> Iterator[Embedder]:
        raise NotImplementedError

    def test_one_unit_length_float32_row_per_text(self, embedder: Embedder) -> None:
        vectors = embedder.embed(TEXTS)
        assert vectors.dtype == np.float32 and vectors.shape[0] == len(TEXTS) and vectors.shape[1] >= 8
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    def test_the_same_text_gives_the_same_vector_in_any_batch(self, embedder: Embedder) -> None:
        together = embedder.embed(TEXTS)
        alone = np.stack([embedder.embed([text])[0] for text in TEXTS])
        reversed_order = embedder.embed(TEXTS[::-1])[::-1]
        assert np.allclose(together, alone, atol=1e-5)
        assert np.allclose(together, reversed_order, atol=1e-5)

    def test_no_texts_give_no_rows(self, embedder: Embedder) -> None:
        assert embedder.embed([]).shape[0] == 0

    def test_it_names_its_vector_space(self, embedder: Embedder) -> None:
        assert isinstance(embedder, Embedder) and embedder.model_id


@pytest.fixture(scope="module")
def onnx() -> OnnxEmbedder:
    return OnnxEmbedder()


class TestOnnxEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self, onnx: OnnxEmbedder) -> Iterator[Embedder]:
        yield onnx

    def test_vectors_match_the_reference_model(self, embedder: Embedder) -> None:
        # sentence-transformers' own example scores for all-MiniLM-L6-v2 (float32): 0.8939,
        # 0.2838 and -0.0327. The int8 file lands within 0.01 of each: pooling and
        # normalisation are right.
        pairs = [("The new movie is awesome", "The new movie is so great", 0.8939),
                 ("The cat sits outside", "The dog plays in the garden", 0.2838),
                 ("A man is playing guitar", "A woman watches TV", -0.0327)]
        for first, second, reference in pairs:
            a, b = embedder.embed([first, second])
            assert float(a @ b) == pytest.approx(reference, abs=0.01)

    def test_input_is_cut_at_256_tokens(self, embedder: Embedder) -> None:
        long_text = " ".join(f"word{n}" for n in range(400))  # far more than 256 tokens
        a, b = embedder.embed([long_text, long_text + " and a tail nobody reads"])
        assert np.allclose(a, b, atol=1e-6)
        short_a, short_b = embedder.embed(["ten words here", "ten words here and a tail"])
        assert not np.allclose(short_a, short_b, atol=1e-3)

    def test_a_tampered_model_file_is_refused_naming_the_package(self, tmp_path: Path) -> None:
        copy = tmp_path / "model.onnx"
        shutil.copyfile(packaged_model_file(), copy)
        with copy.open("r+b") as handle:
            handle.seek(4096)
            byte = handle.read(1)
            handle.seek(4096)
            handle.write(bytes([byte[0] ^ 0xFF]))
        with pytest.raises(EmbedderError, match="corrupt or has been tampered with") as caught:
            OnnxEmbedder(model_path=copy)
        assert MODEL_PACKAGE in str(caught.value) and "pip install --force-reinstall" in str(caught.value)

    def test_a_missing_model_file_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(EmbedderError, match="is missing"):
            OnnxEmbedder(model_path=tmp_path / "gone.onnx")


class TestOpenAIEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self, openai_server: OpenAIServer) -> Iterator[Embedder]:
        yield OpenAIEmbedder(base_url=openai_server.base_url, model="text-embedding-3-small", api_key="sk-test",
                             api_key_env="MASTHEAD_TEST_KEY")

    def test_the_model_id_names_endpoint_kind_and_model(self, embedder: Embedder) -> None:
        assert embedder.model_id == "openai:text-embedding-3-small"

    def test_a_refused_key_is_an_error_that_never_shows_the_key(self, openai_server: OpenAIServer) -> None:
        wrong = OpenAIEmbedder(base_url=openai_server.base_url, model="m", api_key="sk-wrong-secret-1234",
                               api_key_env="MASTHEAD_TEST_KEY")
        with pytest.raises(ProviderError) as caught:
            wrong.embed(["hello"])
        assert "refused the key in $MASTHEAD_TEST_KEY" in str(caught.value)
        assert "sk-wrong-secret-1234" not in str(caught.value) and caught.value.__cause__ is None
        assert "sk-wrong-secret-1234" not in repr(wrong)

    def test_an_unreachable_endpoint_is_a_transient_error(self) -> None:
        gone = OpenAIEmbedder(base_url="http://127.0.0.1:9/v1", model="m", api_key="k", api_key_env="K",
                              timeout_seconds=2.0)
        with pytest.raises(ProviderError) as caught:
            gone.embed(["hello"])
        assert caught.value.transient
