"""Reports: figures and tables computed from a stored sweep (``theoryscope report ...``)."""
