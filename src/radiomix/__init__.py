"""radiomix: IBSI-conformant radiomic features and leakage-free imaging biomarker models."""

__version__ = "0.1.0"
