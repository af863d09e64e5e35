"""IBSI feature family module (ngtdm); being written."""
