"""omctl: operation and maintenance of client web servers, split by contract scope."""

__version__ = "0.1.0"
