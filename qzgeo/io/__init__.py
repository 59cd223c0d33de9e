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
# A GeoPackage in WAL mode (every one QGIS has edited) in a folder qzgeo cannot write (a
# read-only share, a CD, a mount): GDAL reads it with IMMUTABLE=YES, which is right, since a
# -wal holding changes is refused before (qzgeo.io.guard.refuse_pending_writes); pyogrio
# printed its two-line RuntimeWarning, with its own source path, at every open.
warnings.filterwarnings(
    "ignore", message=r"unable to open database file: this file is a WAL-enabled database"
)
