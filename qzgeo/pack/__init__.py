"""The plan pack: catalog, styles and maps as data (:mod:`.catalog`), their validation
(:mod:`.validate`) and loading the pack's layers through :mod:`qzgeo.io` (:mod:`.load`)."""
