"""The per-user API rate limit, counted in fixed windows: one small counter per user and window.

DRF's UserRateThrottle keeps the time of every request in the window as a list in the cache and
reads, unpickles, pickles and writes back the whole list on every request: at the default 6,000
requests a minute, a busy script's every request moves about 50 kB through the cache (a row of the
database cache). Here each request increments one integer. A fixed window lets a client spend its
allowance at the end of one window and again at the start of the next (at most twice the rate over
a moment), which a limit against runaway scripts can afford.
"""

from __future__ import annotations

from rest_framework import throttling


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
        try:
            count = self.cache.incr(self.key)
        except ValueError:  # the window's first request (or the counter was evicted)
            count = (
                1 if self.cache.add(self.key, 1, self.duration + 1) else self.cache.incr(self.key)
            )
        self.count = count
        return count <= self.num_requests

    def wait(self) -> float:
        """Seconds until the next window opens."""
        return max(self.window_end - self.now, 0.0)
