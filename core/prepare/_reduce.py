"""The optional ``("reduce", ...)`` step: fewer model inputs, fitted inside each fold.

PCA (principal components) centres the prepared inputs and keeps the directions along which
they vary most, by a number of components or by the share of variance they keep. It gets a
dense matrix, as every model does. Truncated SVD does not centre, so it can take TF-IDF text as
the sparse matrix it is: with ``svd`` the preparation hands its output on sparse (mostly zeros
from text words: a fraction of the memory) and the step returns a small dense matrix.

Components mix every input, so the inputs must share a scale and have no gaps: with a
reduction every model gets the preparation linear models get (one-hot, scaled, imputed; see
:func:`core.prepare._pipeline.build_pipeline`).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.decomposition import PCA, TruncatedSVD

from core.recipe import Recipe


class _PCA(PCA):
    """``PCA`` keeping at most as many components as its data has rows and inputs.

    A count asked of a narrower fold (or of fewer rows) is lowered to what that data allows,
    and the lowered count is the parameter an exported script writes, as fitted.
    """

    def _fit(self, X: Any) -> Any:
        if isinstance(self.n_components, numbers.Integral):
            self.n_components = int(min(self.n_components, *X.shape))
        return super()._fit(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"pca{i}" for i in range(self.n_components_)], dtype=object)


class _TruncatedSVD(TruncatedSVD):
    """``TruncatedSVD`` keeping at most as many components as its data has rows and inputs."""

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        self.n_components = int(min(self.n_components, *X.shape))
        return super().fit_transform(X, y)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"svd{i}" for i in range(self.components_.shape[0])], dtype=object)


def build_reducer(recipe: Recipe) -> PCA | TruncatedSVD | None:
    """The recipe's ``("reduce", ...)`` step, unfitted, or ``None`` without a reduction.

    Examples
    --------
    >>> from core.recipe import Recipe, Reduction
    >>> recipe = Recipe(target="y")
    >>> recipe.preparation.reduce = Reduction("pca", variance=0.9)
    >>> build_reducer(recipe).n_components
    0.9
    >>> build_reducer(Recipe(target="y")) is None
    True
    """
    reduce = recipe.preparation.reduce
    if reduce.method == "pca":
        keep = reduce.variance if reduce.variance is not None else reduce.components
        return _PCA(n_components=keep, random_state=recipe.seed)
    if reduce.method == "svd":
        return _TruncatedSVD(n_components=reduce.components, random_state=recipe.seed)
    return None


def keeps_sparse(recipe: Recipe) -> bool:
    """Whether the preparation hands its output on sparse (see the module's docstring).

    Only truncated SVD takes a sparse matrix as it is. Mutual-information selection, which
    would come first, reads sparse columns as discrete, so with it the matrix stays dense.
    """
    return (recipe.preparation.reduce.method == "svd"
            and recipe.features.selection != "mutual_info")
