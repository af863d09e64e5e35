"""Private numba kernels of the feature families: no validation, preallocated outputs."""
