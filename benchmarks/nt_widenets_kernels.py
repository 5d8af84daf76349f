"""neural-tangents side of ``bench_widenets_kernels.py``; runs in a separate virtualenv.

Not a theoryscope module and never imported by it: neural-tangents 0.6.5 needs an older JAX
than the lab's, so the benchmark runs this file with another interpreter
(``THEORYSCOPE_NT_PYTHON``, default ``/work/nt-venv/bin/python``) and reads one JSON object
from its stdout. Only numpy, jax and neural_tangents are imported here.

    python nt_widenets_kernels.py INPUTS.npz CASES.json

INPUTS.npz holds the input matrices by name; CASES.json is a list of
{"name", "inputs", "activation", "depth", "cw", "cb", "dtype", "repeats"}. For each case the
network is stax.serial of (Dense(1, sqrt(cw), sqrt(cb)), activation) x (depth - 1) and a final
Dense, i.e. the NTK parametrization of spec 4. Output per case: the best wall time of
``repeats`` calls after one warm-up call (compilation) with that call's CPU time (all threads),
and the NNGP/NTK matrices written to ``<name>.npz`` next to INPUTS.npz for the accuracy
comparison.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time


def main() -> None:
    inputs_path, cases_path = sys.argv[1], sys.argv[2]
    cases = json.loads(open(cases_path).read())
    dtypes = {c["dtype"] for c in cases}
    if len(dtypes) != 1:
        raise SystemExit("one dtype per call")
    import jax

    jax.config.update("jax_enable_x64", dtypes == {"float64"})
    import jax.numpy as jnp
    import neural_tangents as nt
    import numpy as np
    from neural_tangents import stax

    data = np.load(inputs_path)
    acts = {
        "relu": stax.Relu,
        "gelu": lambda: stax.Gelu(approximate=False),
        "erf": stax.Erf,
        # no closed form in neural-tangents: its Gauss-Hermite quadrature layer
        "tanh": lambda: stax.ElementwiseNumerical(jnp.tanh, deg=25),
    }
    out = {"neural_tangents": nt.__version__, "jax": jax.__version__, "cases": {}}
    for case in cases:
        layers = []
        for _ in range(case["depth"] - 1):
            layers += [
                stax.Dense(1, math.sqrt(case["cw"]), math.sqrt(case["cb"])),
                acts[case["activation"]](),
            ]
        layers.append(stax.Dense(1, math.sqrt(case["cw"]), math.sqrt(case["cb"])))
        _, _, kernel_fn = stax.serial(*layers)
        kernel_fn = jax.jit(kernel_fn, static_argnames="get")
        x = jnp.asarray(data[case["inputs"]], dtype=case["dtype"])
        res = kernel_fn(x, None, get=("nngp", "ntk"))
        jax.block_until_ready(res)
        best, cpu = math.inf, math.inf
        for _ in range(case["repeats"]):
            t, c = time.perf_counter(), time.process_time()
            res = kernel_fn(x, None, get=("nngp", "ntk"))
            jax.block_until_ready(res)
            if time.perf_counter() - t < best:
                best, cpu = time.perf_counter() - t, time.process_time() - c
        path = os.path.join(os.path.dirname(inputs_path), f"{case['name']}.npz")
        np.savez(path, nngp=np.asarray(res.nngp), ntk=np.asarray(res.ntk))
        out["cases"][case["name"]] = {"seconds": best, "cpu": cpu, "result": path}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
