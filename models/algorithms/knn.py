"""Item-item nearest neighbours (implicit's cosine, TF-IDF and BM25 item similarities).

A customer's score for an item is the sum of its similarities to what they bought: simple,
explainable ("because you bought X") and a classic strong baseline for shop data.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender, TFIDFRecommender
from pydantic import Field

from models.algorithms.base import Recommender, top_k
from models.algorithms.params import ModelParams, Search


class KNNParams(ModelParams):
    similarity: Literal["cosine", "tfidf", "bm25"] = "bm25"
    neighbours: int = Field(default=20, ge=1)  # implicit's K: similar items kept per item
    bm25_k1: float = Field(default=1.2, ge=0.0)
    bm25_b: float = Field(default=0.75, ge=0.0, le=1.0)

    search = Search(start={"neighbours": 50}, values={"neighbours": (20, 200), "similarity": ("cosine", "tfidf")})


class ItemKNNRecommender(Recommender):
    name = "item_knn"
    Params = KNNParams
    params: KNNParams

    def __init__(self, params: KNNParams | None = None) -> None:
        super().__init__(params)

    def _fit(self, user_items: sp.csr_matrix) -> None:
        p = self.params
        if p.similarity == "bm25":
            knn = BM25Recommender(K=p.neighbours, K1=p.bm25_k1, B=p.bm25_b, num_threads=1)
        elif p.similarity == "tfidf":
            knn = TFIDFRecommender(K=p.neighbours, num_threads=1)
        else:
            knn = CosineRecommender(K=p.neighbours, num_threads=1)
        with warnings.catch_warnings():  # implicit converts its own COO weighting to CSR and warns about it
            warnings.simplefilter("ignore")
            knn.fit(user_items.astype(np.float32), show_progress=False)
        self.similarity = knn.similarity.tocsr().astype(np.float32)

    def _score(self, user_rows: np.ndarray, user_items: sp.csr_matrix) -> np.ndarray:
        return np.asarray((user_items @ self.similarity).todense())

    def similar_items(self, item_rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        sims = self.similarity[np.asarray(item_rows)].toarray()
        sims[sims == 0] = -np.inf
        sims[np.arange(len(item_rows)), item_rows] = -np.inf
        return top_k(sims, k)

    def _state(self) -> dict[str, np.ndarray]:
        s = self.similarity
        return {
            "data": s.data,
            "indices": s.indices,
            "indptr": s.indptr,
            "shape": np.asarray(s.shape),
        }

    def _restore(self, state: dict[str, np.ndarray]) -> None:
        shape = tuple(int(x) for x in state["shape"])
        self.similarity = sp.csr_matrix((state["data"], state["indices"], state["indptr"]), shape=shape)
