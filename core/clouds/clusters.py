"""Voxel clustering on nested grids, for the multiscale solver.

Grid j has cubic cells of side ``side / 2**j`` anchored at a common origin, so the cells of grid j+1
subdivide those of grid j: clusters of a finer grid nest in the clusters of a coarser one.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Clusters:
    """A cloud grouped by voxel: point labels (N,), centroids (K, D), masses (K,), radii (K,)."""

    labels: torch.Tensor
    centroids: torch.Tensor
    masses: torch.Tensor
    radii: torch.Tensor

    @property
    def count(self) -> int:
        return self.centroids.shape[0]


def voxel_clusters(x: torch.Tensor, w: torch.Tensor, origin: torch.Tensor, cell: float) -> Clusters:
    """Group points x (N, D) with weights w (N,) by the voxel of side ``cell`` (grid anchored at ``origin``).

    Centroids are weighted means (plain means for clusters of zero mass); a radius is the largest
    distance from a point of the cluster to its centroid.
    """
    x, w = x.detach(), w.detach()
    cells = torch.floor((x - origin) / cell).long()
    extent = cells.max(0).values + 1
    strides = torch.ones_like(extent)
    for d in range(x.shape[1] - 2, -1, -1):
        strides[d] = strides[d + 1] * extent[d + 1]
    _, labels = torch.unique((cells * strides).sum(-1), return_inverse=True)  # CUDA has no integer matmul
    k = int(labels.max()) + 1
    zeros = torch.zeros(k, dtype=x.dtype, device=x.device)
    masses = zeros.index_add(0, labels, w)
    counts = zeros.index_add(0, labels, torch.ones_like(w))
    weighted = torch.zeros(k, x.shape[1], dtype=x.dtype, device=x.device).index_add_(0, labels, w[:, None] * x)
    plain = torch.zeros_like(weighted).index_add_(0, labels, x) / counts[:, None]
    centroids = torch.where(masses[:, None] > 0, weighted / masses.clamp_min(torch.finfo(x.dtype).tiny)[:, None],
                            plain)
    radii = zeros.scatter_reduce(0, labels, (x - centroids[labels]).norm(dim=1), "amax")
    return Clusters(labels, centroids, masses, radii)


def parent_labels(fine: Clusters, coarse: Clusters) -> torch.Tensor:
    """For nested grids: the coarse cluster containing each fine cluster, (K_fine,)."""
    return torch.zeros(fine.count, dtype=torch.long, device=fine.labels.device).scatter_(
        0, fine.labels, coarse.labels)
