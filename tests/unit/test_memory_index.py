"""The VectorIndex contract, run against every adapter (today: the numpy exact index)."""

from __future__ import annotations

import numpy as np
import pytest

from masthead.memory.index import NumpyIndex, VectorIndex


def unit_rows(count: int, dim: int = 16, seed: int = 7) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


class VectorIndexContract:
    def make(self) -> VectorIndex:
        raise NotImplementedError

    def test_an_empty_index_finds_nothing(self) -> None:
        index = self.make()
        assert len(index) == 0
        assert index.search(unit_rows(1)[0], 5) == []

    def test_search_is_exact_cosine_best_first(self) -> None:
        index = self.make()
        vectors = unit_rows(300)
        ids = [f"i{n}" for n in range(300)]
        index.add(ids, vectors, ["g"] * 300)
        query = unit_rows(1, seed=99)[0]
        expected = np.argsort(-(vectors @ query))[:10]
        found = index.search(query, 10)
        assert [item for item, _ in found] == [ids[n] for n in expected]
        assert [round(score, 5) for _, score in found] == [round(float(vectors[n] @ query), 5) for n in expected]

    def test_groups_limit_what_a_search_sees(self) -> None:
        index = self.make()
        vectors = unit_rows(4)
        index.add(["a", "b", "c", "d"], vectors, ["project:x", "project:y", "global", "project:x"])
        found = {item for item, _ in index.search(vectors[1], 10, groups=["project:x", "global"])}
        assert found == {"a", "c", "d"}
        assert index.search(vectors[0], 10, groups=["project:nobody"]) == []

    def test_k_larger_than_the_visible_items_returns_them_all(self) -> None:
        index = self.make()
        index.add(["a", "b"], unit_rows(2), ["g", "h"])
        assert len(index.search(unit_rows(1, seed=3)[0], 50)) == 2
        assert len(index.search(unit_rows(1, seed=3)[0], 50, groups=["h"])) == 1

    def test_removing_keeps_every_other_item_findable(self) -> None:
        index = self.make()
        vectors = unit_rows(5)
        ids = ["a", "b", "c", "d", "e"]
        index.add(ids, vectors, ["g"] * 5)
        assert index.remove("b") is True
        assert index.remove("b") is False
        assert len(index) == 4 and "b" not in index
        for item, vector in zip(ids, vectors, strict=True):
            if item != "b":
                assert index.search(vector, 1)[0][0] == item
                assert np.allclose(index.vector(item), vector)
        assert index.vector("b") is None

    def test_adding_an_id_again_replaces_its_vector_and_group(self) -> None:
        index = self.make()
        first, second = unit_rows(2)
        index.add(["a"], first[None, :], ["g"])
        index.add(["a"], second[None, :], ["h"])
        assert len(index) == 1
        assert np.allclose(index.vector("a"), second)
        assert index.search(second, 1, groups=["g"]) == []

    def test_vectors_of_another_dimension_are_refused(self) -> None:
        index = self.make()
        index.add(["a"], unit_rows(1, dim=16), ["g"])
        with pytest.raises(ValueError, match="dimensions"):
            index.add(["b"], unit_rows(1, dim=8), ["g"])

    def test_mismatched_ids_and_vectors_are_refused(self) -> None:
        with pytest.raises(ValueError, match="do not match"):
            self.make().add(["a", "b"], unit_rows(1), ["g", "g"])

    def test_growing_past_the_first_allocation_keeps_results_exact(self) -> None:
        index = self.make()
        vectors = unit_rows(3000, dim=8)
        for start in range(0, 3000, 250):  # many small adds, as the log catches up
            chunk = range(start, start + 250)
            index.add([f"i{n}" for n in chunk], vectors[start : start + 250], ["g"] * 250)
        query = unit_rows(1, dim=8, seed=5)[0]
        assert index.search(query, 1)[0][0] == f"i{int(np.argmax(vectors @ query))}"


class TestNumpyIndex(VectorIndexContract):
    def make(self) -> VectorIndex:
        return NumpyIndex()
