"""IBSI feature family module (local_intensity); being written."""
