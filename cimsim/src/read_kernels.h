// The float side of a read (internal to cim_sim): counter-based random streams, the column sums of
// conductance rows (cells with programming variation), and the ADC conversion that every kernel's
// column sums go through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace cim::sim::detail {

uint64_t splitmix(uint64_t& s);

// Every random stream's key: one mixing function of the stream's coordinates, splitmix64 chained
// over them (order matters), so that distinct coordinates give unrelated streams without packing
// numbers into bit fields. Coordinates: (seed, instance, layer, group, purpose[, chunk]).
enum StreamPurpose : uint64_t { kProgramming = 1, kReads = 2 };
uint64_t stream_key(std::initializer_list<uint64_t> coordinates);

// n (even) standard normals from the counter-based stream (key, first..first+n).
void normals_at(uint64_t key, uint64_t first, float* out, int64_t n);

// A counter-based Gaussian stream: the same key gives the same numbers on any platform
// and thread count (std::normal_distribution is not specified bit for bit).
class GaussStream {
public:
    explicit GaussStream(uint64_t key) : state_(key) {}
    double next();
    double uniform();
    // n standard normals at once (vectorized, see normals_at).
    // `out` must have room for n rounded up to even.
    void fill(float* out, int64_t n) {
        n += n & 1;
        normals_at(state_, counter_, out, n);
        counter_ += uint64_t(n);
    }
    // fill() continues from normal number `counter` of the stream: reads placed by their coordinates
    // draw the same numbers in any order.
    void seek(uint64_t counter) { counter_ = counter; }

private:
    uint64_t state_;
    uint64_t counter_ = 0;
};

// Conductances (K x J, row-major) in column tiles of 64 floats or 32 doubles (256 bytes),
// [tile][row][column in tile], the last tile padded with zeros: a read's tile of rows is contiguous.
std::vector<float> tile_conductances(const std::vector<float>& G, int64_t K, int64_t J);
std::vector<double> tile_conductances(const std::vector<double>& G, int64_t K, int64_t J);
// Whether plans may choose the fixed-point rows kernel (tests compare it with the float rows by
// planning the same layer both ways).
bool fixed_point_allowed();
void allow_fixed_point(bool on);
// Conductances (K x J, row-major) rounded to round(G x scale) in int16, in column tiles of 128.
std::vector<int16_t> tile_fixed_point(const std::vector<float>& G, int64_t K, int64_t J, float scale);
// Row-major float conductances back from fixed-point tiles (times inv_scale).
std::vector<float> untile_fixed_point(const std::vector<int16_t>& tiles, int64_t K, int64_t J, float inv_scale);

// For V vectors (vector v's codes of rows r0.. at x + v * x_stride) and `rows` rows from r0 of the
// tiled conductances Gt (K rows): S[(v * planes + p) * J + j] = sum over rows k of plane_p(x[k]) *
// G[k][j], adding the rows whose plane value is set in row order (work proportional to the set input
// bits, as the charge on a bit line), one column tile at a time for all the block's vectors and
// planes (the tile's sums in registers, its rows in L1). sq[v * planes + p] = sum_k plane_p(x[k])^2
// (for the read-noise variance). With sign_magnitude (bipolar inputs) plane_p(x) = sign(x) x plane p
// of |x|: each plane driven with the input's polarity. Float (column sums below 2^24 are exact) and
// double (larger sums, e.g. multi-bit inputs on 8-bit cells).
// `scratch` holds the block's row terms (reserve_rows_scratch sizes it once for the largest block, so
// that a call allocates nothing).
template <class T>
struct RowTerm {  // a row of one (vector, plane) read with a nonzero plane value: row k adds f x G[k]
    int64_t k;
    T f;
};
// Column tiles of 256 bytes (64 floats, 32 doubles: four AVX-512 registers, four independent addition
// chains): the tile's sums stay in registers while the read's rows go by, and a read group's tile of
// G (128 rows x 256 bytes) stays in L1 across the block's vectors and planes.
template <class T>
constexpr int64_t kTile = 256 / int64_t(sizeof(T));
template <class T>
struct RowsScratch {
    std::vector<RowTerm<T>> terms;  // [v][p][up to rows]
    std::vector<int64_t> count;     // [v][p]
    std::vector<int64_t> dense;     // the dense reads' v * planes + p
    std::vector<T> dense_f;         // [dense read][row]: its plane values, zeros included
    std::vector<T> partial;         // [dense read][column in tile]: sums so far
};
template <class T>
void reserve_rows_scratch(RowsScratch<T>& s, int64_t V, int planes, int64_t rows) {
    const size_t reads = size_t(V) * size_t(planes);
    s.terms.reserve(reads * size_t(rows));
    s.count.reserve(reads);
    s.dense.reserve(reads);
    s.dense_f.reserve(reads * size_t(rows));
    s.partial.reserve(reads * size_t(kTile<T>));
}
void plane_sums(const float* Gt, int64_t J, int64_t K, int64_t r0, const int32_t* x, int64_t x_stride, int64_t V, int64_t rows,
                int planes, int dac_bits, bool sign_magnitude, float* S, float* sq, RowsScratch<float>& scratch);
