"""The one error of the ``format`` -> grammar path (HTTP 400 with its message)."""


class FormatError(ValueError):
    """A ``format`` value that cannot be turned into a grammar (HTTP 400)."""
