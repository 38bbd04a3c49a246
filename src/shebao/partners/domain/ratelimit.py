"""Per-partner rate limiting: a sliding window estimated from two fixed one-minute windows.

The counts live in the database (one row per partner and minute, incremented atomically),
so the limit holds across any number of server processes; this module only does the
arithmetic. The estimate of the last 60 seconds is the current minute's count plus the
previous minute's weighted by the part of it still inside the window (the approach of
Cloudflare's and nginx's limiters): no burst of twice the limit at a minute boundary, as a
plain fixed window would allow.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RateDecision", "rate_decide", "window_start"]

WINDOW_SECONDS = 60


def window_start(epoch_seconds: float) -> int:
    """The start (epoch seconds) of the one-minute window containing `epoch_seconds`."""
    return int(epoch_seconds) // WINDOW_SECONDS * WINDOW_SECONDS


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    estimate: float
    retry_after: int  # seconds until a call would be allowed again (0 when allowed)


def rate_decide(
    *, limit_per_minute: int, current: int, previous: int, epoch_seconds: float
) -> RateDecision:
    """Whether the call that brought this minute's count to `current` is within the limit.

    `current` includes the call being decided; `previous` is the whole previous minute's
    count. A limit of 0 or less means no call is allowed."""
    if limit_per_minute <= 0:
        return RateDecision(allowed=False, estimate=float(current), retry_after=WINDOW_SECONDS)
    elapsed = epoch_seconds - window_start(epoch_seconds)
    weight = max(0.0, (WINDOW_SECONDS - elapsed) / WINDOW_SECONDS)
    estimate = current + previous * weight
    if estimate <= limit_per_minute:
        return RateDecision(allowed=True, estimate=estimate, retry_after=0)
    return RateDecision(
        allowed=False, estimate=estimate, retry_after=max(1, int(WINDOW_SECONDS - elapsed))
    )
