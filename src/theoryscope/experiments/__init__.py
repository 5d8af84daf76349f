"""One package per experiment; each registers itself with :mod:`theoryscope.protocol`."""
