#include <cim/output_file.h>

#include <cim/error.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <unistd.h>

namespace cim {

namespace {

InputError write_error(const std::string& path, const std::string& what, const std::string& doing, int err) {
    std::string hint;
    if (err == ENOENT) hint = "; does its folder exist?";
    else if (err == EACCES || err == EROFS || err == EPERM) hint = "; choose a place you can write to";
    else if (err == ENOSPC || err == EDQUOT) hint = "; free some space or write elsewhere";
    return InputError(path + ": cannot " + doing + " the " + what + " (" + std::strerror(err) + ")" + hint);
}

int open_for_write(const std::string& path, bool append, const std::string& what) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": is a folder; the " + what + " needs a file name");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0) throw write_error(path, what, "create", errno);
    return fd;
}

void write_all(int fd, std::string_view text, const std::string& path, const std::string& what) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw write_error(path, what, "write", n < 0 ? errno : ENOSPC);
        text.remove_prefix(size_t(n));
    }
}

}  // namespace

void write_output_file(const std::string& path, std::string_view text, const std::string& what) {
    AppendFile f;
    f.open(path, false, what);
    f.append(text);
    f.close();
}

void create_output_folder(const std::string& path, const std::string& what) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return;
    if (std::filesystem::exists(path, ec)) throw InputError(path + ": exists and is not a folder; the " + what + " needs a folder");
    std::filesystem::create_directories(path, ec);
    if (ec) throw InputError(path + ": cannot create the " + what + " (" + ec.message() + ")");
}

AppendFile::~AppendFile() {
    if (fd_ >= 0) ::close(fd_);
}

void AppendFile::open(const std::string& path, bool append, const std::string& what) {
    if (fd_ >= 0) close();
    fd_ = open_for_write(path, append, what);
    path_ = path;
    what_ = what;
}

void AppendFile::append(std::string_view lines) { write_all(fd_, lines, path_, what_); }

void AppendFile::close() {
    if (fd_ < 0) return;
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw write_error(path_, what_, "write", errno);
}

}  // namespace cim
