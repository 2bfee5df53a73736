"""The load benchmark (``make bench``, that is ``python -m bench.run``): the bot against a bare
Bolt app under the same load from ``bench.loadgen``."""
