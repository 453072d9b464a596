#include <cim/error.h>
#include <cim/sweep/comm.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstdio>

#ifdef CIM_HAVE_MPI
#include <mpi.h>
#endif

namespace cim::sweep {

bool Comm::built_with_mpi() {
#ifdef CIM_HAVE_MPI
    return true;
#else
    return false;
#endif
}

bool Comm::launched_by_mpi() {
    // Open MPI, MPICH / Hydra, PMIx-based launchers (Slurm, PRRTE), Intel MPI, MVAPICH.
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS",
                            "MV2_COMM_WORLD_SIZE"})
        if (const char* v = std::getenv(var); v && *v) return true;
    return false;
}

Comm::Comm(int* argc, char*** argv) {
#ifdef CIM_HAVE_MPI
    if (!launched_by_mpi()) return;
    int provided = 0;
    // Only the main thread calls MPI; OpenMP threads evaluate points in between.
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    mpi_ = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
#else
    (void)argc;
    (void)argv;
#endif
}

Comm::~Comm() {
#ifdef CIM_HAVE_MPI
    if (mpi_) MPI_Finalize();
#endif
}

void Comm::broadcast(std::string& data) const {
#ifdef CIM_HAVE_MPI
    if (!mpi_ || size_ == 1) return;
    uint64_t n = data.size();
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    data.resize(size_t(n));
    // Chunks below INT_MAX bytes.
    for (uint64_t off = 0; off < n; off += (1u << 30)) {
        const int len = int(std::min<uint64_t>(n - off, 1u << 30));
        MPI_Bcast(data.data() + off, len, MPI_CHAR, 0, MPI_COMM_WORLD);
    }
#else
    (void)data;
#endif
}

std::vector<std::string> Comm::gather(const std::string& mine) const {
    std::vector<std::string> out;
#ifdef CIM_HAVE_MPI
    if (mpi_ && size_ > 1) {
        CIM_INTERNAL_CHECK(mine.size() < (1u << 30), "MPI gather of more than 1 GiB per rank");
        int len = int(mine.size());
        std::vector<int> lens(size_t(size_), 0), displs(size_t(size_), 0);
        MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
        std::string all;
        if (rank_ == 0) {
            int64_t total = 0;
            for (int r = 0; r < size_; ++r) {
                displs[size_t(r)] = int(total);
                total += lens[size_t(r)];
            }
            CIM_INTERNAL_CHECK(total < (int64_t(1) << 31), "MPI gather of more than 2 GiB");
            all.resize(size_t(total));
        }
        MPI_Gatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
        if (rank_ == 0)
            for (int r = 0; r < size_; ++r) out.push_back(all.substr(size_t(displs[size_t(r)]), size_t(lens[size_t(r)])));
        return out;
    }
#endif
    out.push_back(mine);
    return out;
}

void Comm::abort(int code) const {
#ifdef CIM_HAVE_MPI
    if (mpi_) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    std::fflush(nullptr);
    std::_Exit(code);
}

}  // namespace cim::sweep
