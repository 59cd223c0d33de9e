"""Reading and writing layers: GDAL formats, Shapefile encodings, 界址点 ``.txt``, DXF, PostGIS.

Readers return GeoDataFrames in the file's own CRS with their notices; writers are atomic.
"""
