"""IBSI feature family module (glrlm); being written."""
