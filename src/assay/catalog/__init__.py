"""The control library that ships with assay: criteria catalogs, controls, policy templates."""
