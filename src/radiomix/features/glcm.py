"""IBSI feature family module (glcm); being written."""
