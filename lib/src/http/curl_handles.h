#pragma once
// Move-only owners of libcurl handles. Private to lib/src/http: no curl type leaves this directory.

#include <array>
#include <curl/curl.h>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>

namespace oncall::http::detail {

/// Runs curl_global_init once, before the first handle is made: commands that make no request
/// (--version, help, completion of flags) never pay for it.
void ensure_curl_initialised();

/// curl_easy_init after ensure_curl_initialised.
inline CURL* new_easy_handle() {
    ensure_curl_initialised();
    return curl_easy_init();
}

/// Owns a curl_slist (request header lines).
class HeaderList {
public:
    HeaderList() = default;
    ~HeaderList() { reset(); }
    HeaderList(HeaderList&& other) noexcept : m_list(std::exchange(other.m_list, nullptr)) {}
    HeaderList& operator=(HeaderList&& other) noexcept {
        if (this != &other) {
            reset();
            m_list = std::exchange(other.m_list, nullptr);
        }
        return *this;
    }
    HeaderList(const HeaderList&) = delete;
    HeaderList& operator=(const HeaderList&) = delete;

    /// Appends one "Name: value" line; throws std::bad_alloc when curl cannot allocate.
    void append(const std::string& line) {
        curl_slist* next = curl_slist_append(m_list, line.c_str());
        if (next == nullptr) {
            throw std::bad_alloc();
        }
        m_list = next;
    }
    curl_slist* get() const noexcept { return m_list; }
    void reset() noexcept {
        if (m_list != nullptr) {
            curl_slist_free_all(m_list);
            m_list = nullptr;
        }
    }

private:
    curl_slist* m_list = nullptr;
};

/// Owns an easy handle together with its header list and error buffer (kept on the heap so the
/// pointer handed to curl survives moves).
class EasyHandle {
public:
    EasyHandle()
        : m_handle(new_easy_handle()),
          m_error(std::make_unique<std::array<char, CURL_ERROR_SIZE>>()) {
        if (m_handle == nullptr) {
            throw std::bad_alloc();
        }
        install_error_buffer();
    }
    ~EasyHandle() {
        if (m_handle != nullptr) {
            curl_easy_cleanup(m_handle);
        }
    }
    EasyHandle(EasyHandle&& other) noexcept
        : m_handle(std::exchange(other.m_handle, nullptr)), m_headers(std::move(other.m_headers)),
          m_connect_to(std::move(other.m_connect_to)), m_error(std::move(other.m_error)) {}
    EasyHandle& operator=(EasyHandle&& other) noexcept {
        if (this != &other) {
            if (m_handle != nullptr) {
                curl_easy_cleanup(m_handle);
            }
            m_handle = std::exchange(other.m_handle, nullptr);
            m_headers = std::move(other.m_headers);
            m_connect_to = std::move(other.m_connect_to);
            m_error = std::move(other.m_error);
        }
        return *this;
    }
    EasyHandle(const EasyHandle&) = delete;
    EasyHandle& operator=(const EasyHandle&) = delete;

    CURL* get() const noexcept { return m_handle; }

    template <class T> CURLcode set(CURLoption option, T value) noexcept {
        return curl_easy_setopt(m_handle, option, value);
    }

    /// Installs a new header list; the previous one is freed after curl has let go of it.
    void set_headers(HeaderList headers) {
        HeaderList old = std::move(m_headers);
        m_headers = std::move(headers);
        curl_easy_setopt(m_handle, CURLOPT_HTTPHEADER, m_headers.get());
    }

    /// Installs a CURLOPT_CONNECT_TO list (kept alive with the handle, like the headers).
    void set_connect_to(HeaderList entries) {
        HeaderList old = std::move(m_connect_to);
        m_connect_to = std::move(entries);
        curl_easy_setopt(m_handle, CURLOPT_CONNECT_TO, m_connect_to.get());
    }

    /// Forgets every option (keeps live connections and caches) so the handle can be reused.
    void reset() noexcept {
        curl_easy_reset(m_handle);
        m_headers.reset();
        m_connect_to.reset();
        install_error_buffer();
    }

    /// curl's detailed message for the last failure ("" when none).
    const char* error_text() const noexcept { return m_error->data(); }
    void clear_error() noexcept { (*m_error)[0] = '\0'; }

private:
    void install_error_buffer() noexcept {
        (*m_error)[0] = '\0';
        curl_easy_setopt(m_handle, CURLOPT_ERRORBUFFER, m_error->data());
    }

    CURL* m_handle = nullptr;
    HeaderList m_headers;
    HeaderList m_connect_to;
    std::unique_ptr<std::array<char, CURL_ERROR_SIZE>> m_error;
};

/// Owns a multi handle.
class MultiHandle {
public:
    MultiHandle() : m_handle((ensure_curl_initialised(), curl_multi_init())) {
        if (m_handle == nullptr) {
            throw std::bad_alloc();
        }
    }
    ~MultiHandle() {
        if (m_handle != nullptr) {
            curl_multi_cleanup(m_handle);
        }
    }
    MultiHandle(MultiHandle&& other) noexcept : m_handle(std::exchange(other.m_handle, nullptr)) {}
    MultiHandle& operator=(MultiHandle&& other) noexcept {
        if (this != &other) {
            if (m_handle != nullptr) {
                curl_multi_cleanup(m_handle);
            }
            m_handle = std::exchange(other.m_handle, nullptr);
        }
        return *this;
    }
    MultiHandle(const MultiHandle&) = delete;
    MultiHandle& operator=(const MultiHandle&) = delete;

    CURLM* get() const noexcept { return m_handle; }

private:
    CURLM* m_handle = nullptr;
};

/// A share handle for the DNS and TLS session caches, locked for use from several threads.
/// (Connections are not shared: libcurl does not support that across concurrent threads.)
class ShareHandle {
public:
    ShareHandle() : m_handle((ensure_curl_initialised(), curl_share_init())) {
        if (m_handle == nullptr) {
            throw std::bad_alloc();
        }
        curl_share_setopt(m_handle, CURLSHOPT_LOCKFUNC, &ShareHandle::lock);
        curl_share_setopt(m_handle, CURLSHOPT_UNLOCKFUNC, &ShareHandle::unlock);
        curl_share_setopt(m_handle, CURLSHOPT_USERDATA, this);
        curl_share_setopt(m_handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(m_handle, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
    ~ShareHandle() { curl_share_cleanup(m_handle); }
    ShareHandle(const ShareHandle&) = delete;
    ShareHandle& operator=(const ShareHandle&) = delete;

    CURLSH* get() const noexcept { return m_handle; }

private:
    static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
        static_cast<ShareHandle*>(user)->m_locks[index(data)].lock();
    }
    static void unlock(CURL*, curl_lock_data data, void* user) {
        static_cast<ShareHandle*>(user)->m_locks[index(data)].unlock();
    }
    static std::size_t index(curl_lock_data data) noexcept {
        const auto i = static_cast<std::size_t>(data);
        return i < k_lock_count ? i : 0;
    }

    static constexpr std::size_t k_lock_count = CURL_LOCK_DATA_LAST;
    CURLSH* m_handle = nullptr;
    std::array<std::mutex, k_lock_count> m_locks;
};

} // namespace oncall::http::detail
