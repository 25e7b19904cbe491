"""Runtime: sessions that turn a prompt into a timed trace, each variant's session in a worker process, and a bare
loop as the yardstick."""
