"""``fix:`` as a pipeline: dictionary pass for non-words (symspellpy), real-word confusions and
known grammar substitutions (pure rules), candidates chosen in context (bigram counts, the
model's log-probabilities where the server scores text), then the model's few-shot rewrite
kept only where a guard accepts it. See :mod:`assistant.commands.fix.pipeline`."""
