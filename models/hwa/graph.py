"""A zoo ONNX model (BatchNorm folded, the float weights train.py exported) as a trainable PyTorch
network with ArrayLayers for its Conv and Gemm nodes; its export as a QDQ ONNX model; and that
model's own integer arithmetic in NumPy/float64 (what cim-sim on an ideal device must reproduce)."""

import math

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

from .layers import ArrayLayer

DIGITAL_OPS = ("Relu", "MaxPool", "Add", "GlobalAveragePool", "Flatten")


def attributes(node):
    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    if node.op_type == "Conv":
        k = list(a["kernel_shape"])
        a.setdefault("dilations", [1] * len(k))
        a.setdefault("strides", [1] * len(k))
        a.setdefault("pads", [0] * 2 * len(k))
        if a.get("group", 1) != 1 or a["pads"][:2] != a["pads"][2:]:
            raise ValueError(f"{node.name}: grouped or asymmetric-padding convolutions are not supported by hwa_train")
    if node.op_type == "Gemm" and (a.get("transB", 0) != 1 or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0
                                   or a.get("transA", 0) != 0):
        raise ValueError(f"{node.name}: only Gemm with transB=1, alpha=beta=1 (PyTorch's Linear) is supported")
    return a


class GraphNet(nn.Module):
    def __init__(self, model, hw, switches):
        super().__init__()
        g = model.graph
        self.source = model
        self.init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.input_name, self.output_name = g.input[0].name, g.output[0].name
        self.nodes = []
        self.layers = nn.ModuleList()
        self.layer_of = {}
        for n in g.node:
            if n.op_type in ("Conv", "Gemm"):
                w = torch.from_numpy(self.init[n.input[1]].astype(np.float32))
                b = torch.from_numpy(self.init[n.input[2]].astype(np.float32)) if len(n.input) > 2 else None
                self.layer_of[n.name] = len(self.layers)
                self.layers.append(ArrayLayer(n.name, n.op_type, w, b, attributes(n), hw, switches))
            elif n.op_type not in DIGITAL_OPS:
                raise ValueError(f"node {n.name}: op {n.op_type} is not supported by hwa_train (supported: Conv, Gemm, "
                                 + ", ".join(DIGITAL_OPS) + ")")
            self.nodes.append((n, attributes(n)))

    def forward(self, x, observer=None):
        env = {self.input_name: x}
        for n, a in self.nodes:
            ins = [env[i] for i in n.input if i in env]
            if n.op_type in ("Conv", "Gemm"):
                layer = self.layers[self.layer_of[n.name]]
                if observer:
                    observer(layer, ins[0])
                y = layer(ins[0])
            elif n.op_type == "Relu":
                y = F.relu(ins[0])
            elif n.op_type == "MaxPool":
                if a.get("ceil_mode", 0) or any(a.get("pads", [0])):
                    raise ValueError(f"{n.name}: MaxPool with padding or ceil_mode is not supported")
                y = F.max_pool2d(ins[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]))
            elif n.op_type == "Add":
                y = ins[0] + ins[1]
            elif n.op_type == "GlobalAveragePool":
                y = ins[0].mean(dim=(2, 3), keepdim=True)
            else:  # Flatten
                y = torch.flatten(ins[0], a.get("axis", 1))
            env[n.output[0]] = y
        return env[self.output_name]

    @torch.no_grad()
    def calibrate(self, x, percentile=None):
        """Initial step sizes and ADC ranges as a post-training quantizer sets them: min-max weight steps
        per channel, min-max input steps (a zero point where inputs can be negative), and each layer's ADC
        range the largest column sum of one read over these inputs with exact activations."""
        sw = self.layers[0].sw
        saved = (sw.quantize, sw.adc, sw.read_noise, sw.programming)
        sw.quantize = False
        seen = {}
        self.forward(x, observer=lambda layer, v: seen.setdefault(layer.name, v))
        top = float(2 ** self.layers[0].hw.activation_bits - 1)
        for layer in self.layers:
            v = seen[layer.name]
            lo, hi = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
            layer.signed_input = lo < 0
            step = (hi - lo) / top
            layer.x_log_step.fill_(math.log(step))
            layer.x_zero.fill_(float(round(-lo / step)))
            qmax = float(2 ** (layer.code_bits() - 1) - 1)
            layer.w_log_step.copy_(torch.log(layer.weight.abs().reshape(layer.weight.shape[0], -1).amax(1).clamp(min=1e-8) / qmax))
            # The column sums are observed only where the ADC is in the loop: every read emulated is costly.
            layer.observe_adc = 0.0 if saved[1] and layer.hw.adc_bits > 0 else None
        if self.layers[0].observe_adc is not None:
            sw.quantize, sw.adc, sw.read_noise, sw.programming = True, False, False, False
            self.forward(x)
        sw.quantize, sw.adc, sw.read_noise, sw.programming = saved
        for layer in self.layers:
            layer.adc_log_range.fill_(math.log(max(1.0, layer.observe_adc or 1.0)))
            layer.observe_adc = None


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------

