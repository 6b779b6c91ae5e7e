"""Measured experiments on the real photos (reproducible commands that write tables into docs/)."""
