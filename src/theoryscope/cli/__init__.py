"""The ``theoryscope`` command line: one command group per experiment, plus runs / sweep / serve."""
