"""The password hasher: Argon2id at the parameters of OWASP's Password Storage Cheat Sheet.

Django's default, PBKDF2-SHA256 at 1,000,000 iterations, costs about 0.19 s of one core per
login here: the two logins were the only endpoints of the load run (bench/load.py, 50 reviewers)
whose median passed 100 ms (240-260 ms), and each login held a worker thread that long.
Argon2id at OWASP's first recommended configuration (19 MiB of memory, 2 passes, 1 lane) costs
about 17 ms, and being memory-hard it costs an attacker's GPUs far more per guess than PBKDF2 at
any iteration count OWASP lists as its equal (600,000). Django's own Argon2 hasher defaults to
100 MiB and 8 lanes (about 100 ms here, and 100 MiB per login in flight).

Hashes made with other parameters, or by another hasher in PASSWORD_HASHERS (PBKDF2, for
accounts made before this hasher), still verify; Django stores the new form at the account's
next successful login (`must_update`).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """argon2id, m=19 MiB, t=2, p=1 (Django's Argon2 hasher writes argon2id; only the costs
    differ)."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
