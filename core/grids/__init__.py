"""Densities on regular 1D/2D/3D grids: separable soft-min, `solve_grid`, `ImagesLoss`, and
Wasserstein barycenters (on grids, and free-support on point clouds)."""
