"""theoryscope: a lab for the theory of neural-network training.

Every experiment is a simulation and the theory that predicts it, behind one
protocol (see :mod:`theoryscope.protocol`): ``simulate(config, seed) -> Run``,
``predict(config) -> Theory``, ``compare(run, theory) -> Agreement``.
"""

__version__ = "0.1.0"
