"""The device as hardware-aware training sees it, read through the C++ schema (the cimforge module):
never re-typed here. Everything the forward pass models comes from these fields."""

import dataclasses
import math


class UnsupportedDevice(ValueError):
    """A device field the training forward pass does not model (named with the fix)."""


@dataclasses.dataclass
class Hardware:
    name: str
    overrides: list
    weight_bits: int          # quant.weight_bits: the widest weight code (symmetric +-(2^(b-1)-1))
    device_weight_bits: int   # weight.bits: what the cells can hold
    activation_bits: int      # quant.activation_bits
    cell_bits: int
    encoding: str             # weight.encoding: differential or twos_complement
    usable_rows: int
    rows_per_read: int        # array.max_active_rows
    usable_cols: int
    input_mode: str           # bit_serial or multi_bit
    dac_bits: int
    adc_range: str            # array.adc.range
    adc_bits: int             # 0: no ADC
    programming_sigma: float
    programming_mode: str     # relative or absolute
    read_sigma: float
    g_off: float              # off-cell conductance in digit units ((2^c - 1) / (on_off - 1))
    leak_reference: str       # weight.leak_reference
    power_of_two: bool        # quant.power_of_two_scales

    @property
    def g_span(self):
        """g_on - g_off in digit units."""
        return float(2 ** self.cell_bits - 1)

    @property
    def ideal_cells(self):
        # The simulator's LSB is exactly 1 when the cells are ideal and the range fits the codes.
        return self.programming_sigma == 0 and self.g_off == 0

    @property
    def adc_top(self):
        return 2 ** self.adc_bits - 1


def read_device(name, overrides):
    """Hardware from a device name or YAML path and --set overrides ("path=value" strings)."""
    import cimforge  # the pybind11 module: PYTHONPATH=build/python

    dev = cimforge.Device(name, list(overrides))
    f = dev.fields

    def need(path, allowed):
        if f[path] not in allowed:
            raise UnsupportedDevice(
                f"{dev.source_path}: {path} = {f[path]}: hardware-aware training models only "
                f"{', '.join(map(str, allowed))}; set one with --set {path}=VALUE")
        return f[path]

    need("input.signed_handling", ("offset", "pos_neg_split", "twos_complement", "unsigned_only", "bipolar"))
    need("weight.differential_readout", ("digital",))
    encoding = need("weight.encoding", ("differential", "twos_complement"))
    for path in ("noise.stuck_on_rate", "noise.stuck_off_rate", "noise.ir_drop", "noise.adc_sigma_lsb",
                 "noise.adc_offset_lsb", "array.bias_rows"):
        if f.get(path) not in (None, 0, 0.0):
            raise UnsupportedDevice(f"{dev.source_path}: {path} = {f[path]}: not modelled by hardware-aware "
                                    f"training; --set {path}=0")
    if f.get("noise.drift_nu") not in (None, 0, 0.0):
        raise UnsupportedDevice(f"{dev.source_path}: noise.drift_nu = {f['noise.drift_nu']}: drift is not "
                                f"modelled by hardware-aware training; --set noise.drift_nu=0")
    adc_range = f["array.adc.range"]
    if adc_range not in ("none", "calibrated_layer"):
        raise UnsupportedDevice(f"{dev.source_path}: array.adc.range = {adc_range}: training learns one ADC "
                                f"range per layer; --set array.adc.range=calibrated_layer")
    on_off = float(f["cell.on_off_ratio"])
    cell_bits = int(f["cell.bits"])
    g_off = 0.0 if math.isinf(on_off) else (2 ** cell_bits - 1) / (on_off - 1)
    wbits = int(f["quant.weight_bits"])
    return Hardware(
        name=dev.name, overrides=list(overrides), weight_bits=wbits, device_weight_bits=int(f["weight.bits"]),
        activation_bits=int(f["quant.activation_bits"]), cell_bits=cell_bits, encoding=encoding,
        usable_rows=int(f["array.usable_rows"]), rows_per_read=int(f["array.max_active_rows"]),
        usable_cols=int(f["array.usable_cols"]), input_mode=f["input.mode"], dac_bits=int(f["input.dac_bits"]),
        adc_range=adc_range, adc_bits=0 if adc_range == "none" else int(f["array.adc.bits"]),
        programming_sigma=float(f["noise.programming_sigma"]), programming_mode=f["noise.programming_sigma_mode"],
        read_sigma=float(f["noise.read_sigma"]), g_off=g_off,
        leak_reference=f.get("weight.leak_reference", "none"), power_of_two=bool(f["quant.power_of_two_scales"]))


def column_layout(hw, code_bits):
    """Shift-add weight of each cell column of one output at `code_bits`-bit signed codes, and how to cut a
    code into their digits: the same layout as cim::column_layout for the two encodings modelled.
    Returns a list of (factor, digit function of the integer code tensor)."""
    c = hw.cell_bits
    mask = 2 ** c - 1
    cols = []
    if hw.encoding == "differential":
        # W+ digits then W- digits of the magnitude (m = code_bits - 1 bits for +-(2^(b-1)-1) codes).
        slices = math.ceil((code_bits - 1) / c)
        for sign in (1, -1):
            for s in range(slices):
                cols.append((sign * 2 ** (s * c),
                             lambda q, s=s, sign=sign: (q * sign).clamp(min=0).div(2 ** (s * c), rounding_mode="floor")
                             .remainder(mask + 1)))
    else:  # twos_complement: low code_bits-1 bits in c-bit digits, then the sign bit with weight -2^(b-1)
        low = code_bits - 1
        for s in range(math.ceil(low / c)):
            cols.append((2 ** (s * c), lambda q, s=s: q.remainder(2 ** low).div(2 ** (s * c), rounding_mode="floor")
                         .remainder(mask + 1)))
        cols.append((-(2 ** low), lambda q: (q < 0).to(q.dtype)))
    return cols
