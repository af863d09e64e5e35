"""IBSI feature family module (gldzm); being written."""
