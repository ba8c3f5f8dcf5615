"""The per-user API rate limit, counted in fixed windows with a shared counter per user.

DRF's UserRateThrottle keeps the time of every request in the window as a list in the cache and
reads, unpickles, pickles and writes back the whole list on every request: at the default 6,000
requests a minute, a busy script's every request moved about 50 kB through the cache (a row of
the database cache, and a commit). Here each user has one integer per window, and each process
adds its requests to it in batches of 1 % of the limit (every request when the limit is under
200): a busy script's requests touch the shared cache once in 60 at the default rate, and all
the processes together can overshoot the limit by at most 1 % each. A fixed window also lets a
client spend its allowance at the end of one window and again at the start of the next (at most
twice the rate over a moment), which a limit against runaway scripts can afford. The limits that
guard against guessing (tokens, anonymous requests) keep DRF's exact sliding window.
"""

from __future__ import annotations

import threading

from rest_framework import throttling

BATCH_SHARE = 100  # each process reports its requests in batches of 1 / BATCH_SHARE of the limit

_lock = threading.Lock()
# key of a user's window -> [the shared count when this process last reported, not yet reported]
_counts: dict[str, list[int]] = {}
_window_seen = [0]


class UserRateThrottle(throttling.UserRateThrottle):
    num_requests: int  # set by SimpleRateThrottle.__init__ from the rate
    duration: int

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.key = f"{key}_w{window}"
        self.window_end = (window + 1) * self.duration
        batch = max(1, self.num_requests // BATCH_SHARE)
        with _lock:
            if window != _window_seen[0]:  # forget the windows that have closed
                suffix = f"_w{window}"
                for stale in [k for k in _counts if not k.endswith(suffix)]:
                    del _counts[stale]
                _window_seen[0] = window
            # (keyed by the limit too: a process counts one limit per scope, tests change it)
            state = _counts.setdefault(f"{self.num_requests}:{self.key}", [0, 0])
            state[1] += 1
            if state[1] >= batch:
                state[0], state[1] = self._report(state[1]), 0
            count = state[0] + state[1]
        return count <= self.num_requests

    def _report(self, requests: int) -> int:
        """Add this process's unreported requests to the shared count; returns the new total."""
        try:
            return int(self.cache.incr(self.key, requests))
        except ValueError:  # the window's first report (or the counter was evicted)
            if self.cache.add(self.key, requests, self.duration + 1):
                return requests
            return int(self.cache.incr(self.key, requests))

    def wait(self) -> float:
        """Seconds until the next window opens."""
        return max(self.window_end - self.now, 0.0)
