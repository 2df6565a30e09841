"""Memory of a training step: what backpropagation keeps, counted from the graph and measured.

Training memory is dominated by the activations that the backward pass needs: a straightforward
implementation keeps the output of every layer of the forward pass until its gradient has been
computed. Two ways to look at it:

- `stored_activations` counts, from a model's graph, the values per image that such an
  implementation keeps (every layer's output), and what a memory-efficient DenseNet keeps
  (Pleiss, Chen, Huang, Li, van der Maaten and Weinberger, 2017, "Memory-efficient
  implementation of DenseNets", arXiv:1707.06990): there, the concatenations and the batch
  normalization and ReLU applied to them are recomputed during the backward pass from the
  feature maps each layer produced, instead of being stored, so a dense block keeps memory
  linear in its depth instead of quadratic.
- `step_memory` measures a compiled training step: XLA's own account of the buffers a step of
  forward and backward pass allocates (``temp``: activations and other intermediates; the
  weights and the batch are the ``argument`` buffers). It compiles the step with the JAX
  backend, in a subprocess when Keras runs on another backend, so it works from any notebook.
  It needs ``jax`` installed; nothing is trained.
"""

import json
import math
import os
import subprocess
import sys

import keras

from cnnbook import counting
from cnnbook.errors import CnnbookError, check_choice, check_int

PRECISIONS = ("float32", "mixed_bfloat16")


def _sources(layer):
    """The layers whose outputs feed ``layer``."""
    inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
    return [tensor._keras_history[0] for tensor in inputs]


def stored_activations(model):
    """Values per image that a training step keeps for the backward pass, from ``model``'s graph.

    Returns a dict: ``all`` (the output of every layer but the input: what a straightforward
    implementation stores), ``concatenations`` (the outputs of `Concatenate` layers and of the
    batch normalization and activations applied directly to them) and ``efficient`` (``all``
    less ``concatenations``: what a memory-efficient implementation in the manner of Pleiss et
    al., 2017, stores, since it recomputes those). A network without concatenation has
    ``efficient == all``.
    """
    recomputed = set()
    total = shared = 0
    for _, layer in counting.walk(model):
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        size = math.prod(layer.output.shape[1:])
        total += size
        cheap = kind in ("BatchNormalization", "Activation", "ReLU")
        if kind == "Concatenate" or (cheap and any(id(source) in recomputed for source in _sources(layer))):
            recomputed.add(id(layer))
            shared += size
    return {"all": int(total), "concatenations": int(shared), "efficient": int(total - shared)}


def step_memory(model_name, *, batch_size=64, precision="float32", timeout=900, **options):
    """Bytes a compiled training step of a registered model allocates, as XLA reports them.

    Builds ``model_name`` (with ``options``) under the JAX backend, compiles one step of forward
    pass, cross-entropy loss and gradients for a batch of ``batch_size`` images with batch
    normalization in training mode, and returns a dict: ``temp_bytes`` (intermediate buffers:
    mostly the activations kept for the backward pass), ``argument_bytes`` (weights, batch
    statistics and the batch), ``output_bytes`` (gradients and new statistics), and the inputs.
    Runs in a subprocess unless Keras already runs on JAX (the precision policy is the
    subprocess's own).
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    check_choice("precision", precision, PRECISIONS)
    request = {"model": model_name, "batch_size": batch_size, "precision": precision, "options": options}
    if keras.backend.backend() == "jax":
        return _measure(**request)
    environment = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        done = subprocess.run([sys.executable, "-m", "cnnbook.memory", json.dumps(request)], env=environment,
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip
    except subprocess.TimeoutExpired as error:
        raise CnnbookError(
            f"measuring the memory of {model_name} took more than {timeout} s and was stopped; "
            "pass a larger timeout= or a smaller model"
        ) from error
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        hint = " (install jax: pip install jax)" if "No module named 'jax'" in done.stderr else ""
        raise CnnbookError(f"measuring the memory of {model_name} under JAX failed: {last}{hint}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measure(model, batch_size, precision, options):
    import jax
    import numpy as np

    from cnnbook import models

    keras.config.set_dtype_policy(precision)
    net = models.build(model, **options)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def objective(trainable, non_trainable, x, y):
        logits, updated = net.stateless_call(trainable, non_trainable, x, training=True)
        return loss(y, logits), updated

    step = jax.jit(jax.value_and_grad(objective, has_aux=True))
    x = np.zeros((batch_size, *net.input_shape[1:]), "float32")
    y = np.zeros((batch_size,), "int32")
    trainable = [v.value for v in net.trainable_variables]
    non_trainable = [v.value for v in net.non_trainable_variables]
    stats = step.lower(trainable, non_trainable, x, y).compile().memory_analysis()
    return {"model": model, "options": options, "batch_size": batch_size, "precision": precision,
            "temp_bytes": int(stats.temp_size_in_bytes), "argument_bytes": int(stats.argument_size_in_bytes),
            "output_bytes": int(stats.output_size_in_bytes), "jax_version": jax.__version__}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(_measure(**json.loads(sys.argv[1]))))
