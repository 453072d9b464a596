// Running a sweep: the search proposes points, OpenMP threads (and MPI ranks)
// evaluate them, rank 0 appends each row to the CSV as it arrives, and at the
// end rewrites the file in point order with the Pareto front marked.
#include "internal.h"

#include <cim/csv.h>
#include <cim/error.h>
#include <cim/output_file.h>

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>

namespace cim::sweep {

namespace fs = std::filesystem;

namespace {

std::string join_csv(const std::vector<std::string>& fields) {
    std::string line;
    for (size_t i = 0; i < fields.size(); ++i) {
        if (i) line += ',';
        append_csv_field(line, fields[i]);
    }
    return line + "\n";
}

// A row read back as a result (for Search::tell).
PointResult result_of(const SweepSpec& spec, const std::vector<std::string>& f) {
    PointResult r;
    const size_t status_col = 2 + spec.axes.size();
    r.status = f[status_col];
    const size_t metrics = metric_names(spec).size();
    for (size_t k = 0; k < metrics; ++k) {
        const std::string& t = f[status_col + 1 + k];
        if (t.empty()) r.metrics.push_back(std::nullopt);
        else r.metrics.push_back(std::strtod(t.c_str(), nullptr));
    }
    r.note = f.back();
    return r;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot read");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Rank 0: checks an existing CSV against the sweep and returns the IDs it holds
// (and, through `lines`, the parsed rows); drops a torn last line.
std::vector<std::string> resume_rows(const std::string& path, const std::string& header, const SweepSpec& spec,
                                     const std::unordered_map<std::string, int64_t>& index_of,
                                     std::vector<std::vector<std::string>>* rows) {
    std::string text = read_file(path);
    if (text.empty()) return {};
    const size_t last_nl = text.rfind('\n');
    if (last_nl == std::string::npos) {  // not even a whole header: start again
        fs::resize_file(path, 0);
        return {};
    }
    if (last_nl + 1 != text.size()) {
        // The run was killed while writing a row: drop its start.
        fs::resize_file(path, last_nl + 1);
        text.resize(last_nl + 1);
    }
    const size_t first_nl = text.find('\n');
    if (text.substr(0, first_nl + 1) != header)
        throw InputError(fmt::format("{}: its columns differ from this sweep's; it was written by another sweep (expected the header\n  {}found\n  {})"
                                     "write to another --out file",
                                     path, header, text.substr(0, first_nl + 1)));
    const size_t columns = csv_columns(spec).size();
    std::vector<std::string> ids;
    std::unordered_map<std::string, int> seen;
    int64_t foreign = 0;
    std::string first_foreign;
    size_t line_no = 1;
    for (size_t pos = first_nl + 1; pos < text.size();) {
        const size_t nl = text.find('\n', pos);
        const std::string_view line(text.data() + pos, nl - pos);
        ++line_no;
        pos = nl + 1;
        auto fields = split_csv_line(line);
        if (fields.size() != columns)
            throw InputError(fmt::format("{}:{}: expected {} fields, found {}; the file is not a cim-sweep CSV of this sweep", path,
                                         line_no, columns, fields.size()));
        if (!index_of.count(fields[0])) {
            if (!foreign++) first_foreign = fmt::format("line {}, id {}", line_no, fields[0]);
            continue;
        }
        if (seen[fields[0]]++) continue;
        ids.push_back(fields[0]);
        if (rows) rows->push_back(std::move(fields));
    }
    if (foreign)
        throw InputError(fmt::format("{}: {} row(s) (first at {}) are not points of this sweep: the file was written by another sweep "
                                     "or with other settings (device, set, metrics); write to another --out file",
                                     path, foreign, first_foreign));
    return ids;
}

}  // namespace

RunSummary run_sweep(const SweepSpec& spec, const PointSet& ps, const RunOptions& opt, const Comm& comm) {
    const auto t0 = std::chrono::steady_clock::now();
    RunSummary sum;
    sum.points = int64_t(ps.points.size());
    sum.columns = csv_columns(spec);
    const std::string header = join_csv(sum.columns);
    std::unordered_map<std::string, int64_t> index_of;
    for (const auto& p : ps.points) index_of.emplace(p.id, p.index);
    auto search = make_list_search(ps);

    // ---- rank 0 opens the CSV; every rank learns the points already reported ----
    AppendFile csv;
    std::string shared;
    if (comm.root()) {
        try {
            std::vector<std::string> ids;
            std::error_code ec;
            const bool exists = fs::exists(opt.out, ec);
            if (exists && opt.resume) {
                ids = resume_rows(opt.out, header, spec, index_of, nullptr);
                const bool has_header = fs::file_size(opt.out, ec) > 0;
                csv.open(opt.out, has_header, "sweep CSV");
                if (!has_header) csv.append(header);
            } else {
                if (exists && !opt.force && fs::is_regular_file(opt.out, ec) && fs::file_size(opt.out, ec) > 0)
                    throw InputError(opt.out + ": the file exists; --resume continues the sweep it holds, --force overwrites it");
                csv.open(opt.out, false, "sweep CSV");
                csv.append(header);
            }
            shared = "ok\n";
            for (const auto& id : ids) shared += id + "\n";
        } catch (const std::exception& e) {  // InputError, or the file system's own (e.g. a read-only folder)
            shared = std::string("error\n") + e.what();
        }
    }
    comm.broadcast(shared);
    if (shared.rfind("error\n", 0) == 0) throw InputError(shared.substr(6));
    for (size_t pos = 3; pos < shared.size();) {
        const size_t nl = shared.find('\n', pos);
        search->reported(shared.substr(pos, nl - pos));
        ++sum.resumed;
        pos = nl + 1;
    }

    // ---- evaluate ----
    const int64_t pending = sum.points - sum.resumed;
    if (pending > 0) {
        Evaluator ev(spec, opt.eval);  // fails alike on every rank (models, dataset)
        try {
            const int threads = opt.threads > 0 ? opt.threads : omp_get_max_threads();
            // One block for a single process (OpenMP balances it); with MPI, blocks small
            // enough that rank 0 writes the others' rows every little while.
            const size_t per_rank = size_t(threads) * (spec.accuracy ? 1 : 512);
            const size_t block = comm.size() == 1 ? std::numeric_limits<size_t>::max() : per_rank * size_t(comm.size());
            std::mutex write_mutex;
            int64_t done = 0;
            auto wrote = [&] {
                ++done;
                if (opt.progress) opt.progress(done, pending);
            };
            for (;;) {
                // Rank 0 asks the search; every rank gets the batch.
                std::vector<int64_t> batch;
                std::string blob;
                if (comm.root()) {
                    batch = search->ask(block);
                    blob.resize(batch.size() * sizeof(int64_t));
                    if (!batch.empty()) std::memcpy(blob.data(), batch.data(), blob.size());
                }
                comm.broadcast(blob);
                if (!comm.root()) {
                    batch.resize(blob.size() / sizeof(int64_t));
                    if (!batch.empty()) std::memcpy(batch.data(), blob.data(), blob.size());
                }
                if (batch.empty()) break;
                std::vector<int64_t> mine;
                for (size_t j = size_t(comm.rank()); j < batch.size(); j += size_t(comm.size())) mine.push_back(batch[j]);

                std::vector<std::string> rows(mine.size());
                std::exception_ptr error;
                std::mutex error_mutex;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
                for (int64_t j = 0; j < int64_t(mine.size()); ++j) {
                    {
                        std::lock_guard<std::mutex> lock(error_mutex);
                        if (error) continue;
                    }
                    try {
                        const Point& p = ps.points[size_t(mine[size_t(j)])];
                        const PointResult r = ev.evaluate(p);
                        std::string row = csv_row(spec, p, r);
                        if (comm.root()) {
                            std::lock_guard<std::mutex> lock(write_mutex);
                            csv.append(row);
                            search->tell(p.index, r);
                            wrote();
                        } else {
                            rows[size_t(j)] = std::move(row);
                        }
                    } catch (...) {
                        std::lock_guard<std::mutex> lock(error_mutex);
                        if (!error) error = std::current_exception();
                    }
                }
                if (error) std::rethrow_exception(error);
                if (comm.size() > 1) {
                    std::string mine_rows;
                    for (size_t j = 0; j < rows.size(); ++j) mine_rows += fmt::format("{}\t", mine[j]) + rows[j];
                    const auto all = comm.gather(mine_rows);
                    for (size_t r = 1; r < all.size(); ++r) {
                        const std::string& s = all[r];
                        for (size_t pos = 0; pos < s.size();) {
                            const size_t tab = s.find('\t', pos), nl = s.find('\n', tab);
                            const int64_t index = std::stoll(s.substr(pos, tab - pos));
                            const std::string row = s.substr(tab + 1, nl - tab);
                            csv.append(row);
                            search->tell(index, result_of(spec, split_csv_line(row)));
                            wrote();
                            pos = nl + 1;
                        }
                    }
                }
            }
            sum.evaluated = done;
            sum.mappings = ev.stats().mappings;
        } catch (const std::exception& e) {
            // One rank failed while the others may wait for it: the caller ends the job.
            if (comm.size() > 1) throw RankError(e.what(), dynamic_cast<const InputError*>(&e) ? 2 : 3);
            throw;
        }
    }

    // ---- rank 0: the final file, in point order, with the Pareto front ----
    if (comm.root()) {
        csv.close();
        std::vector<std::vector<std::string>> rows;
        resume_rows(opt.out, header, spec, index_of, &rows);
        std::sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) { return index_of.at(a[0]) < index_of.at(b[0]); });
        const size_t status_col = 2 + spec.axes.size();
        const auto metrics = metric_names(spec);
        std::vector<size_t> obj_col;
        for (const auto& o : spec.pareto)
            obj_col.push_back(status_col + 1 + size_t(std::find(metrics.begin(), metrics.end(), o.metric) - metrics.begin()));
        const size_t pareto_col = sum.columns.size() - 2;
        // A front per model (and per value of the pareto.per axes).
        std::map<std::string, std::vector<size_t>> groups;
        for (size_t i = 0; i < rows.size(); ++i) {
            rows[i][pareto_col] = "";
            if (rows[i][status_col] != "ok") continue;
            std::string g = rows[i][1];
            for (int k : spec.pareto_per) g += "\n" + rows[i][2 + size_t(k)];
            groups[g].push_back(i);
        }
        for (const auto& [group, members] : groups) {
            std::vector<std::vector<double>> values;
            for (size_t i : members) {
                std::vector<double> v;
                for (size_t k = 0; k < obj_col.size(); ++k) {
                    const std::string& t = rows[i][obj_col[k]];
                    const double x = t.empty() ? std::numeric_limits<double>::quiet_NaN() : std::strtod(t.c_str(), nullptr);
                    v.push_back(spec.pareto[k].maximize ? -x : x);
                }
                values.push_back(std::move(v));
            }
            const auto front = pareto_front(values);
            for (size_t j = 0; j < members.size(); ++j) {
                rows[members[j]][pareto_col] = front[j] ? "1" : "0";
                sum.on_front += front[j];
            }
        }
        std::string text = header;
        for (const auto& r : rows) {
            text += join_csv(r);
            sum.ok += r[status_col] == "ok";
        }
        const std::string tmp = opt.out + ".tmp";
        write_output_file(tmp, text, "sweep CSV");
        std::error_code ec;
        fs::rename(tmp, opt.out, ec);
        if (ec) throw InputError(opt.out + ": cannot replace it with " + tmp + " (" + ec.message() + ")");
        sum.rows = std::move(rows);
    }
    sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return sum;
}

}  // namespace cim::sweep
