"""Crow-fly travel times: straight-line distance × circuity / speed."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.spatial.distance import cdist

from planner.errors import EngineError
from planner.travel.base import TravelEngine
from planner.travel.bounds import check_bounds

__all__ = ["CrowFly"]


@dataclass
class CrowFly(TravelEngine):
    """Straight-line travel time, a quick bound and a fallback without networks.

    Parameters
    ----------
    speed_kmh
        Travel speed; 4.8 km/h is a typical adult walking pace.
    circuity
        Ratio of route length to straight-line distance; about 1.3 in London's
        street grid.
    """

    speed_kmh: float = 4.8
    circuity: float = 1.3
    name = "crowfly"

    def __post_init__(self) -> None:
        if self.speed_kmh <= 0 or self.circuity < 1:
            raise EngineError(f"crow-fly needs speed_kmh > 0 and circuity >= 1 (got {self.speed_kmh}, {self.circuity})")
        check_bounds("crowfly", {"speed_kmh": self.speed_kmh, "circuity": self.circuity})

    def _matrix(self, origins: np.ndarray, destinations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        metres = cdist(origins, destinations)
        minutes = metres * self.circuity / (self.speed_kmh * 1000 / 60)
        return minutes, np.full(len(origins), "", dtype=object)

    def describe(self) -> dict:
        return {"engine": self.name, **asdict(self)}
