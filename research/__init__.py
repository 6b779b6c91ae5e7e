"""Experiments on the real photos, apart from the product: reproducible commands (`python -m research.<module>`)
that write tables into docs/, built on the product's training and evaluation code. Nothing in `landmark/`
imports this package."""
