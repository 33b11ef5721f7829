#!/usr/bin/python3
"""PyTorch reference for Backprop.Gen models: safetensors I/O, model rebuild, parity runs.

Runs with Debian's /usr/bin/python3 and python3-torch (PyTorch 1.13); needs nothing else.

A model file written by the C# ``Save`` is a safetensors file whose tensors carry PyTorch
names and layouts (``dense1.weight`` [out, in], ``dense1.bias`` [out]) and whose metadata key
``"architecture"`` holds the architecture as a JSON string::

    {"input": [784], "loss": "SoftmaxCrossEntropy",
     "layers": [{"kind": "Dense", "name": "dense1", "units": 256, "activation": "Relu"}, ...]}

Command line::

    backprop_torch.py parity DIR                 # DIR/model.safetensors, inputs.safetensors,
                                                 # case.json -> DIR/result.safetensors
    backprop_torch.py predict MODEL INPUTS OUT   # OUT gets tensor "outputs"
"""

import json
import math
import os
import struct
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

# --------------------------------------------------------------------------------------------
# safetensors, by hand
# --------------------------------------------------------------------------------------------

_READ_DTYPES = {"F32": ("<f4", 4), "F64": ("<f8", 8), "I64": ("<i8", 8)}


def read_safetensors(path):
    """Read a safetensors file.

    Returns ``(tensors, metadata)``: a dict name -> float64 torch.Tensor (F32, F64 and I64, such
    as ``num_batches_tracked``, are accepted) and the ``__metadata__`` dict (empty if absent).
    """
    import numpy as np  # only used to decode raw little-endian bytes

    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short to be a safetensors file")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if 8 + header_len > len(blob):
        raise ValueError(f"{path}: header length {header_len} exceeds file size {len(blob)}")
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]

    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, info in header.items():
        dtype = info["dtype"]
        if dtype not in _READ_DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {dtype}")
        np_dtype, size = _READ_DTYPES[dtype]
        shape = [int(d) for d in info["shape"]]
        begin, end = (int(x) for x in info["data_offsets"])
        count = math.prod(shape)
        if end - begin != count * size or end > len(data):
            raise ValueError(f"{path}: tensor {name!r} offsets {begin}..{end} do not match "
                             f"shape {shape} x {size} bytes")
        array = np.frombuffer(data, dtype=np_dtype, count=count, offset=begin)
        tensors[name] = torch.from_numpy(array.astype(np.float64)).reshape(shape)
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Write ``tensors`` (name -> tensor) as F32, sorted by name, with optional string metadata."""
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = torch.as_tensor(tensors[name]).detach().to("cpu", torch.float32).contiguous()
        raw = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}

    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)  # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for raw in chunks:
            f.write(raw)


# --------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------

LOSSES = ("SoftmaxCrossEntropy", "BinaryCrossEntropy", "MeanSquaredError")


def _activation(name, is_last):
    """The torch module for an activation name, or None for Linear."""
    if name == "Linear":
        return None
    if name == "Relu":
        return nn.ReLU()
    if name == "LeakyRelu":
        return nn.LeakyReLU(negative_slope=0.01)
    if name == "Sigmoid":
        return nn.Sigmoid()
    if name == "Tanh":
        return nn.Tanh()
    if name == "Gelu":
        return nn.GELU()  # exact erf form, not the tanh approximation
    if name == "Softmax":
        if not is_last:
            raise ValueError("Softmax is only supported as the last layer's activation")
        return nn.Softmax(dim=1)
    raise ValueError(f"unknown activation {name!r}")


_RECURRENT = {"SimpleRnn": nn.RNN, "Lstm": nn.LSTM, "Gru": nn.GRU}


def _recurrent(kind, features, units, return_sequences):
    """``nn.RNN``/``nn.LSTM``/``nn.GRU`` (batch_first, one layer, zero initial state) returning the hidden state of
    every step ([batch, steps, units]) or of the last step ([batch, units]); its state_dict keys are PyTorch's own
    (``weight_ih_l0``, ...), since the module is a subclass, not a wrapper."""
    base = _RECURRENT[kind]

    class Recurrent(base):
        def forward(self, x):  # pylint: disable=arguments-differ
            out, _ = super().forward(x)
            return out if return_sequences else out[:, -1]

    return Recurrent(features, units, batch_first=True)


class Normalization(nn.Module):
    """Backprop.Gen's Normalization (Keras's after adapt): (x - mean) / sqrt(variance) per feature of the flat sample,
    dividing by 1 where the variance is 0; mean and variance are buffers, so state_dict holds them."""

    def __init__(self, features):
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("variance", torch.ones(features))

    def forward(self, x):  # pylint: disable=arguments-differ
        flat = x.reshape(x.shape[0], -1)
        scale = torch.where(self.variance > 1e-12, self.variance.clamp_min(1e-12).rsqrt(), torch.ones_like(self.variance))
        return ((flat - self.mean) * scale).reshape(x.shape)


class TokenEmbedding(nn.Embedding):
    """``nn.Embedding`` on token ids that arrive as floats (the C# input), as Backprop.Gen's Embedding."""

    def forward(self, x):  # pylint: disable=arguments-differ
        return super().forward(x.long())


def build_model(architecture):
    """Build a torch.nn.Sequential whose state_dict keys equal the Backprop.Gen tensor names.

    Each layer becomes the torch module of its kind, named after the layer (``Dense`` ->
    ``nn.Linear``, ``Conv2D`` -> ``nn.Conv2d``, ``MaxPool2D`` -> ``nn.MaxPool2d``, ``AvgPool2D`` ->
    ``nn.AvgPool2d``, ``GlobalAvgPool2D`` -> ``nn.AdaptiveAvgPool2d(1)`` then a flatten, ``Flatten``
    -> ``nn.Flatten``, ``BatchNorm`` -> ``nn.BatchNorm2d`` on [c, h, w] or ``nn.BatchNorm1d`` on
    [features], ``SimpleRnn``/``Lstm``/``Gru`` -> ``nn.RNN``/``nn.LSTM``/``nn.GRU`` with batch_first, returning
    every step or the last, ``Embedding`` -> ``nn.Embedding`` on float ids); its activation (if any) is the next child, named ``<layer>_act``. A Dense
    layer on a [c, h, w] sample is preceded by ``<layer>_flatten`` (it reads the flat vector).
    The model takes batches shaped [batch, *input].
    """
    if architecture.get("loss") not in LOSSES:
        raise ValueError(f"unknown loss {architecture.get('loss')!r}")
    shape = [int(d) for d in architecture["input"]]
    layers = architecture["layers"]
    if not layers:
        raise ValueError("architecture has no layers")

    children = OrderedDict()
    for i, layer in enumerate(layers):
        kind = layer.get("kind")
        name = layer["name"]
        if kind == "Dense" and layer.get("per_step", False):
            # nn.Linear on [batch, steps, features] applies to the last axis: per step.
            units = int(layer["units"])
            children[name] = nn.Linear(shape[1], units)
            shape = [shape[0], units]
        elif kind == "Dense":
            if len(shape) != 1:
                children[name + "_flatten"] = nn.Flatten()
            units = int(layer["units"])
            children[name] = nn.Linear(math.prod(shape), units)
            shape = [units]
        elif kind == "Conv2D":
            filters, kernel = int(layer["filters"]), int(layer["kernel"])
            stride, padding = int(layer["stride"]), int(layer["padding"])
            children[name] = nn.Conv2d(shape[0], filters, kernel, stride=stride, padding=padding,
                                       bias=bool(layer.get("bias", True)))
            shape = [filters, (shape[1] + 2 * padding - kernel) // stride + 1,
                     (shape[2] + 2 * padding - kernel) // stride + 1]
        elif kind in ("MaxPool2D", "AvgPool2D"):
            size, stride = int(layer["size"]), int(layer["stride"])
            pool = nn.MaxPool2d if kind == "MaxPool2D" else nn.AvgPool2d
            children[name] = pool(size, stride=stride)
            shape = [shape[0], (shape[1] - size) // stride + 1, (shape[2] - size) // stride + 1]
        elif kind == "GlobalAvgPool2D":
            children[name] = nn.AdaptiveAvgPool2d(1)
            children[name + "_flatten"] = nn.Flatten()
            shape = [shape[0]]
        elif kind == "Flatten":
            children[name] = nn.Flatten()
            shape = [math.prod(shape)]
        elif kind == "Dropout":
            children[name] = nn.Dropout(float(layer["rate"]))
        elif kind in _RECURRENT:
            if len(shape) != 2:
                raise ValueError(f"layer {name!r}: {kind} needs [steps, features], got {shape}")
            units = int(layer["units"])
            sequences = bool(layer["return_sequences"])
            children[name] = _recurrent(kind, shape[1], units, sequences)
            shape = [shape[0], units] if sequences else [units]
        elif kind == "Normalization":
            children[name] = Normalization(math.prod(shape))
        elif kind == "Embedding":
            dimensions = int(layer["dimensions"])
            children[name] = TokenEmbedding(int(layer["vocabulary"]), dimensions)
            shape = [shape[0], dimensions]
        elif kind == "BatchNorm":
            norm = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
            children[name] = norm(shape[0], eps=float(layer["epsilon"]), momentum=float(layer["momentum"]))
        else:
            raise ValueError(f"layer {name!r}: unsupported kind {kind!r}")
        act = _activation(layer.get("activation", "Linear"), i == len(layers) - 1)
        if act is not None:
            children[name + "_act"] = act
    return nn.Sequential(children)


def input_shape(architecture):
    """The shape of one input sample, as the model takes it."""
    return [int(d) for d in architecture["input"]]


def load_backprop(path):
    """Load a model file written by the C# Save. Returns ``(model, architecture)``."""
    tensors, metadata = read_safetensors(path)
    if "architecture" not in metadata:
        raise ValueError(f"{path}: no 'architecture' key in the safetensors metadata")
    architecture = json.loads(metadata["architecture"])
    model = build_model(architecture)
    state = {k: v.to(torch.float32) for k, v in tensors.items()}
    model.load_state_dict(state, strict=True)
    return model, architecture


def _last_activation(architecture):
    return architecture["layers"][-1].get("activation", "Linear")


def loss_and_outputs(model, architecture, inputs, labels_or_targets):
    """Run the model and compute the loss with PyTorch's default (mean) reduction.

    Returns ``(loss, outputs)``; outputs are the last layer as declared (probabilities after a
    final Softmax or Sigmoid). A final Softmax/Sigmoid is folded into CrossEntropyLoss /
    BCEWithLogitsLoss by taking the loss on the pre-activation values; any other last
    activation's outputs are treated as logits. MeanSquaredError uses the outputs.
    """
    loss_kind = architecture["loss"]
    last = _last_activation(architecture)
    children = list(model.children())
    folds = (loss_kind == "SoftmaxCrossEntropy" and last == "Softmax") or \
            (loss_kind == "BinaryCrossEntropy" and last == "Sigmoid")
    if folds:
        logits = inputs
        for module in children[:-1]:
            logits = module(logits)
        outputs = children[-1](logits)
    else:
        outputs = model(inputs)
        logits = outputs

    if loss_kind == "SoftmaxCrossEntropy":
        loss = nn.functional.cross_entropy(logits, labels_or_targets.long())
    elif loss_kind == "BinaryCrossEntropy":
        loss = nn.functional.binary_cross_entropy_with_logits(
            logits, labels_or_targets.to(logits.dtype).reshape(logits.shape))
    elif loss_kind == "MeanSquaredError":
        loss = nn.functional.mse_loss(
            outputs, labels_or_targets.to(outputs.dtype).reshape(outputs.shape))
    else:
        raise ValueError(f"unknown loss {loss_kind!r}")
    return loss, outputs


# --------------------------------------------------------------------------------------------
# parity
# --------------------------------------------------------------------------------------------

def _make_optimizer(spec, params):
    kind = spec["kind"]
    lr = float(spec["lr"])
    wd = float(spec.get("weight_decay", 0.0))
    if kind == "Sgd":
        return torch.optim.SGD(params, lr=lr, momentum=float(spec.get("momentum", 0.0)),
                               nesterov=bool(spec.get("nesterov", False)), weight_decay=wd)
    if kind in ("Adam", "AdamW"):
        cls = torch.optim.Adam if kind == "Adam" else torch.optim.AdamW
        return cls(params, lr=lr, betas=(float(spec.get("beta1", 0.9)), float(spec.get("beta2", 0.999))),
                   eps=float(spec.get("eps", 1e-8)), weight_decay=wd)
    raise ValueError(f"unknown optimizer kind {kind!r}")


def _fresh_model(architecture, original_state):
    model = build_model(architecture).double()
    model.load_state_dict(original_state, strict=True)
    return model


def run_parity(directory):
    """Compute outputs, loss, gradients and optimizer trajectories for a parity case directory."""
    tensors, metadata = read_safetensors(os.path.join(directory, "model.safetensors"))
    if "architecture" not in metadata:
        raise ValueError("model.safetensors: no 'architecture' key in the metadata")
    architecture = json.loads(metadata["architecture"])
    original = {k: v.clone() for k, v in tensors.items()}  # float64, as read

    batch, _ = read_safetensors(os.path.join(directory, "inputs.safetensors"))
    if "inputs" not in batch:
        raise ValueError("inputs.safetensors: no tensor 'inputs'")
    inputs = batch["inputs"]
    inputs = inputs.reshape(inputs.shape[0], *input_shape(architecture))
    if "labels" in batch:
        labels = batch["labels"].reshape(-1).round().long()
    elif "targets" in batch:
        labels = batch["targets"]
    else:
        raise ValueError("inputs.safetensors: needs tensor 'labels' or 'targets'")

    with open(os.path.join(directory, "case.json"), encoding="utf-8") as f:
        case = json.load(f)

    result = {}
    model = _fresh_model(architecture, original)
    # Predict runs in inference mode (running statistics, no dropout), the training calls in training mode.
    model.eval()
    with torch.no_grad():
        _, outputs = loss_and_outputs(model, architecture, inputs, labels)
    result["outputs"] = outputs.detach()
    model.train()
    model.zero_grad()
    loss, _ = loss_and_outputs(model, architecture, inputs, labels)
    loss.backward()
    result["loss"] = loss.detach().reshape(1)
    for name, p in model.named_parameters():
        result["grad." + name] = p.grad.detach().clone()

    for i, spec in enumerate(case.get("optimizers", [])):
        model = _fresh_model(architecture, original)
        optimizer = _make_optimizer(spec, model.parameters())
        losses, norms = [], []
        max_norm = spec.get("max_norm")
        for _ in range(int(spec["steps"])):
            optimizer.zero_grad()
            loss, _ = loss_and_outputs(model, architecture, inputs, labels)
            loss.backward()
            if max_norm is not None:
                norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), float(max_norm))))
            optimizer.step()
            losses.append(loss.item())
        if norms:
            result[f"opt{i}.norm"] = torch.tensor(norms, dtype=torch.float64)
        for name, p in model.named_parameters():
            result[f"opt{i}.{name}"] = p.detach().clone()
        for name, b in model.named_buffers():  # running statistics after the steps' training-mode passes
            if b.dtype.is_floating_point:
                result[f"opt{i}.{name}"] = b.detach().clone()
        result[f"opt{i}.loss"] = torch.tensor(losses, dtype=torch.float64)

    write_safetensors(os.path.join(directory, "result.safetensors"), result)
    return result


