"""Owners take turns in the job queue: round robin over the owners with queued jobs, within each kind of job.

huey takes the queued job of highest priority, the oldest first among equals:
on its own, one user's three queued transcodes ran before another user's copy
queued a second later, which waited for all of them ("queued" for 47 s
behind one 40 s transcode). So each job gets a turn on a clock of its kind
(start-time fair queueing, every job counted as one unit), written into its
priority:

- an owner's next job takes the turn two after that owner's previous one,
  and never one before the turn after the job that started last;
- jobs run in the order of their turns (the oldest first among equals), and
  the clock moves to a job's turn as it starts.

A user with three copies queued holds turns 2, 4 and 6; once the first has
started (the clock at 2), another user's copy takes turn 3 and runs next,
before the first user's second. The turn is a fraction below the kind's own
priority (``PRIORITY_FACTS``, ``PRIORITY_COPIES``), so facts still go before
every copy, and jobs queued before turns existed (the priority itself) go
first in their kind. ``PORTAL_JOB_WORKERS`` is untouched: it says how many
jobs run at once, and this which of the queued ones starts next.

The clock and each owner's last turn live in the queue's own key-value store
(SQLite's ``kv`` table, Redis's hash), which every web worker and consumer
shares. Two jobs of one owner queued at the same moment may share a turn;
they then run in the order they were queued.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

#: Turns a kind's clock counts before the fraction would reach the kind below (4 billion jobs).
TURNS = 2**32
#: An owner's jobs are this many turns apart, so that another owner's job fits between two of them.
STEP = 2


def _clock_key(base: int) -> str:
    return f"turns:{base}:clock"


def _owner_key(base: int, owner: object) -> str:
    return f"turns:{base}:owner:{owner}"


def _turn_at(huey: Any, key: str) -> int:
    value = huey.get(key, peek=True)
    return int(value) if value is not None else 0


def turn_priority(huey: Any, base: int, owner: object) -> float:
    """The priority of ``owner``'s next job of the kind whose own priority is ``base``, taking its turn."""
    clock = _turn_at(huey, _clock_key(base))
    # A queue emptied behind the portal's back (a flushed Redis) leaves no owner any job to wait for.
    last = _turn_at(huey, _owner_key(base, owner)) if huey.pending_count() else 0
    turn = max(clock + 1, last + STEP)
    huey.put(_owner_key(base, owner), turn)
    return base - turn / TURNS


def turn_of(base: int, priority: float | None) -> int:
    """The turn a job of priority ``priority`` was given (0: none, queued before turns or by hand)."""
    if priority is None:
        return 0
    return max(0, round((base - priority) * TURNS))


def job_started(huey: Any, base: int, priority: float | None) -> None:
    """Move the clock of the kind to the turn of the job that starts (never back).

    A clock that cannot be moved (the queue's SQLite file busy) costs the next
    jobs some fairness, never this job: it runs anyway.
    """
    turn = turn_of(base, priority)
    try:
        if turn > _turn_at(huey, _clock_key(base)):
            huey.put(_clock_key(base), turn)
    except Exception as error:  # whatever the backend raises
        log.warning("the job queue's turns could not move to %d: %s", turn, error)
