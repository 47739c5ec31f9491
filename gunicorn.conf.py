"""gunicorn's settings file, read by gunicorn from the directory it starts in (the Procfile's `web`, the benchmarks).

Only what the command line does not say: each worker, once the app is loaded, moves everything allocated so far
(SQLAlchemy's mappers, the schemas, the modules) out of the garbage collector's reach with `gc.freeze()`. Without
it, every full collection walks that whole heap again — about 110 ms on this app (bench/learning_leaderboard.py
found such pauses in the slow half of its timings) — while nothing in it ever becomes garbage.
"""

import gc


def post_worker_init(worker):
    gc.collect()
    gc.freeze()
