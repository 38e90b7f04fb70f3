"""Scheduled runs: :func:`~productiv_pandas.sync` pushes what is new in a source since the last
run, with a watermark, an outbox for failed rows and a lock, all in one state file."""
