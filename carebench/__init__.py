"""CareBench: benchmark how brands answer customers in public."""

__version__ = "0.1.0"