// The same on conductances in 16-bit fixed point (Gt: tile_fixed_point's), 1-bit planes only (plane
// values 0 and +-1), the sums in int16 (no overflow: tile_fixed_point bounds a read's sum), written
// to S as float times inv_scale.
void plane_sums(const int16_t* Gt, int64_t J, int64_t K, int64_t r0, const int32_t* x, int64_t x_stride, int64_t V, int64_t rows,
                int planes, int dac_bits, bool sign_magnitude, float inv_scale, float* S, float* sq, RowsScratch<int16_t>& scratch);
void plane_sums(const double* Gt, int64_t J, int64_t K, int64_t r0, const int32_t* x, int64_t x_stride, int64_t V, int64_t rows,
                int planes, int dac_bits, bool sign_magnitude, double* S, float* sq, RowsScratch<double>& scratch);

// One plane's reads through the ADC into per-column accumulators:
// acc[j] += lsb_w[j] * plane_w * clamp(rint(s[j] * inv_lsb[j] + offset + sigma_j * z[j]), lo, top),
// lsb_w the column's LSB times its factor, plane_w a power of two (so the products are exact: the
// same as a stored lsb_w[j] * plane_w).
// Read noise (read_sigma, in column-sum units) and ADC noise (adc_sigma, in LSB) are independent
// Gaussians, so their sum is one Gaussian of sigma_j = sqrt((read_sigma * inv_lsb[j])^2 + adc_sigma^2):
// one draw z[j] per conversion (z null: no noise). IR drop (ir_drop > 0) bends each sum first.
// Returns the number of clipped conversions (above top, or below lo when the ADC is bipolar: lo < 0).
int64_t convert_plane(const float* s, int64_t J, const float* inv_lsb, const float* lsb_w, float plane_w, float lo, float top, float offset,
                      const float* z, float read_sigma, float adc_sigma, float ir_drop, float inv_full, double* acc);
int64_t convert_plane(const double* s, int64_t J, const float* inv_lsb, const float* lsb_w, float plane_w, float lo, float top, float offset,
                      const float* z, float read_sigma, float adc_sigma, float ir_drop, float inv_full, double* acc);
// No ADC (digital macros): acc[j] += s[j] * w[j].
void accumulate_plane(const float* s, int64_t J, const float* w, double* acc);
void accumulate_plane(const double* s, int64_t J, const float* w, double* acc);

// The popcount kernel's integer sums (packed_digits.h) as conductance sums, rounded once:
// out[j] = drift x (g_off x (P - 2 pneg[j]) + sums[j]) (pneg null: no negative digits).
void conductance_sums(const int32_t* sums, const int32_t* pneg, int64_t J, double P, double g_off, double drift, float* out);
void conductance_sums(const int32_t* sums, const int32_t* pneg, int64_t J, double P, double g_off, double drift, double* out);

}  // namespace cim::sim::detail
