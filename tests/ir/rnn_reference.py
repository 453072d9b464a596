"""Recurrent-op cases the ONNX backend tests do not cover, as ONNX test-case folders
(model.onnx, test_data_set_0/input_k.pb, output_k.pb) under argv[1], for test_rnn.cpp.

Two independent references: torch.nn.LSTM/GRU/RNN exported to ONNX (torch computes the
expected outputs), and a float64 NumPy transcription of the ONNX spec's equations for what
torch cannot export (sequence_lens, layout=1, clip, non-default activations, peepholes,
input_forget). Run with Debian's /usr/bin/python3 (numpy, onnx, torch).
"""
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

OUT = sys.argv[1]
rng = np.random.default_rng(17)

ACT = {
    "sigmoid": lambda x, a, b: 1 / (1 + np.exp(-x)),
    "tanh": lambda x, a, b: np.tanh(x),
    "relu": lambda x, a, b: np.maximum(x, 0),
    "hardsigmoid": lambda x, a, b: np.clip(a * x + b, 0, 1),
    "leakyrelu": lambda x, a, b: np.where(x >= 0, x, a * x),
    "affine": lambda x, a, b: a * x + b,
    "scaledtanh": lambda x, a, b: a * np.tanh(b * x),
    "elu": lambda x, a, b: np.where(x >= 0, x, a * (np.exp(x) - 1)),
    "softsign": lambda x, a, b: x / (1 + np.abs(x)),
    "softplus": lambda x, a, b: np.log1p(np.exp(x)),
    "thresholdedrelu": lambda x, a, b: np.where(x > a, x, 0),
}
# (takes alpha, takes beta, default alpha, default beta): ONNX's op defaults.
PARAMS = {"hardsigmoid": (1, 1, 0.2, 0.5), "leakyrelu": (1, 0, 0.01, 0), "affine": (1, 1, 1.0, 0.0),
          "scaledtanh": (1, 1, 1.0, 1.0), "elu": (1, 0, 1.0, 0), "thresholdedrelu": (1, 0, 1.0, 0)}
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
DEFAULT_ACTS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}


def activations(op, attrs, dirs):
    names = attrs.get("activations", DEFAULT_ACTS[op] * dirs)
    alphas, betas = list(attrs.get("activation_alpha", [])), list(attrs.get("activation_beta", []))
    fns = []
    for name in names:
        key = name.lower()
        ta, tb, da, db = PARAMS.get(key, (0, 0, 0, 0))
        a = alphas.pop(0) if ta and alphas else da
        b = betas.pop(0) if tb and betas else db
        fns.append(lambda x, f=ACT[key], a=a, b=b: f(x, a, b))
    return fns


