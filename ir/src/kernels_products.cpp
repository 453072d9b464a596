// Products: convolution (im2col + GEMM), ConvTranspose, Gemm and MatMul, on the float GEMM of
// float_gemm.h.
#include "kernels.h"

#include "float_gemm.h"

#include <cim/ir/window.h>

#include <Eigen/Core>

#include <algorithm>

namespace cim::kern {

namespace {

using cim::Window;
using cim::make_window;
using cim::conv_kernel;
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapM = Eigen::Map<RowMat>;

Shape spatial_of(const Shape& s) { return Shape(s.begin() + 2, s.end()); }

// Products run on a single-threaded GEMM (float_gemm.h: Eigen built for the CPU's widest vectors) in
// fixed blocks of output rows. Left to thread itself, Eigen picks its depth blocking from the thread
// count, so outputs moved in the last bits with OMP_NUM_THREADS; with fixed blocks every element's
// summation order is independent of the thread count (and, for Conv, whose rows are output channels,
// of the batch). It does depend on the GEMM path (FMA, vector width): fixed per process.
constexpr int64_t kRowBlock = 64;
int64_t row_blocks(int64_t rows) { return (rows + kRowBlock - 1) / kRowBlock; }

// A row-major operand of a product: op(X)(i, j) = data[i * ld + j], or data[j * ld + i] if transposed.
struct Operand {
    const float* data;
    int64_t ld;
    bool transposed = false;
    const float* row(int64_t i) const { return transposed ? data + i : data + i * ld; }
};

// Rows [block * kRowBlock, ...) of Y[M x N] = op(A)[M x K] * op(B)[K x N] (Y contiguous).
void product_block(FloatGemmFn gemm, float* Y, const Operand& A, const Operand& B, int64_t M, int64_t K,
                   int64_t N, int64_t block) {
    const int64_t r0 = block * kRowBlock, rows = std::min(kRowBlock, M - r0);
    gemm(A.row(r0), A.ld, A.transposed, B.data, B.ld, B.transposed, Y + r0 * N, N, rows, K, N);
}

// The process's GEMM, fetched before a parallel region (a bad CIM_FLOAT_GEMM throws here, not inside one).
FloatGemmFn gemm_kernel() { return float_gemm_kernel(float_gemm_path()); }

// col[(c*K3 + kk) * O3 + o] = x[c, input position of (kk, o)] or 0 in padding.
void im2col(const float* x, int64_t channels, const Window& w, float* col) {
    const int64_t O3 = w.out_size(), I3 = w.in_size();
    for (int64_t c = 0; c < channels; ++c) {
        const float* xc = x + c * I3;
        for (int64_t kd = 0; kd < w.k[0]; ++kd)
            for (int64_t kh = 0; kh < w.k[1]; ++kh)
                for (int64_t kw = 0; kw < w.k[2]; ++kw) {
                    float* row = col + ((c * w.k[0] + kd) * w.k[1] * w.k[2] + kh * w.k[2] + kw) * O3;
                    for (int64_t od = 0; od < w.out[0]; ++od) {
                        int64_t id = od * w.s[0] - w.pb[0] + kd * w.d[0];
                        for (int64_t oh = 0; oh < w.out[1]; ++oh) {
                            int64_t ih = oh * w.s[1] - w.pb[1] + kh * w.d[1];
                            float* r = row + (od * w.out[1] + oh) * w.out[2];
                            if (id < 0 || id >= w.in[0] || ih < 0 || ih >= w.in[1]) {
                                std::fill(r, r + w.out[2], 0.0f);
                                continue;
                            }
                            const float* xr = xc + (id * w.in[1] + ih) * w.in[2];
                            for (int64_t ow = 0; ow < w.out[2]; ++ow) {
                                int64_t iw = ow * w.s[2] - w.pb[2] + kw * w.d[2];
                                r[ow] = (iw >= 0 && iw < w.in[2]) ? xr[iw] : 0.0f;
                            }
                        }
                    }
                }
    }
}

bool is_pointwise(const Window& w) {
    for (int i = 0; i < 3; ++i)
        if (w.k[i] != 1 || w.s[i] != 1 || w.pb[i] != 0 || w.pe[i] != 0) return false;
    return true;
}

}  // namespace

// ---------------- Conv ----------------
static std::vector<OutInfo> infer_conv(const Node& n, std::span<const InValue> in, int) {
    require_floating(n, in);
    if (in.size() < 2 || !in[0].present || !in[1].present) fail(n, "needs inputs X and W");
    const InValue &x = in[0], &wt = in[1];
    if (!x.rank_known || !wt.rank_known) return {unknown_rank(x.type)};
    if (x.shape.size() < 3) fail(n, "input X must have rank >= 3, got " + shape_str(x.shape));
    if (wt.shape.size() != x.shape.size()) fail(n, "weight rank " + std::to_string(wt.shape.size()) + " differs from input rank " + std::to_string(x.shape.size()));
    const int64_t group = n.attr_int("group", 1);
    if (x.shape[1] >= 0 && wt.shape[1] >= 0 && x.shape[1] != wt.shape[1] * group)
        fail(n, "input has " + std::to_string(x.shape[1]) + " channels but weight " + shape_str(wt.shape) + " with group " + std::to_string(group) + " expects " + std::to_string(wt.shape[1] * group));
    if (wt.shape[0] >= 0 && wt.shape[0] % group != 0) fail(n, "output channels not divisible by group");
    if (in.size() > 2 && in[2].present && in[2].rank_known && (in[2].shape.size() != 1 || in[2].shape[0] != wt.shape[0]))
        fail(n, "bias shape " + shape_str(in[2].shape) + " does not match " + std::to_string(wt.shape[0]) + " output channels");
    Window w = make_window(n, spatial_of(x.shape), conv_kernel(n, wt.shape), false);
    Shape out{x.shape[0], wt.shape[0]};
    for (int i = 3 - w.spatial; i < 3; ++i) out.push_back(w.out[i]);
    return {OutInfo{x.type, out}};
}

static void compute_conv(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor &X = *in[0], &W = *in[1];
    const Tensor* B = in.size() > 2 ? in[2] : nullptr;
    Tensor& Y = out[0];
    const int64_t N = X.shape[0], C = X.shape[1], M = W.shape[0], G = n.attr_int("group", 1);
    const Window w = make_window(n, spatial_of(X.shape), conv_kernel(n, W.shape), false);
    const int64_t Cg = C / G, Mg = M / G, K3 = w.k_size(), I3 = w.in_size(), O3 = w.out_size();
    const int64_t Kdim = Cg * K3;
    const bool pointwise = is_pointwise(w);
    const int64_t jobs = N * G, blocks = row_blocks(Mg);
    // One image of one group (batch-1 models): the output row blocks in parallel over one im2col;
    // several: the jobs in parallel, each's blocks in turn. The same blocks either way.
    const bool split_rows = jobs == 1;
    std::vector<float> shared_col(split_rows && !pointwise ? size_t(Kdim * O3) : 0);
    const FloatGemmFn gemm = gemm_kernel();
#pragma omp parallel
    {
        std::vector<float> col(split_rows || pointwise ? 0 : size_t(Kdim * O3));
        auto run = [&](int64_t job, int64_t block, float* cols, bool fill) {
            const int64_t b = job / G, g = job % G;
            const float* xg = X.f.data() + (b * C + g * Cg) * I3;
            const float* src = xg;
            if (!pointwise) {
                if (fill) im2col(xg, Cg, w, cols);
                src = cols;
            }
            float* yg = Y.f.data() + (b * M + g * Mg) * O3;
            product_block(gemm, yg, {W.f.data() + g * Mg * Kdim, Kdim}, {src, O3}, Mg, Kdim, O3, block);
            if (B)
                for (int64_t m = block * kRowBlock; m < std::min(Mg, (block + 1) * kRowBlock); ++m) {
                    const float bias = B->f[size_t(g * Mg + m)];
                    for (float* y = yg + m * O3; y != yg + (m + 1) * O3; ++y) *y += bias;
                }
        };
        if (split_rows) {
#pragma omp single
            if (!pointwise) im2col(X.f.data(), Cg, w, shared_col.data());
#pragma omp for schedule(static)
            for (int64_t block = 0; block < blocks; ++block) run(0, block, shared_col.data(), false);
        } else {
#pragma omp for schedule(static)
            for (int64_t job = 0; job < jobs; ++job)
                for (int64_t block = 0; block < blocks; ++block) run(job, block, col.data(), block == 0);
        }
    }
}

// ---------------- ConvTranspose ----------------

static std::vector<OutInfo> infer_convtranspose(const Node& n, std::span<const InValue> in, int) {
    require_floating(n, in);
    if (in.size() < 2 || !in[0].present || !in[1].present) fail(n, "needs inputs X and W");
    const InValue &x = in[0], &wt = in[1];
    if (!x.rank_known || !wt.rank_known) return {unknown_rank(x.type)};
    if (x.shape.size() < 3 || wt.shape.size() != x.shape.size()) fail(n, "input and weight ranks are inconsistent");
    const int64_t group = n.attr_int("group", 1);
    if (x.shape[1] >= 0 && wt.shape[0] >= 0 && x.shape[1] != wt.shape[0])
        fail(n, "input has " + std::to_string(x.shape[1]) + " channels, weight expects " + std::to_string(wt.shape[0]));
    const Window g = convtranspose_window(n, x.shape, wt.shape);
    Shape out{x.shape[0], wt.shape[1] < 0 ? -1 : wt.shape[1] * group};
    for (int i = 3 - g.spatial; i < 3; ++i) out.push_back(g.out[i]);
    return {OutInfo{x.type, out}};
}

static void compute_convtranspose(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor &X = *in[0], &W = *in[1];
    const Tensor* B = in.size() > 2 ? in[2] : nullptr;
    Tensor& Y = out[0];
    const int64_t N = X.shape[0], C = X.shape[1], G = n.attr_int("group", 1);
    const int64_t Mg = W.shape[1], M = Mg * G, Cg = C / G;
    const Window w = convtranspose_window(n, X.shape, W.shape);
    const int64_t K3 = w.k_size(), I3 = w.in_size(), O3 = w.out_size();
    const FloatGemmFn gemm = gemm_kernel();
#pragma omp parallel
    {
        std::vector<float> col(size_t(Mg * K3 * I3));
#pragma omp for schedule(static)
        for (int64_t b = 0; b < N; ++b) {
            float* yb = Y.f.data() + b * M * O3;
            std::fill(yb, yb + M * O3, 0.0f);
            for (int64_t g = 0; g < G; ++g) {
                // col[Mg*K3 x I3] = Wgᵀ * Xg, Wg stored [Cg x Mg*K3].
                gemm(W.f.data() + g * Cg * Mg * K3, Mg * K3, true, X.f.data() + (b * C + g * Cg) * I3, I3, false,
                     col.data(), I3, Mg * K3, Cg, I3);
                // col2im: scatter every (m, kernel offset, input position) into the output.
                for (int64_t m = 0; m < Mg; ++m) {
                    float* ym = yb + (g * Mg + m) * O3;
                    for (int64_t kd = 0; kd < w.k[0]; ++kd)
                        for (int64_t kh = 0; kh < w.k[1]; ++kh)
                            for (int64_t kw = 0; kw < w.k[2]; ++kw) {
                                const float* row = col.data() + ((m * w.k[0] + kd) * w.k[1] * w.k[2] + kh * w.k[2] + kw) * I3;
                                for (int64_t id = 0; id < w.in[0]; ++id) {
                                    int64_t od = id * w.s[0] - w.pb[0] + kd * w.d[0];
                                    if (od < 0 || od >= w.out[0]) continue;
                                    for (int64_t ih = 0; ih < w.in[1]; ++ih) {
                                        int64_t oh = ih * w.s[1] - w.pb[1] + kh * w.d[1];
                                        if (oh < 0 || oh >= w.out[1]) continue;
                                        const float* r = row + (id * w.in[1] + ih) * w.in[2];
                                        float* yr = ym + (od * w.out[1] + oh) * w.out[2];
                                        for (int64_t iw = 0; iw < w.in[2]; ++iw) {
                                            int64_t ow = iw * w.s[2] - w.pb[2] + kw * w.d[2];
                                            if (ow >= 0 && ow < w.out[2]) yr[ow] += r[iw];
                                        }
                                    }
                                }
                            }
                }
            }
            if (B)
                for (int64_t m = 0; m < M; ++m) {
                    float* ym = yb + m * O3;
                    for (int64_t o = 0; o < O3; ++o) ym[o] += B->f[size_t(m)];
                }
        }
    }
}

// ---------------- Gemm ----------------
static std::vector<OutInfo> infer_gemm(const Node& n, std::span<const InValue> in, int) {
    require_floating(n, in);
    if (in.size() < 2 || !in[0].present || !in[1].present) fail(n, "needs inputs A and B");
    const InValue &a = in[0], &b = in[1];
    if (!a.rank_known || !b.rank_known) return {unknown_rank(a.type)};
    if (a.shape.size() != 2 || b.shape.size() != 2) fail(n, "A and B must be 2-D, got " + shape_str(a.shape) + " and " + shape_str(b.shape));
    const bool ta = n.attr_int("transA", 0), tb = n.attr_int("transB", 0);
    int64_t M = ta ? a.shape[1] : a.shape[0], Ka = ta ? a.shape[0] : a.shape[1];
    int64_t Kb = tb ? b.shape[1] : b.shape[0], N = tb ? b.shape[0] : b.shape[1];
    if (Ka >= 0 && Kb >= 0 && Ka != Kb)
        fail(n, "inner dimensions differ: A " + shape_str(a.shape) + (ta ? "ᵀ" : "") + " and B " + shape_str(b.shape) + (tb ? "ᵀ" : ""));
    Shape out{M, N};
    if (in.size() > 2 && in[2].present && in[2].rank_known) broadcast(n, out, in[2].shape);
    return {OutInfo{a.type, out}};
}

static void compute_gemm(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor &A = *in[0], &B = *in[1];
    const Tensor* C = in.size() > 2 ? in[2] : nullptr;
    Tensor& Y = out[0];
    const bool ta = n.attr_int("transA", 0), tb = n.attr_int("transB", 0);
    const float alpha = n.attr_float("alpha", 1.0f), beta = n.attr_float("beta", 1.0f);
    MapM Ym(Y.f.data(), Y.shape[0], Y.shape[1]);
    const int64_t M = Y.shape[0], N = Y.shape[1], K = ta ? A.shape[0] : A.shape[1];
    const Operand Aop{A.f.data(), A.shape[1], ta}, Bop{B.f.data(), B.shape[1], tb};
    const FloatGemmFn gemm = gemm_kernel();
#pragma omp parallel for schedule(static)
    for (int64_t block = 0; block < row_blocks(M); ++block) product_block(gemm, Ym.data(), Aop, Bop, M, K, N, block);
    if (alpha != 1.0f) Ym *= alpha;
    if (C && beta != 0.0f) {
        const int64_t rows = Y.shape[0], cols = Y.shape[1];
        const Shape& cs = C->shape;
        // C broadcasts to [M, N] from [], [N], [1, N], [M, 1], [M, N].
        int64_t cr = cs.size() == 2 ? cs[0] : 1, cc = cs.empty() ? 1 : cs.back();
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c)
                Ym(r, c) += beta * float(C->get((cr == 1 ? 0 : r) * cc + (cc == 1 ? 0 : c)));
    }
}

