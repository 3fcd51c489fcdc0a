#pragma once
// KILN_HD marks the functions written once for host and device: compiled by nvcc as
// __host__ __device__, by the host compiler as plain inline functions (so that CPU loops
// calling them per element still vectorise). Headers using it are plain C++17.
#ifdef __CUDACC__
#define KILN_HD __host__ __device__ __forceinline__
#else
#define KILN_HD inline
#endif
