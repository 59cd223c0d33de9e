"""Construction suitability (双评价, 城镇建设适宜性): models as data, rasters streamed by window.

:func:`run_suitability` reads ``suitability/<model>.toml`` of a plan pack, grades each factor
(slope and elevation from a DEM, distances to pack layers, class rasters) on one grid in the
pack's planar CRS, combines them (weighted sum, 木桶 short-board rule, hard limits, class
breaks) and writes Cloud-Optimized GeoTIFFs, a per-zone area table and a map.
"""

from qzgeo.suitability.model import Model, list_models, read_model
from qzgeo.suitability.run import SuitabilityResult, run_suitability

__all__ = ["Model", "SuitabilityResult", "list_models", "read_model", "run_suitability"]
