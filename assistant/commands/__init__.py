"""Commands: ``gen:``, ``fix:``, ``sum:`` and user prefixes, from typed or spoken text to a
cleaned model answer stored in history. Free of OS hooks (see ``pipeline.CommandPipeline``)."""

from assistant.commands.pipeline import CommandPipeline, CommandResult

__all__ = ["CommandPipeline", "CommandResult"]
