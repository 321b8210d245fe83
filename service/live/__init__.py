"""Per-customer live state and the durable event log (see `service.live.state`)."""

from service.live.embedded_state import EmbeddedLiveState
from service.live.redis_state import RedisLiveState
from service.live.state import LivePolicy, LiveSnapshot, LiveState, Recorded, Shown

__all__ = ["EmbeddedLiveState", "LivePolicy", "LiveSnapshot", "LiveState", "Recorded", "RedisLiveState", "Shown"]
