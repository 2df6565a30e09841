"""Parameters, multiply-accumulates and FLOPs, layer by layer.

What is counted, for one image in a forward pass at inference:

- **MACs** (multiply-accumulates): one multiplication and one addition, the unit of work of
  convolution and fully connected layers. A convolution's output element costs
  ``kernel_height * kernel_width * input_channels / groups`` MACs; a dense unit costs one per
  input. Many papers report this number and call it "FLOPs" or "multiply-adds".
- **FLOPs** (floating-point operations): ``2 * MACs`` for convolution and dense layers (the bias
  addition replaces the first addition of each dot product, so ``2 * MACs`` is exact with a
  bias), plus one operation per element (and per window position) for the other layers:
  activations, pooling, additions; two per element for batch normalization at inference (a scale
  and a shift once folded). Reshaping, dropout at inference and concatenation cost nothing.

A layer of a type this module does not know gets no count (``None``); `totals` says which.
Custom layers can define ``count_macs(output_shape)`` to be counted as convolutions.
"""

import math

import keras

_FREE = (
    "InputLayer",
    "Flatten",
    "Reshape",
    "Dropout",
    "SpatialDropout2D",
    "Concatenate",
    "ZeroPadding2D",
    "Cropping2D",
    "Permute",
    "Identity",
    "RandomCropFlip",
)
_ELEMENTWISE = ("Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU", "Rescaling")
_MERGE = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
_TWO_PER_ELEMENT = ("BatchNormalization", "Normalization", "LayerNormalization")


def _shape(tensor_or_list):
    if isinstance(tensor_or_list, (list, tuple)):
        return [tuple(t.shape) for t in tensor_or_list]
    return tuple(tensor_or_list.shape)


def _elements(shape):
    return math.prod(d for d in shape[1:])


def count_layer(layer):
    """``(macs, flops)`` of one built layer of a functional model; ``(None, None)`` if unknown."""
    kind = type(layer).__name__
    out = _shape(layer.output)
    if hasattr(layer, "count_macs"):
        macs = layer.count_macs(out)
        return macs, 2 * macs + _activation_ops(layer, out)
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        in_channels = _shape(layer.input)[-1]
        macs = _elements(out) * math.prod(layer.kernel_size) * in_channels // layer.groups
        return macs, 2 * macs + _activation_ops(layer, out)
    if kind in ("DepthwiseConv1D", "DepthwiseConv2D"):
        macs = _elements(out) * math.prod(layer.kernel_size)
        return macs, 2 * macs + _activation_ops(layer, out)
    if kind in ("SeparableConv1D", "SeparableConv2D"):
        in_shape = _shape(layer.input)
        depth = in_shape[-1] * layer.depth_multiplier
        spatial = _elements(out) // out[-1]
        macs = spatial * depth * math.prod(layer.kernel_size) + spatial * depth * out[-1]
        return macs, 2 * macs + _activation_ops(layer, out)
    if kind == "Dense":
        in_shape = _shape(layer.input)
        macs = _elements(in_shape) * layer.units
        return macs, 2 * macs + _activation_ops(layer, out)
    if kind in _FREE:
        return 0, 0
    if kind in _ELEMENTWISE:
        return 0, _elements(out)
    if kind in _TWO_PER_ELEMENT:
        return 0, 2 * _elements(out)
    if kind in _MERGE:
        shapes = _shape(layer.input)
        return 0, (len(shapes) - 1) * _elements(out)
    if kind in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
        return 0, _elements(out) * math.prod(layer.pool_size)
    if kind.startswith("Global") and "Pooling" in kind:
        return 0, _elements(_shape(layer.input))
    return None, None


def _activation_ops(layer, out):
    activation = getattr(layer, "activation", None)
    if activation is None or activation is keras.activations.linear:
        return 0
    return _elements(out)


def walk(model, prefix=""):
    """Every layer of ``model`` that is not itself a model, nested models expanded in order, as
    ``(prefix, layer)`` pairs (``prefix``: the names of the models around it, ``"inner/"``)."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from walk(layer, prefix=f"{prefix}{layer.name}/")
        else:
            yield prefix, layer


def layer_table(model, *, include_input=False):
    """One row per layer: name, type, output shape, parameters, MACs and FLOPs, as a DataFrame.

    Nested models are expanded (their layers are named ``inner/layer``). The last row holds the
    totals.
    """
    import pandas as pd

    rows = []
    for prefix, layer in walk(model):
        kind = type(layer).__name__
        if kind == "InputLayer" and not include_input:
            continue
        macs, flops = count_layer(layer)
        rows.append(
            {
                "layer": prefix + layer.name,
                "type": kind,
                "output shape": str(_shape(layer.output)).replace("None", "N"),
                "params": int(layer.count_params()),
                "MACs": macs,
                "FLOPs": flops,
            }
        )
    frame = pd.DataFrame(rows)
    total = totals(model)
    frame.loc[len(frame)] = ["total", "", "", total["params"], total["macs"], total["flops"]]
    frame[["MACs", "FLOPs"]] = frame[["MACs", "FLOPs"]].astype("Int64")
    return frame


def totals(model):
    """Total ``params``, ``trainable_params``, ``macs`` and ``flops`` of a model, and the
    ``uncounted`` layers (types this module does not know), as a dict."""
    macs = flops = 0
    uncounted = []
    for prefix, layer in walk(model):
        layer_macs, layer_flops = count_layer(layer)
        if layer_macs is None:
            uncounted.append(prefix + layer.name)
            continue
        macs += layer_macs
        flops += layer_flops
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    return {
        "params": int(model.count_params()),
        "trainable_params": int(trainable),
        "macs": int(macs),
        "flops": int(flops),
        "uncounted": uncounted,
    }


def conv_output_size(size, kernel_size, *, stride=1, padding=0, dilation=1):
    """Output length of a convolution or pooling window along one axis:
    ``floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``."""
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def receptive_field(layers_spec):
    """Receptive field of the last layer of a stack, given ``[(kernel_size, stride, dilation), ...]``.

    Returns a list with, after each layer, ``(receptive_field, jump)``: the side of the input
    window one output element sees, and the input distance between neighbouring outputs.
    ``r_l = r_{l-1} + dilation_l * (kernel_l - 1) * j_{l-1}``, ``j_l = j_{l-1} * stride_l``.
    """
    field, jump, out = 1, 1, []
    for spec in layers_spec:
        kernel, stride, dilation = (tuple(spec) + (1, 1))[:3]
        field += dilation * (kernel - 1) * jump
        jump *= stride
        out.append((field, jump))
    return out
