#pragma once
// Errors as values: Error carries a classified code, a human message, the HTTP status that caused
// it (0 when none) and whether trying again may help; Result<T> is either a T or an Error.

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace oncall {

/// What kind of failure happened; the CLI maps each kind to one exit code (see exit_code.h).
enum class Errc {
    usage,               // bad flag, bad argument, refused prompt
    config,              // unreadable or invalid configuration
    invalid,             // input the tool refuses (bad duration, injection attempt, ...)
    not_found,           // the named thing does not exist
    dns,                 // name resolution failed
    connect,             // could not connect
    timeout,             // a request exceeded its deadline
    tls,                 // TLS handshake or verification failed
    http_status,         // server answered with an unexpected status
    bad_response,        // server answered garbage (HTML, truncated JSON, wrong types)
    too_large,           // response over the size cap
    unavailable,         // a backend could not be used (generic)
    access_denied,       // no grant, expired grant, 401/403
    conflict,            // target changed under us, paused, owned by another controller
    wait_timeout,        // gave up waiting for a rollout or approval
    rollout_failed,      // progress deadline exceeded, crash-looping pods
    verification_failed, // post-change signals breach the SLO
    io,                  // local file system failure
    internal,            // a bug
};

/// Short stable name of an error code ("timeout", "access_denied", ...), for JSON and logs.
const char* errc_name(Errc code) noexcept;

/// A failure: what kind, what happened (already redacted), and the HTTP status if any.
struct Error {
    Errc code = Errc::internal;
    std::string message;
    int http_status = 0;
    bool retryable = false;
};

/// Builds an Error; `retryable` defaults to false.
inline Error make_error(Errc code, std::string message, int http_status = 0,
                        bool retryable = false) {
    return Error{code, std::move(message), http_status, retryable};
}

/// Either a value or an Error (an expected-like type).
template <class T> class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

    bool ok() const noexcept { return m_v.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(m_v);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(m_v);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(m_v));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const& {
        assert(!ok());
        return std::get<1>(m_v);
    }
    Error&& error() && {
        assert(!ok());
        return std::get<1>(std::move(m_v));
    }

    template <class U> T value_or(U&& fallback) const& {
        return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
    }

private:
    std::variant<T, Error> m_v;
};

/// Result of an operation that yields nothing but may fail.
template <> class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : m_error(std::move(error)), m_failed(true) {}

    bool ok() const noexcept { return !m_failed; }
    explicit operator bool() const noexcept { return ok(); }
    const Error& error() const& {
        assert(m_failed);
        return m_error;
    }
    Error&& error() && {
        assert(m_failed);
        return std::move(m_error);
    }

private:
    Error m_error;
    bool m_failed = false;
};

/// Success value for Result<void>.
inline Result<void> ok_result() {
    return {};
}

} // namespace oncall

/// In a function returning a Result: evaluates `expr` (a Result), returns its error when it failed,
/// else moves its value into `target`.
#define ONCALL_TRY_ASSIGN(target, expr)                                                            \
    do {                                                                                           \
        auto result_ = (expr);                                                                     \
        if (!result_) {                                                                            \
            return std::move(result_).error();                                                     \
        }                                                                                          \
        target = std::move(result_).value();                                                       \
    } while (false)

/// In a function returning a Result: evaluates `expr` (a Result), returns its error when it failed.
#define ONCALL_TRY(expr)                                                                           \
    do {                                                                                           \
        auto result_ = (expr);                                                                     \
        if (!result_) {                                                                            \
            return std::move(result_).error();                                                     \
        }                                                                                          \
    } while (false)
