"""IBSI feature family module (glszm); being written."""