@torch.no_grad()
def layer_export(layer):
    """(input step, zero point, weight codes int8, weight steps) exactly as the forward pass uses them."""
    w_step, x_step = layer.steps()
    qmax = float(2 ** (layer.code_bits() - 1) - 1)
    shape = (-1,) + (1,) * (layer.weight.dim() - 1)
    codes = torch.round(layer.weight / w_step.view(shape)).clamp(-qmax, qmax)
    return (np.float32(x_step), int(layer.x_zero), codes.numpy().astype(np.int8),
            w_step.numpy().astype(np.float32))


def export(net, path, metadata, adc_ranges_path=None):
    """Writes the QDQ model: every array layer's input through QuantizeLinear -> DequantizeLinear (uint8,
    the trained step and zero point; a Clip narrows codes below 8 bits), its weight as int8 codes ->
    DequantizeLinear (per output channel), its trained float bias; the digital ops as imported."""
    nodes, inits = [], []
    bits = net.layers[0].hw.activation_bits
    for n, _ in net.nodes:
        if n.op_type not in ("Conv", "Gemm"):
            nodes.append(n)
            continue
        layer = net.layers[net.layer_of[n.name]]
        s_x, z, codes, s_w = layer_export(layer)
        t = n.name.strip("/").replace("/", "_")
        inits += [numpy_helper.from_array(np.array(s_x, np.float32), t + "_x_scale"),
                  numpy_helper.from_array(np.array(z, np.uint8), t + "_x_zero_point"),
                  numpy_helper.from_array(codes, t + "_w_q"),
                  numpy_helper.from_array(s_w, t + "_w_scale"),
                  numpy_helper.from_array(np.zeros(s_w.shape, np.int8), t + "_w_zero_point"),
                  numpy_helper.from_array(layer.bias.detach().numpy().astype(np.float32), t + "_bias")]
        q = t + "_x_q"
        nodes.append(helper.make_node("QuantizeLinear", [n.input[0], t + "_x_scale", t + "_x_zero_point"], [q],
                                      name=t + "_x_QuantizeLinear"))
        if bits < 8:
            inits += [numpy_helper.from_array(np.array(0, np.uint8), t + "_x_lo"),
                      numpy_helper.from_array(np.array(2 ** bits - 1, np.uint8), t + "_x_hi")]
            nodes.append(helper.make_node("Clip", [q, t + "_x_lo", t + "_x_hi"], [t + "_x_qc"], name=t + "_x_Clip"))
            q = t + "_x_qc"
        nodes.append(helper.make_node("DequantizeLinear", [q, t + "_x_scale", t + "_x_zero_point"], [t + "_x_dq"],
                                      name=t + "_x_DequantizeLinear"))
        nodes.append(helper.make_node("DequantizeLinear", [t + "_w_q", t + "_w_scale", t + "_w_zero_point"],
                                      [t + "_w_dq"], name=t + "_w_DequantizeLinear", axis=0))
        out = helper.make_node(n.op_type, [t + "_x_dq", t + "_w_dq", t + "_bias"], list(n.output), name=n.name)
        out.attribute.extend(n.attribute)
        nodes.append(out)
    src = net.source.graph
    graph = helper.make_graph(nodes, src.name + "_hwa", list(src.input), list(src.output), inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="models/hwa_train.py")
    for k, v in metadata.items():
        p = model.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    if adc_ranges_path:
        write_adc_ranges(net, adc_ranges_path, metadata)


