"""Procedural drawing of the sample world: architecture, interiors, details, scenes, effects."""