def reference(op, attrs, X, W, R, B=None, lens=None, h0=None, c0=None, P=None):
    """The ONNX spec's equations in float64, one sample and direction at a time."""
    layout = attrs.get("layout", 0)
    if layout == 1:
        X = X.transpose(1, 0, 2)
        h0 = None if h0 is None else h0.transpose(1, 0, 2)
        c0 = None if c0 is None else c0.transpose(1, 0, 2)
    X, W, R = X.astype(np.float64), W.astype(np.float64), R.astype(np.float64)
    S, Bn, _ = X.shape
    D, GH, _ = W.shape
    H = R.shape[2]
    clip = attrs.get("clip", np.inf)
    cl = lambda v: np.clip(v, -clip, clip)
    acts = activations(op, attrs, D)
    per = len(acts) // D
    B = np.zeros((D, 2 * GH)) if B is None else B.astype(np.float64)
    lens = np.full(Bn, S) if lens is None else lens
    Y = np.zeros((S, D, Bn, H))
    Yh = np.zeros((D, Bn, H))
    Yc = np.zeros((D, Bn, H))
    rev_only = attrs.get("direction", "forward") == "reverse"
    for d in range(D):
        f = acts[d * per:(d + 1) * per]
        Wb, Rb = B[d, :GH], B[d, GH:]
        for b in range(Bn):
            h = np.zeros(H) if h0 is None else h0[d, b].astype(np.float64)
            c = np.zeros(H) if c0 is None else c0[d, b].astype(np.float64)
            n = lens[b]
            order = range(n - 1, -1, -1) if (rev_only or d == 1) else range(n)
            for t in order:
                x = X[t, b]
                if op == "RNN":
                    h = f[0](cl(W[d] @ x + R[d] @ h + Wb + Rb))
                elif op == "GRU":
                    gx = W[d] @ x + Wb
                    z = f[0](cl(gx[:H] + R[d, :H] @ h + Rb[:H]))
                    r = f[0](cl(gx[H:2 * H] + R[d, H:2 * H] @ h + Rb[H:2 * H]))
                    if attrs.get("linear_before_reset", 0):
                        hh = f[1](cl(gx[2 * H:] + r * (R[d, 2 * H:] @ h + Rb[2 * H:])))
                    else:
                        hh = f[1](cl(gx[2 * H:] + R[d, 2 * H:] @ (r * h) + Rb[2 * H:]))
                    h = (1 - z) * hh + z * h
                else:
                    g = W[d] @ x + R[d] @ h + Wb + Rb
                    p = np.zeros(3 * H) if P is None else P[d].astype(np.float64)
                    i = f[0](cl(g[:H] + p[:H] * c))
                    fg = 1 - i if attrs.get("input_forget", 0) else f[0](cl(g[2 * H:3 * H] + p[2 * H:] * c))
                    c = fg * c + i * f[1](cl(g[3 * H:]))
                    o = f[0](cl(g[H:2 * H] + p[H:2 * H] * c))
                    h = o * f[2](c)
                Y[t, d, b] = h
            Yh[d, b], Yc[d, b] = h, c
    if layout == 1:
        return Y.transpose(2, 0, 1, 3), Yh.transpose(1, 0, 2), Yc.transpose(1, 0, 2)
    return Y, Yh, Yc


def write_case(name, model, inputs, outputs):
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for kind, arrays in (("input", inputs), ("output", outputs)):
        for k, a in enumerate(arrays):
            with open(os.path.join(d, "test_data_set_0", f"{kind}_{k}.pb"), "wb") as fh:
                fh.write(numpy_helper.from_array(a, f"{kind}_{k}").SerializeToString())