// ---------------- MatMul ----------------
static std::vector<OutInfo> infer_matmul(const Node& n, std::span<const InValue> in, int) {
    require_floating(n, in);
    if (in.size() < 2 || !in[0].present || !in[1].present) fail(n, "needs two inputs");
    const InValue &a = in[0], &b = in[1];
    if (!a.rank_known || !b.rank_known) return {unknown_rank(a.type)};
    if (a.shape.empty() || b.shape.empty()) fail(n, "inputs must have rank >= 1");
    Shape as = a.shape, bs = b.shape;
    const bool a1 = as.size() == 1, b1 = bs.size() == 1;
    if (a1) as.insert(as.begin(), 1);
    if (b1) bs.push_back(1);
    int64_t K1 = as.back(), K2 = bs[bs.size() - 2];
    if (K1 >= 0 && K2 >= 0 && K1 != K2)
        fail(n, "inner dimensions differ: " + shape_str(a.shape) + " x " + shape_str(b.shape));
    Shape batch = broadcast(n, Shape(as.begin(), as.end() - 2), Shape(bs.begin(), bs.end() - 2));
    Shape out = batch;
    if (!a1) out.push_back(as[as.size() - 2]);
    if (!b1) out.push_back(bs.back());
    return {OutInfo{a.type, out}};
}

