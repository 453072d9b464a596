// The executor's float GEMM built for AVX2 + FMA (-mavx2 -mfma, ir/CMakeLists.txt); chosen at run time by float_gemm.cpp.
#define CIM_FLOAT_GEMM_FN float_gemm_avx2
#define CIM_FLOAT_GEMM_EIGEN cim_eigen_avx2
#include "float_gemm_eigen.inc"
