// The executor's float GEMM built for the baseline x86-64 target (SSE2): any CPU; chosen at run time by float_gemm.cpp.
#define CIM_FLOAT_GEMM_FN float_gemm_baseline
#define CIM_FLOAT_GEMM_EIGEN cim_eigen_baseline
#include "float_gemm_eigen.inc"
