"""Geometry on the ellipsoid: areas, CRSs and Gauss-Krüger zones, GCJ-02, validation and repair.

The ground floor of the pipeline: nothing here knows about packs, files or maps.
"""
