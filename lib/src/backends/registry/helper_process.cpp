// A credential helper as a child process: pipes for stdin, stdout and stderr, poll() with a
// deadline, SIGKILL to its process group when it overstays or overflows.

#include "backends/registry/helper_process.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <optional>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace oncall::registry::detail {
namespace {

using Clock = std::chrono::steady_clock;

void close_fd(int& fd) {
    if (fd >= 0) {
        ::close(fd);
        fd = -1;
    }
}

// write() to a pipe whose reader is gone raises SIGPIPE, which would end oncall: block it in
// this thread for the call and discard one that became pending.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
    sigset_t pipe_only;
    sigset_t old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    const ssize_t w = ::write(fd, data, size);
    const int saved = errno;
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
    return w;
}

} // namespace

Result<HelperOutput> run_helper(const std::vector<std::string>& argv, const std::string& input,
                                std::chrono::milliseconds timeout, std::size_t max_output) {
    if (argv.empty()) {
        return make_error(Errc::internal, "run_helper: no program");
    }
    int in_pipe[2] = {-1, -1};
    int out_pipe[2] = {-1, -1};
    int err_pipe[2] = {-1, -1};
    int exec_pipe[2] = {-1, -1}; // reports a failed exec (errno) to the parent; closed on exec
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 ||
        ::pipe2(err_pipe, O_CLOEXEC) != 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
        const int saved = errno;
        for (int* p : {in_pipe, out_pipe, err_pipe, exec_pipe}) {
            close_fd(p[0]);
            close_fd(p[1]);
        }
        return make_error(Errc::io,
                          fmt::format("cannot run {}: pipe: {}", argv[0], std::strerror(saved)));
    }
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);

    const pid_t pid = ::fork();
    if (pid < 0) {
        const int saved = errno;
        for (int* p : {in_pipe, out_pipe, err_pipe, exec_pipe}) {
            close_fd(p[0]);
            close_fd(p[1]);
        }
        return make_error(Errc::io,
                          fmt::format("cannot run {}: fork: {}", argv[0], std::strerror(saved)));
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls from here on.
        ::setpgid(0, 0);
        ::dup2(in_pipe[0], 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::signal(SIGPIPE, SIG_DFL);
        ::execvp(args[0], args.data());
        const int saved = errno;
        [[maybe_unused]] auto ignored = ::write(exec_pipe[1], &saved, sizeof saved);
        ::_exit(127);
    }
    ::setpgid(pid, pid);
    close_fd(in_pipe[0]);
    close_fd(out_pipe[1]);
    close_fd(err_pipe[1]);
    close_fd(exec_pipe[1]);

    int exec_errno = 0;
    if (::read(exec_pipe[0], &exec_errno, sizeof exec_errno) !=
        static_cast<ssize_t>(sizeof exec_errno)) {
        exec_errno = 0;
    }
    close_fd(exec_pipe[0]);

    HelperOutput output;
    std::optional<Error> failure;
    if (exec_errno != 0) {
        failure = make_error(
            exec_errno == ENOENT ? Errc::not_found : Errc::io,
            fmt::format("{} could not be started: {}", argv[0], std::strerror(exec_errno)));
    }
    std::size_t written = 0;
    if (input.empty() || failure) {
        close_fd(in_pipe[1]);
    } else {
        ::fcntl(in_pipe[1], F_SETFL, ::fcntl(in_pipe[1], F_GETFL) | O_NONBLOCK);
    }
    const auto deadline = Clock::now() + timeout;
    while (!failure && (out_pipe[0] >= 0 || err_pipe[0] >= 0)) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            failure = make_error(Errc::timeout,
                                 fmt::format("{} did not finish within {} ms and was stopped",
                                             argv[0], timeout.count()));
            break;
        }
        pollfd fds[3];
        nfds_t n = 0;
        for (const int fd : {out_pipe[0], err_pipe[0]}) {
            if (fd >= 0) {
                fds[n++] = pollfd{fd, POLLIN, 0};
            }
        }
        if (in_pipe[1] >= 0) {
            fds[n++] = pollfd{in_pipe[1], POLLOUT, 0};
        }
        const int ready = ::poll(fds, n, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        for (nfds_t i = 0; i < n; ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            if (fds[i].fd == in_pipe[1]) {
                const ssize_t w = write_without_sigpipe(in_pipe[1], input.data() + written,
                                                        input.size() - written);
                if (w > 0) {
                    written += static_cast<std::size_t>(w);
                }
                if (w < 0 && errno != EAGAIN) {
                    written = input.size(); // the helper closed stdin; it may still answer
                }
                if (written >= input.size()) {
                    close_fd(in_pipe[1]);
                }
                continue;
            }
            const bool is_out = fds[i].fd == out_pipe[0];
            std::string& sink = is_out ? output.out : output.err;
            char buffer[4096];
            const ssize_t r = ::read(fds[i].fd, buffer, sizeof buffer);
            if (r > 0) {
                if (sink.size() + static_cast<std::size_t>(r) > max_output) {
                    failure =
                        make_error(Errc::too_large,
                                   fmt::format("{} printed more than {} bytes and was stopped",
                                               argv[0], max_output));
                    break;
                }
                sink.append(buffer, static_cast<std::size_t>(r));
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close_fd(is_out ? out_pipe[0] : err_pipe[0]);
            }
        }
    }
    close_fd(in_pipe[1]);
    close_fd(out_pipe[0]);
    close_fd(err_pipe[0]);
    int status = 0;
    // Its output is closed; the helper itself still has until the deadline to exit.
    while (!failure) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid || (done < 0 && errno != EINTR)) {
            break;
        }
        if (Clock::now() >= deadline) {
            failure = make_error(Errc::timeout,
                                 fmt::format("{} did not exit within {} ms and was stopped",
                                             argv[0], timeout.count()));
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (failure) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return std::move(*failure);
    }
    output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return output;
}

} // namespace oncall::registry::detail
