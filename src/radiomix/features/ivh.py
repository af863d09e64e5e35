"""IBSI feature family module (ivh); being written."""
