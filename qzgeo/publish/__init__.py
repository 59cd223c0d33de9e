"""Publishing: one-file offline HTML maps, the gallery, site reports and analysis tables."""
