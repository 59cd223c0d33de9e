"""Construction suitability (双评价, 城镇建设适宜性): models as data, rasters streamed by window.

A model (``suitability/<model>.toml`` of a plan pack, :mod:`.model`) grades each factor
(slope and elevation from a DEM, distances to pack layers, class rasters; :mod:`.factors`) on
one grid in the pack's planar CRS (:mod:`.grid`), combines them (weighted sum, 木桶
short-board rule, hard limits, class breaks; :mod:`.combine`), window by window (:mod:`.job`),
and measures exact class areas per zone (:mod:`.zonal`).
:func:`qzgeo.publish.suitability_run.run_suitability` strings it together with the writers
of :mod:`qzgeo.publish.suitability_write`.
"""
