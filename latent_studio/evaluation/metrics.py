"""Sample-quality metrics on feature vectors: pure functions, each tested on cases with known
answers. Features come from a domain classifier (latent_studio/families/classifier.py)."""

from __future__ import annotations

import numpy as np
import torch


def gaussian(features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of features [N, D], in float64."""
    x = features.double().cpu().numpy()
    return x.mean(0), np.cov(x, rowvar=False)


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    """The symmetric square root of a positive semi-definite matrix (tiny negative eigenvalues,
    rounding error, read as 0)."""
    values, vectors = np.linalg.eigh(s)
    return (vectors * np.sqrt(values.clip(min=0))) @ vectors.T


def frechet_distance(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), the FID formula (Heusel et al. 2017).

    Tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of S_a S_b, which are
    those of the symmetric S_a^(1/2) S_b S_a^(1/2): two symmetric eigendecompositions instead of a
    general matrix square root (the same value to 1e-6, far faster, and no scipy)."""
    (mu1, s1), (mu2, s2) = a, b
    root = _sqrt_psd(np.asarray(s1, dtype=np.float64))
    middle = root @ np.asarray(s2, dtype=np.float64) @ root
    trace_covmean = np.sqrt(np.linalg.eigvalsh((middle + middle.T) / 2).clip(min=0)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_covmean)


def inception_score(probs: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) || p(y))): 1 for uninformative predictions, K for confident, balanced ones."""
    p = probs.double().clamp_min(1e-12)
    marginal = p.mean(0, keepdim=True)
    return float((p * (p.log() - marginal.log())).sum(1).mean().exp())


def _knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # +1: each point is its own nearest neighbour


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019): the share of fakes inside the real
    manifold (union of k-NN balls around real points), and of reals inside the fake manifold."""
    real, fake = real.double(), fake.double()
    r_real, r_fake = _knn_radii(real, k), _knn_radii(fake, k)
    precision = (torch.cdist(fake, real) <= r_real[None]).any(1).double().mean()
    recall = (torch.cdist(real, fake) <= r_fake[None]).any(1).double().mean()
    return float(precision), float(recall)


def purity(codes: torch.Tensor, predictions: torch.Tensor) -> tuple[float, dict[int, int]]:
    """Map each code value to its majority predicted class; the accuracy of that mapping.

    InfoGAN's unsupervised categorical code is scored this way (the paper reports ~5% error on MNIST).
    """
    mapping = {}
    correct = 0
    for c in codes.unique().tolist():
        preds = predictions[codes == c]
        majority = int(preds.mode().values)
        mapping[int(c)] = majority
        correct += int((preds == majority).sum())
    return correct / len(codes), mapping


def nearest_neighbours(queries: torch.Tensor, pool: torch.Tensor, k: int = 3, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """(distances, indices) [Q, k] of each query's k nearest rows of `pool`, L2, in chunks of the pool."""
    q = queries.flatten(1).float()
    best_d = torch.full((len(q), k), float("inf"))
    best_i = torch.zeros(len(q), k, dtype=torch.long)
    for start in range(0, len(pool), chunk):
        d = torch.cdist(q, pool[start:start + chunk].flatten(1).float())
        d_all = torch.cat([best_d, d], 1)
        i_all = torch.cat([best_i, torch.arange(start, start + d.shape[1]).expand(len(q), -1)], 1)
        best_d, order = d_all.topk(k, dim=1, largest=False)
        best_i = i_all.gather(1, order)
    return best_d, best_i
