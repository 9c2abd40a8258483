"""Thin Hydra entry points: python -m jobs.<job> key=value ..."""
