"""Chunking long text for an embedder that reads 256 tokens."""

from __future__ import annotations

from masthead.memory.chunking import chunk_text


def test_short_text_is_one_chunk() -> None:
    assert chunk_text("  One line.  ") == ["One line."]
    assert chunk_text("\n\n  \n") == []


def test_paragraphs_are_packed_together_up_to_the_limit() -> None:
    paragraphs = [f"Paragraph {n} " + "word " * 30 for n in range(10)]
    chunks = chunk_text("\n\n".join(paragraphs), max_chars=400)
    assert all(len(chunk) <= 400 for chunk in chunks)
    assert len(chunks) < len(paragraphs)  # packed, not one item per paragraph
    assert all(chunk.startswith("Paragraph") for chunk in chunks)  # cut at paragraph breaks


def test_a_long_paragraph_is_cut_at_sentences_then_spaces() -> None:
    sentences = " ".join(f"Sentence number {n} says a few words." for n in range(100))
    chunks = chunk_text(sentences, max_chars=200)
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert all(chunk.endswith(".") for chunk in chunks)
    one_word = "x" * 450
    assert [len(c) for c in chunk_text(one_word, max_chars=200)] == [200, 200, 50]


def test_no_word_is_lost() -> None:
    text = "\n\n".join(" ".join(f"w{p}-{n}" for n in range(200)) for p in range(5))
    chunks = chunk_text(text, max_chars=300)
    assert " ".join(chunks).split() == text.split()