static void compute_matmul(const Node& n, std::span<const Tensor* const> in, std::span<Tensor> out, int) {
    const Tensor &A = *in[0], &B = *in[1];
    Tensor& Y = out[0];
    Shape as = A.shape, bs = B.shape;
    if (as.size() == 1) as.insert(as.begin(), 1);
    if (bs.size() == 1) bs.push_back(1);
    const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
    Shape abatch(as.begin(), as.end() - 2), bbatch(bs.begin(), bs.end() - 2);
    Shape batch = broadcast(n, abatch, bbatch);
    const int64_t nb = shape_numel(batch);
    const size_t r = batch.size();
    auto offset = [&](const Shape& s, int64_t flat) {
        // Index into a broadcast operand's batch from the output batch index.
        int64_t off = 0, stride = 1;
        for (size_t d = 0; d < s.size(); ++d) {
            size_t bd = r - 1 - d, sd = s.size() - 1 - d;
            int64_t coord = flat;
            for (size_t e = r - 1; e > bd; --e) coord /= batch[e];
            coord %= batch[bd];
            if (s[sd] != 1) off += coord * stride;
            stride *= s[sd];
        }
        return off;
    };
    const int64_t blocks = row_blocks(M);
    const FloatGemmFn gemm = gemm_kernel();
#pragma omp parallel for schedule(static)
    for (int64_t task = 0; task < nb * blocks; ++task) {
        const int64_t bi = task / blocks;
        product_block(gemm, Y.f.data() + bi * M * N, {A.f.data() + offset(abatch, bi) * M * K, K},
                      {B.f.data() + offset(bbatch, bi) * K * N, N}, M, K, N, task % blocks);
    }
}

static std::string check_float_inputs(const Node& n, int) {
    (void)n;
    return "";
}


void register_products(OpDef* t) {
    t[size_t(OpKind::Conv)] = {infer_conv, compute_conv, check_float_inputs};
    t[size_t(OpKind::ConvTranspose)] = {infer_convtranspose, compute_convtranspose, check_float_inputs};
    t[size_t(OpKind::Gemm)] = {infer_gemm, compute_gemm, check_float_inputs};
    t[size_t(OpKind::MatMul)] = {infer_matmul, compute_matmul, check_float_inputs};
}

}  // namespace cim::kern
