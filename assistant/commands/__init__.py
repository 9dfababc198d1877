"""Commands: ``gen:``, ``fix:``, ``sum:`` and user prefixes, from typed or spoken text to a
cleaned model answer stored in history. Free of OS hooks (see ``pipeline.CommandPipeline``).

The pipeline is imported on first use (``hushtype`` start-up stays light)."""

__all__ = ["CommandPipeline", "CommandResult"]


def __getattr__(name):
    if name in __all__:
        from assistant.commands import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
