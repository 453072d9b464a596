"""One weight-stationary layer as the chip computes it, differentiable: LSQ fake quantization of its
input and weights, and the crossbar's non-idealities on the integer codes (programming variation,
read noise, ADC quantization and clipping of every read's column sums), each switchable.

Units follow the simulator (docs/simulator.md): conductances in digit units (a cell holding digit d
conducts g_off + d), one read sums `array.max_active_rows` rows of one input plane, and the ADC range
is a column sum of one read."""

import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .device import column_layout


@dataclasses.dataclass
class Switches:
    """What the forward pass models; every non-ideality can be turned off (--no-... flags)."""
    quantize: bool = True
    power_of_two: bool = False
    learn_width: bool = False
    programming: bool = True
    read_noise: bool = True
    adc: bool = True


def round_ste(x):
    return x + (torch.round(x) - x).detach()


def grad_scale(x, g):
    """x in the forward pass, g times its gradient in the backward pass (LSQ's step-size gradient scale)."""
    return x * g + (x - x * g).detach()


def pow2_ste(s):
    return torch.exp2(round_ste(torch.log2(s)))


def lsq(x, step, lo, hi):
    """LSQ (Esser et al. 2020) integer codes of x: clamp(round(x / step), lo, hi), gradients by the STE
    with LSQ's step gradient; lo/hi may be tensors (learned widths) and then pass gradients at the clip."""
    v = x / step
    v = torch.maximum(torch.minimum(v, hi), lo) if torch.is_tensor(hi) else v.clamp(lo, hi)
    return round_ste(v)


