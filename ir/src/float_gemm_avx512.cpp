// The executor's float GEMM built for AVX-512 F/BW/DQ/VL + FMA (ir/CMakeLists.txt); chosen at run time by float_gemm.cpp.
#define CIM_FLOAT_GEMM_FN float_gemm_avx512
#define CIM_FLOAT_GEMM_EIGEN cim_eigen_avx512
#include "float_gemm_eigen.inc"