def write_adc_ranges(net, path, metadata):
    """The side file cim-sim --adc-ranges reads: one ADC range per layer, a column sum of one read."""
    with open(path, "w") as f:
        f.write("# ADC ranges learned by models/hwa_train.py, one per layer: the largest column sum of one read\n")
        f.write(f"# (conductance digit units x input plane value) that the ADC's top code stands for.\n")
        f.write(f"# device: {metadata.get('hwa_device', '')}\n")
        f.write("adc_ranges:\n")
        for layer in net.layers:
            r = max(1.0, float(layer.adc_range.detach()))
            f.write(f"  \"{layer.name}\": {r!r}\n")


# ---------------------------------------------------------------------------
# The exported model's integer arithmetic
# ---------------------------------------------------------------------------

def integer_forward(path, x):
    """Logits of the exported QDQ model computed the way cimforge's integer program computes them: input
    codes by QuantizeLinear (float32 division, round half to even, saturation), exact integer sums of codes
    times weight codes (float64 holds them exactly here), the bias code rint(b / (s_x s_w)) in float64, the
    requantization float32(float64(s_x) float64(s_w) (acc + bias)), digital ops in float32."""
    m = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    env = {m.graph.input[0].name: x.astype(np.float32)}
    grids = {}  # a DequantizeLinear's output: (logical codes, scale)
    for n in m.graph.node:
        a = {y.name: helper.get_attribute_value(y) for y in n.attribute}
        get = lambda i: env[n.input[i]] if n.input[i] in env else init[n.input[i]]  # noqa: E731
        if n.op_type == "QuantizeLinear":
            s, z = init[n.input[1]], init[n.input[2]]
            v = np.rint(get(0).astype(np.float32) / np.float32(s)).astype(np.int64) + int(z)
            env[n.output[0]] = np.clip(v, 0, 255)
        elif n.op_type == "Clip":
            env[n.output[0]] = np.clip(get(0), int(init[n.input[1]]), int(init[n.input[2]]))
        elif n.op_type == "DequantizeLinear":
            codes, s, z = get(0).astype(np.int64), init[n.input[1]], init[n.input[2]].astype(np.int64)
            if codes.ndim > 1 and s.ndim == 1:
                z = z.reshape((-1,) + (1,) * (codes.ndim - 1))
            grids[n.output[0]] = (codes - z, s)
            env[n.output[0]] = None
        elif n.op_type in ("Conv", "Gemm"):
            cx, s_x = grids[n.input[0]]
            cw, s_w = grids[n.input[1]]
            xt, wt = torch.from_numpy(cx.astype(np.float64)), torch.from_numpy(cw.astype(np.float64))
            if n.op_type == "Conv":
                k = len(a["kernel_shape"])
                acc = F.conv2d(xt, wt, stride=a.get("strides", [1] * k), padding=a.get("pads", [0] * 2 * k)[:k],
                               dilation=a.get("dilations", [1] * k)).numpy()
                shape = (1, -1, 1, 1)
            else:
                acc = (xt @ wt.t()).numpy()
                shape = (1, -1)
            out_scale = np.float64(s_x) * s_w.astype(np.float64)
            bias = np.rint(init[n.input[2]].astype(np.float64) / out_scale)
            env[n.output[0]] = (out_scale.reshape(shape) * (acc + bias.reshape(shape))).astype(np.float32)
        elif n.op_type == "Relu":
            env[n.output[0]] = np.maximum(get(0), np.float32(0))
        elif n.op_type == "MaxPool":
            t = torch.from_numpy(get(0))
            env[n.output[0]] = F.max_pool2d(t, a["kernel_shape"], a.get("strides", a["kernel_shape"])).numpy()
        elif n.op_type == "Add":
            env[n.output[0]] = get(0) + get(1)
        elif n.op_type == "GlobalAveragePool":
            env[n.output[0]] = get(0).mean(axis=(2, 3), keepdims=True, dtype=np.float32)
        elif n.op_type == "Flatten":
            v = get(0)
            env[n.output[0]] = v.reshape(v.shape[0], -1)
        else:
            raise ValueError(f"integer_forward: op {n.op_type} of {n.name}")
    return env[m.graph.output[0].name]
