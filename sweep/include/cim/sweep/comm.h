// The processes of a sweep: one, or the ranks of an MPI job (mpirun -np N cim-sweep ...).
// MPI is initialized only when the program was built with it (CIM_WITH_MPI) and was
// started by an MPI launcher; otherwise this is a single process of rank 0.
#pragma once

#include <string>
#include <vector>

namespace cim::sweep {

class Comm {
public:
    Comm(int* argc, char*** argv);
    ~Comm();  // finalizes MPI
    Comm(const Comm&) = delete;
    Comm& operator=(const Comm&) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }
    bool root() const { return rank_ == 0; }

    // Rank 0's `data` to every rank.
    void broadcast(std::string& data) const;
    // Every rank's `mine`, in rank order, at rank 0 (empty elsewhere).
    std::vector<std::string> gather(const std::string& mine) const;
    [[noreturn]] void abort(int code) const;

    static bool built_with_mpi();
    // True when an MPI launcher started this process (its environment says so).
    static bool launched_by_mpi();

private:
    int rank_ = 0, size_ = 1;
    bool mpi_ = false;
};

}  // namespace cim::sweep
