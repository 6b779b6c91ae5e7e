"""Team services on one machine: PostgreSQL, an S3 object store, the MLflow and Prefect servers and a
Prefect worker, started and stopped by `landmark services up|status|down` (stack.py)."""
