"""The CGCS2000 GK zone a custom CRS's projection equals, exactly or not at all.

PROJ's own identification is the oracle that the custom CRS has no EPSG code; the zone's
parameters come from the EPSG database (``CRS.from_epsg``), not from qzgeo.
"""

from __future__ import annotations

import pytest
from pyproj import CRS

from qzgeo.geo.crs_twin import gk_twin

CUSTOM = (
    'PROJCS["Custom",GEOGCS["GCS_Custom",DATUM["D_Custom",SPHEROID["CGCS2000",6378137.0,'
    '298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",{fe}],PARAMETER["False_Northing",'
    '0.0],PARAMETER["Central_Meridian",{cm}],PARAMETER["Scale_Factor",{k}],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


def custom(fe: float = 500000.0, cm: float = 108.0, k: float = 1.0) -> CRS:
    return CRS.from_wkt(CUSTOM.format(fe=fe, cm=cm, k=k))


@pytest.mark.parametrize(
    ("fe", "cm", "code"),
    [(500000.0, 108.0, 4545), (36500000.0, 108.0, 4524), (500000.0, 120.0, 4549),
     (19500000.0, 111.0, 4497)],
)  # fmt: skip
def test_the_zone_whose_parameters_it_has(fe: float, cm: float, code: int) -> None:
    crs = custom(fe=fe, cm=cm)
    assert crs.to_epsg(min_confidence=1) is None  # PROJ names no code: the datum is unknown
    assert gk_twin(crs) == code
    zone = CRS.from_epsg(code)
    params = {p.name: p.value for p in zone.coordinate_operation.params}
    assert params["False easting"] == fe and params["Longitude of natural origin"] == cm


@pytest.mark.parametrize(
    "crs",
    [custom(cm=108.5), custom(k=0.9996), custom(fe=500001.0), custom(fe=37500000.0),
     CRS.from_proj4("+proj=tmerc +lon_0=108 +k=1 +x_0=500000 +ellps=krass +units=m"),
     CRS.from_proj4("+proj=tmerc +lon_0=108 +k=1 +x_0=500000 +ellps=GRS80 +units=us-ft"),
     CRS.from_epsg(4490), CRS.from_proj4("+proj=merc +ellps=GRS80")],
)  # fmt: skip
def test_no_zone_unless_every_parameter_agrees(crs: CRS) -> None:
    assert gk_twin(crs) is None
