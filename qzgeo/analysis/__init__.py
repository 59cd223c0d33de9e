"""Analysis of loaded layers: the overlay engine, zones against constraints, parcels, siting
checks and rasters. Nothing here writes maps; results are data frames and dataclasses."""
