"""Large-scale landmark recognition via deep metric learning (Boiarov & Tyantov, arXiv 1908.10192)."""

__version__ = "0.1.0"
