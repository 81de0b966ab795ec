"""tabwright core: everything from a raw CSV to a deployable model, with no UI imports."""

__version__ = "0.1.0"