class ArrayLayer(nn.Module):
    """A Conv or Gemm of the imported graph: float weight and bias from the zoo, the quantizers' step
    sizes, the learned width coefficient and the layer's learned ADC range."""

    def __init__(self, name, kind, weight, bias, attrs, hw, switches):
        super().__init__()
        self.name, self.kind, self.attrs, self.hw, self.sw = name, kind, attrs, hw, switches
        self.weight = nn.Parameter(weight.clone())
        self.bias = nn.Parameter(bias.clone() if bias is not None else torch.zeros(weight.shape[0]))
        n = weight.shape[0]
        # Step sizes and the ADC range are learned as logarithms (Adam moves them by a fraction of
        # themselves per step, whatever their scale); LSQ's gradient scale is applied to the steps.
        self.w_log_step = nn.Parameter(torch.zeros(n))
        self.x_log_step = nn.Parameter(torch.zeros(()))
        self.adc_log_range = nn.Parameter(torch.zeros(()))
        self.width = nn.Parameter(torch.tensor(float(hw.weight_bits)))  # learned width coefficient
        self.register_buffer("x_zero", torch.zeros((), dtype=torch.float32))
        self.signed_input = False  # set at calibration: an input that can be negative gets a zero point
        self.fixed_bits = None     # the width after rounding (export)
        self.generator = None      # the device noise stream (seeded by the trainer)
        self.observe_adc = None    # calibration: the largest column sum seen, or None

    # ---- quantizers ----
    def code_bits(self):
        return self.fixed_bits if self.fixed_bits is not None else self.hw.weight_bits

    def weight_qmax(self):
        if self.sw.learn_width and self.fixed_bits is None:
            b = self.width.clamp(2.0, float(self.hw.weight_bits))
            return torch.exp2(b - 1) - 1
        return float(2 ** (self.code_bits() - 1) - 1)

    @property
    def adc_range(self):
        return torch.exp(self.adc_log_range)

    def steps(self):
        w_step, x_step = torch.exp(self.w_log_step), torch.exp(self.x_log_step)
        if self.sw.power_of_two:
            w_step, x_step = pow2_ste(w_step), pow2_ste(x_step)
        return w_step, x_step

    def codes(self, x):
        """(input codes u as the array rows take them, zero point, weight codes, steps)."""
        w_step, x_step = self.steps()
        qmax = self.weight_qmax()
        shape = (-1,) + (1,) * (self.weight.dim() - 1)
        gw = 1.0 / math.sqrt(self.weight[0].numel() * (qmax if isinstance(qmax, float) else float(qmax.detach())))
        q = lsq(self.weight, grad_scale(w_step, gw).view(shape), -qmax, qmax)
        top = float(2 ** self.hw.activation_bits - 1)
        gx = 1.0 / math.sqrt(x[0].numel() * top)
        u = lsq(x, grad_scale(x_step, gx), 0.0, top) if not self.signed_input else \
            (round_ste(x / grad_scale(x_step, gx)) + self.x_zero).clamp(0.0, top)
        return u, self.x_zero, q, w_step, x_step

    # ---- the matrix product on the codes ----
    def unfold(self, u, z):
        """Rows of the array's input vectors: [vectors, K] in the ONNX weight's (c, kh, kw) order. The
        convolution pads the dequantized input with 0, the logical code 0: the rows there hold z."""
        if self.kind == "Gemm":
            return u, None
        a = self.attrs
        cols = F.unfold(u - z, a["kernel_shape"], dilation=a["dilations"], padding=a["pads"][:2], stride=a["strides"]) + z
        b, k, l = cols.shape
        oh = (u.shape[2] + 2 * a["pads"][0] - a["dilations"][0] * (a["kernel_shape"][0] - 1) - 1) // a["strides"][0] + 1
        return cols.transpose(1, 2).reshape(b * l, k), (b, oh, l // oh)

    def fold(self, y, geom):
        if geom is None:
            return y
        b, oh, ow = geom
        return y.reshape(b, oh * ow, -1).transpose(1, 2).reshape(b, -1, oh, ow)

    def forward(self, x):
        if not self.sw.quantize:
            return self.float_forward(x)
        u, z, q, w_step, x_step = self.codes(x)
        rows, geom = self.unfold(u, z)
        qm = q.reshape(q.shape[0], -1)             # [N, K]
        g_eff, cells = self.program(qm)            # effective weights, and each column's conductances
        acc = rows @ g_eff.t() - z * qm.sum(1)     # the zero point's column sums subtracted digitally, nominally
        if self.hw_reads_enabled():
            err, d_range, count = self.chip_reads(rows, g_eff.detach(), cells)
            acc = acc + err + self.range_term(d_range, count)
        elif self.sw.read_noise and self.hw.read_sigma > 0:
            acc = acc + self.read_noise(rows, cells)
        out_scale = (x_step * w_step).view(1, -1)
        bias_code = round_ste(self.bias / out_scale.view(-1))
        return self.fold((acc + bias_code) * out_scale, geom)

    def float_forward(self, x):
        if self.kind == "Gemm":
            return F.linear(x, self.weight, self.bias)
        a = self.attrs
        return F.conv2d(x, self.weight, self.bias, stride=a["strides"], padding=a["pads"][:2], dilation=a["dilations"])

    # ---- the crossbar ----
    def hw_reads_enabled(self):
        """Whether every read is computed: for the ADC (or to observe column sums). Read noise alone
        needs no read: see read_noise."""
        return (self.sw.adc and self.hw.adc_bits > 0) or self.observe_adc is not None

    @torch.no_grad()
    def read_noise(self, rows, cells):
        """Read noise without the ADC, drawn per output in aggregate: every read adds an independent
        Gaussian of sigma (g_on - g_off) sqrt(sum plane^2) per column, weighed by plane weight x column
        factor in the shift-add, so an output's noise is one Gaussian of variance
        (sigma (g_on - g_off))^2 sum_c factor_c^2 sum_p weight_p^2 sum_rows plane_p^2: exact in distribution."""
        hw = self.hw
        planes, plane_w = self.planes(rows)
        f2 = sum(float(f) ** 2 for f, _ in cells)
        var = (torch.tensor(plane_w).view(-1, 1) ** 2 * (planes * planes).sum(2)).sum(0) * f2
        std = (hw.read_sigma * hw.g_span) * var.sqrt()
        return std.view(-1, 1) * torch.randn((rows.shape[0], cells[0][1].shape[1]), generator=self.generator)

    def program(self, qm):
        """Cell conductances of one chip instance (redrawn per batch) and the effective weights they give.
        cells: list of (factor, conductances [K, N]); g_eff carries the STE gradient of the codes."""
        hw = self.hw
        cells = []
        q_int = qm.detach().round().to(torch.int64)
        noisy = self.sw.programming and hw.programming_sigma > 0
        g_eff = torch.zeros_like(qm)
        for factor, digit in column_layout(hw, self.code_bits()):
            g = digit(q_int).to(qm.dtype) + hw.g_off
            if noisy:
                z = torch.randn(g.shape, generator=self.generator)
                g = g + hw.programming_sigma * (g if hw.programming_mode == "relative" else hw.g_span) * z
                g = g.clamp(min=0.0)
            cells.append((factor, g.t().contiguous()))
            g_eff = g_eff + factor * (g - hw.g_off)
        # The nominal leak of two's-complement columns (differential pairs cancel it).
        if hw.encoding == "twos_complement" and hw.g_off > 0 and hw.leak_reference != "digital":
            g_eff = g_eff + hw.g_off * sum(f for f, _ in cells)
        return qm + (g_eff - qm).detach(), cells

    def planes(self, rows):
        """The input planes the reads apply ([P, vectors, K]) and each plane's shift-add weight."""
        hw = self.hw
        if hw.input_mode == "multi_bit":
            return rows.detach().unsqueeze(0), [1.0]
        d = hw.dac_bits
        r = rows.detach().to(torch.int32)
        count = math.ceil(hw.activation_bits / d)
        shifts = torch.arange(count, dtype=torch.int32).view(-1, 1, 1) * d
        return ((r.unsqueeze(0) >> shifts) & (2 ** d - 1)).to(rows.dtype), [float(2 ** (p * d)) for p in range(count)]

    def read_tiles(self, k):
        """Row ranges of one read: array tiles of usable_rows, each read max_active_rows at a time."""
        hw = self.hw
        for a0 in range(0, k, hw.usable_rows):
            a1 = min(k, a0 + hw.usable_rows)
            for r0 in range(a0, a1, hw.rows_per_read):
                yield r0, min(a1, r0 + hw.rows_per_read)

    def reads(self, rows, cells):
        """Every read's column sums, one row tile at a time: yields ([P, vectors, columns, N] sums,
        [P, columns] shift-add weights (plane x column), [P, vectors, rows of the tile] plane values)."""
        hw = self.hw
        planes, plane_w = self.planes(rows)
        weights = torch.tensor(plane_w).view(-1, 1) * torch.tensor([float(f) for f, _ in cells]).view(1, -1)
        g_all = torch.stack([g for _, g in cells], 1)  # [K, C, N]
        for r0, r1 in self.read_tiles(rows.shape[1]):
            x = planes[:, :, r0:r1]
            s = torch.matmul(x, g_all[r0:r1].reshape(r1 - r0, -1)).view(x.shape[0], x.shape[1], len(cells), -1)
            if self.sw.read_noise and hw.read_sigma > 0:
                spread = (hw.read_sigma * hw.g_span) * (x * x).sum(2).sqrt_()
                s.addcmul_(spread.view(*spread.shape, 1, 1), torch.randn(s.shape, generator=self.generator))
            yield s, weights, x

    def lsb(self):
        r = self.adc_range.detach().clamp(min=1.0)
        top = float(self.hw.adc_top)
        if self.hw.ideal_cells and float(r) <= top:
            return torch.tensor(1.0)
        return r / top

    @torch.no_grad()
    def chip_reads(self, rows, g_eff, cells):
        """Every read through read noise and the ADC, shift-added, the leak subtracted where the device
        does. Returns the error this adds to the product with the effective weights, and the derivative
        of the accumulators by the ADC range (LSQ's step gradient of every conversion) with the number
        of conversions."""
        hw = self.hw
        total = torch.zeros(rows.shape[0], g_eff.shape[0])
        d_range = torch.zeros_like(total)
        count = 0
        adc = self.sw.adc and hw.adc_bits > 0
        top = float(hw.adc_top)
        lsb = self.lsb() if adc else None
        leak_digital = hw.encoding == "twos_complement" and hw.g_off > 0 and hw.leak_reference == "digital"
        for s, weights, x in self.reads(rows, cells):
            if self.observe_adc is not None:
                self.observe_adc = max(self.observe_adc, float(s.abs().max()))
            if adc:
                v = s.mul_(1.0 / float(lsb))
                code = torch.round(v).clamp_(0, top)
                total += torch.einsum("pvcn,pc->vn", code, weights) * float(lsb)
                dq = torch.where(v > top, torch.full_like(v, top), (code - v).masked_fill_(v < 0, 0.0))
                d_range += torch.einsum("pvcn,pc->vn", dq, weights) / top
                count += s.numel()
            else:
                total += torch.einsum("pvcn,pc->vn", s, weights)
            if leak_digital:
                total -= hw.g_off * torch.einsum("pv,pc->v", x.sum(2), weights).unsqueeze(1)
        return total - rows @ g_eff.t(), d_range, count

    def range_term(self, d_range, count):
        """Zero in the forward pass; in the backward pass the ADC range's gradient, d_range times the
        accumulators' gradient, with LSQ's gradient scale."""
        if count == 0 or self.observe_adc is not None:
            return 0.0
        r = grad_scale(self.adc_range, 1.0 / math.sqrt(count * float(self.hw.adc_top)))
        return (r - r.detach()) * d_range