def run_predict(model_path, inputs_path, out_path):
    """Load a model, run the tensor ``inputs`` through it and write ``outputs``."""
    model, architecture = load_backprop(model_path)
    model = model.double().eval()
    batch, _ = read_safetensors(inputs_path)
    if "inputs" not in batch:
        raise ValueError(f"{inputs_path}: no tensor 'inputs'")
    inputs = batch["inputs"]
    with torch.no_grad():
        outputs = model(inputs.reshape(inputs.shape[0], *input_shape(architecture)))
    write_safetensors(out_path, {"outputs": outputs})


def run_from_torch(architecture_path, inputs_path, out_dir, prefix):
    """A model made and initialized by PyTorch (seeded; running statistics and normalization buffers randomized, so
    they matter), its state_dict written as float32 safetensors with every key under ``prefix`` (a parent module's
    name, for the C# side to map away), and its float64 eval-mode outputs on the tensor ``inputs``."""
    with open(architecture_path, encoding="utf-8") as f:
        architecture = json.load(f)
    torch.manual_seed(5)
    model = build_model(architecture)
    generator = torch.Generator().manual_seed(6)
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if not buffer.is_floating_point():
                buffer.fill_(7)
            elif name.endswith("running_var") or name.endswith("variance"):
                buffer.copy_(torch.rand(buffer.shape, generator=generator) * 1.5 + 0.25)
            else:
                buffer.copy_(torch.rand(buffer.shape, generator=generator) - 0.5)
        for name, parameter in model.named_parameters():
            if name.endswith(".weight") and parameter.dim() == 1:  # BatchNorm's scale starts at 1: move it
                parameter.copy_(torch.rand(parameter.shape, generator=generator) + 0.5)
    model = model.float().eval()
    state = {prefix + k: v.detach().clone() for k, v in model.state_dict().items()}
    write_safetensors(os.path.join(out_dir, "state.safetensors"), state)
    batch, _ = read_safetensors(inputs_path)
    inputs = batch["inputs"].to(torch.float32).double()
    with torch.no_grad():
        outputs = model.double()(inputs.reshape(inputs.shape[0], *input_shape(architecture)))
    write_safetensors(os.path.join(out_dir, "outputs.safetensors"), {"outputs": outputs})


USAGE = """usage:
  backprop_torch.py parity DIR
  backprop_torch.py predict MODEL INPUTS OUT
  backprop_torch.py from-torch ARCHITECTURE_JSON INPUTS OUT_DIR PREFIX"""


def main(argv):
    try:
        if len(argv) == 2 and argv[0] == "parity":
            run_parity(argv[1])
        elif len(argv) == 4 and argv[0] == "predict":
            run_predict(argv[1], argv[2], argv[3])
        elif len(argv) == 5 and argv[0] == "from-torch":
            run_from_torch(argv[1], argv[2], argv[3], argv[4])
        else:
            print(USAGE, file=sys.stderr)
            return 2
    except Exception as e:  # report any failure as one clear line and a non-zero exit code
        print(f"backprop_torch.py {' '.join(argv)}: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
