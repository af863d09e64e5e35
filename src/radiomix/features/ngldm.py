"""IBSI feature family module (ngldm); being written."""
