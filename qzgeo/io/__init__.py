"""Reading and writing layers: GDAL formats, Shapefile encodings, 界址点 ``.txt``, DXF, PostGIS.

Readers return GeoDataFrames in the file's own CRS with their notices; writers are atomic.
"""

import warnings

# GDAL reads a layer of Measured (M) geometries as 2D, and pyogrio warns at every open of it
# (a dozen times a read). The reader says it once, as a notice that travels with the result
# (qzgeo.io.guard), not on stderr.
warnings.filterwarnings(
    "ignore", message=r"Measured \(M\) geometry types are not supported", category=UserWarning
)