def spec_case(name, op, S, Bn, I, H, attrs, with_bias=True, with_lens=None, with_h0=False, with_c0=False,
              with_p=False, outputs=("Y", "Y_h", "Y_c")):
    """A one-node model with every tensor a graph input; expected outputs from reference()."""
    D = 2 if attrs.get("direction") == "bidirectional" else 1
    G = GATES[op]
    layout = attrs.get("layout", 0)
    xs = (S, Bn, I) if layout == 0 else (Bn, S, I)
    ss = (D, Bn, H) if layout == 0 else (Bn, D, H)
    f32 = lambda *s: rng.uniform(-1, 1, s).astype(np.float32)
    tensors = {"X": f32(*xs), "W": f32(D, G * H, I), "R": f32(D, G * H, H)}
    if with_bias:
        tensors["B"] = f32(D, 2 * G * H)
    if with_lens is not None:
        tensors["sequence_lens"] = np.array(with_lens, np.int32)
    if with_h0:
        tensors["initial_h"] = f32(*ss)
    if with_c0:
        tensors["initial_c"] = f32(*ss)
    if with_p:
        tensors["P"] = f32(D, 3 * H)
    order = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"][:8 if op == "LSTM" else 6]
    last = max(k for k, n in enumerate(order) if n in tensors)
    node_inputs = [n if n in tensors else "" for n in order[:last + 1]]
    out_names = ["Y", "Y_h", "Y_c"][:3 if op == "LSTM" else 2]
    node_outputs = [n if n in outputs else "" for n in out_names]
    while node_outputs[-1] == "":
        node_outputs.pop()
    node = helper.make_node(op, node_inputs, node_outputs, hidden_size=H, **attrs)
    Y, Yh, Yc = reference(op, attrs, tensors["X"], tensors["W"], tensors["R"], tensors.get("B"),
                          tensors.get("sequence_lens"), tensors.get("initial_h"), tensors.get("initial_c"),
                          tensors.get("P"))
    ref = {"Y": Y, "Y_h": Yh, "Y_c": Yc}
    graph_inputs = [helper.make_tensor_value_info(n, TensorProto.INT32 if n == "sequence_lens" else TensorProto.FLOAT, tensors[n].shape)
                    for n in node_inputs if n]
    graph_outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ref[n].shape) for n in node_outputs if n]
    graph = helper.make_graph([node], name, graph_inputs, graph_outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    write_case(name, model, [tensors[n] for n in node_inputs if n],
               [ref[n].astype(np.float32) for n in node_outputs if n])


# ---- NumPy reference: the configurations torch cannot export ----
spec_case("lstm_bidir_seqlens_peepholes", "LSTM", 5, 3, 4, 3, {"direction": "bidirectional"},
          with_lens=[5, 2, 0], with_h0=True, with_c0=True, with_p=True)
spec_case("gru_bidir_layout1_seqlens", "GRU", 4, 3, 2, 5, {"direction": "bidirectional", "layout": 1},
          with_lens=[1, 4, 3], with_h0=True)
spec_case("gru_lbr_clip_acts", "GRU", 6, 2, 3, 4,
          {"direction": "reverse", "linear_before_reset": 1, "clip": 0.5,
           "activations": ["HardSigmoid", "Affine"], "activation_alpha": [0.3, 0.8], "activation_beta": [0.4, 0.1]})
spec_case("rnn_reverse_clip_relu", "RNN", 5, 2, 3, 4, {"direction": "reverse", "clip": 0.7, "activations": ["Relu"]},
          with_h0=True)
spec_case("rnn_bidir_acts", "RNN", 4, 2, 3, 3,
          {"direction": "bidirectional", "activations": ["LeakyRelu", "ScaledTanh"],
           "activation_alpha": [0.2, 1.5], "activation_beta": [0.7], "layout": 1}, with_lens=[3, 4])
spec_case("lstm_layout1_input_forget_acts", "LSTM", 4, 2, 3, 3,
          {"layout": 1, "input_forget": 1, "clip": 1.5, "activations": ["Softsign", "Elu", "Softplus"],
           "activation_alpha": [0.9]}, with_h0=True, with_c0=True, with_p=True)
spec_case("lstm_thresholded_only_state_outputs", "LSTM", 3, 2, 2, 3,
          {"activations": ["Sigmoid", "ThresholdedRelu", "Tanh"], "activation_alpha": [0.1]},
          with_bias=False, outputs=("Y_h", "Y_c"))
spec_case("gru_only_y", "GRU", 3, 1, 2, 2, {}, with_bias=False, outputs=("Y",))

# ---- torch as the reference: nn.LSTM / nn.GRU / nn.RNN exported by torch.onnx ----
import torch  # noqa: E402

torch.manual_seed(17)
for name, mod in (("torch_lstm_bidir", torch.nn.LSTM(5, 6, bidirectional=True)),
                  ("torch_gru_bidir", torch.nn.GRU(5, 6, bidirectional=True)),
                  ("torch_rnn_relu", torch.nn.RNN(5, 6, nonlinearity="relu")),
                  ("torch_lstm_2layer", torch.nn.LSTM(5, 4, num_layers=2))):
    x = torch.randn(7, 3, 5)
    with torch.no_grad():
        y, state = mod(x)
    outs = [y, *(state if isinstance(state, tuple) else (state,))]  # Y, h_n (, c_n)
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(mod, (x,), path, input_names=["x"], output_names=["y", "h", "c"][:len(outs)], opset_version=14)
    write_case(name, onnx.load(path), [x.numpy()], [o.numpy() for o in outs])
    os.remove(path)
print("ok")
