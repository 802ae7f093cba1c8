"""digest: turn a folder of news articles into a weekly newsletter."""

__version__ = "0.1.0"
