"""Prefect flows that run the DVC pipeline and manage the MLflow registry (no torch imported here)."""
