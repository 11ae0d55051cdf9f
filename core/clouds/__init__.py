"""Point clouds: ε-annealing log-domain Sinkhorn (`solve`, `iterate`, `SamplesLoss`), its soft-min
backends (dense, blockwise online, KeOps, multiscale clusters), the Newton closing, kernel losses and
particle gradient flows."""
