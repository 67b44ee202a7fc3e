#include "protobuf.h"

#include <cstdint>
#include <optional>

namespace sandbox {

using nlohmann::json;
using oncall::Errc;
using oncall::make_error;

namespace {

// One field of a protobuf message: its number, wire type and value.
struct Field {
    std::uint32_t number = 0;
    int wire_type = 0;
    std::uint64_t varint = 0;
    std::string bytes;
};

class Reader {
public:
    explicit Reader(const std::string& data) : m_data(data) {}
    bool at_end() const { return m_pos >= m_data.size(); }

    std::optional<std::uint64_t> varint() {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (m_pos >= m_data.size())
                return std::nullopt;
            const auto b = static_cast<unsigned char>(m_data[m_pos++]);
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                return v;
        }
        return std::nullopt;
    }

    std::optional<Field> next() {
        auto key = varint();
        if (!key)
            return std::nullopt;
        Field f;
        f.number = static_cast<std::uint32_t>(*key >> 3);
        f.wire_type = static_cast<int>(*key & 7);
        switch (f.wire_type) {
        case 0: {
            auto v = varint();
            if (!v)
                return std::nullopt;
            f.varint = *v;
            return f;
        }
        case 1:
        case 5: {
            const std::size_t n = f.wire_type == 1 ? 8 : 4;
            if (m_pos + n > m_data.size())
                return std::nullopt;
            f.bytes = m_data.substr(m_pos, n);
            m_pos += n;
            return f;
        }
        case 2: {
            auto len = varint();
            if (!len || *len > m_data.size() - m_pos)
                return std::nullopt;
            f.bytes = m_data.substr(m_pos, static_cast<std::size_t>(*len));
            m_pos += static_cast<std::size_t>(*len);
            return f;
        }
        default:
            return std::nullopt;
        }
    }

private:
    const std::string& m_data;
    std::size_t m_pos = 0;
};

oncall::Error malformed() {
    return make_error(Errc::invalid, "failed to decode the protobuf request body", 400);
}

// Calls `on_field` for every field of a message; false when the bytes are not a message.
template <class F> bool for_each_field(const std::string& message, F&& on_field) {
    Reader r(message);
    while (!r.at_end()) {
        auto f = r.next();
        if (!f)
            return false;
        on_field(*f);
    }
    return true;
}

} // namespace

oncall::Result<json> decode_protobuf_envelope(const std::string& body, std::string& raw) {
    static const std::string magic("k8s\0", 4);
    if (body.compare(0, magic.size(), magic) != 0)
        return malformed();
    const std::string envelope = body.substr(magic.size());
    json type = json::object();
    bool ok = for_each_field(envelope, [&](const Field& f) {
        if (f.number == 1 && f.wire_type == 2) {
            for_each_field(f.bytes, [&](const Field& t) {
                if (t.number == 1 && t.wire_type == 2)
                    type["apiVersion"] = t.bytes;
                if (t.number == 2 && t.wire_type == 2)
                    type["kind"] = t.bytes;
            });
        } else if (f.number == 2 && f.wire_type == 2) {
            raw = f.bytes;
        }
    });
    if (!ok)
        return malformed();
    return type;
}

oncall::Result<json> decode_token_request(const std::string& body) {
    std::string raw;
    auto envelope = decode_protobuf_envelope(body, raw);
    if (!envelope)
        return envelope.error();
    json object = envelope.value();
    json spec = json::object();
    json metadata = json::object();
    bool ok = for_each_field(raw, [&](const Field& f) {
        if (f.number == 1 && f.wire_type == 2) {
            for_each_field(f.bytes, [&](const Field& m) {
                if (m.number == 1 && m.wire_type == 2 && !m.bytes.empty())
                    metadata["name"] = m.bytes;
                if (m.number == 3 && m.wire_type == 2 && !m.bytes.empty())
                    metadata["namespace"] = m.bytes;
            });
        } else if (f.number == 2 && f.wire_type == 2) {
            for_each_field(f.bytes, [&](const Field& s) {
                if (s.number == 1 && s.wire_type == 2) {
                    if (!spec.contains("audiences"))
                        spec["audiences"] = json::array();
                    spec["audiences"].push_back(s.bytes);
                } else if (s.number == 4 && s.wire_type == 0) {
                    spec["expirationSeconds"] = static_cast<std::int64_t>(s.varint);
                } else if (s.number == 3 && s.wire_type == 2) {
                    json ref = json::object();
                    for_each_field(s.bytes, [&](const Field& b) {
                        if (b.wire_type != 2)
                            return;
                        if (b.number == 1)
                            ref["kind"] = b.bytes;
                        if (b.number == 2)
                            ref["apiVersion"] = b.bytes;
                        if (b.number == 3)
                            ref["name"] = b.bytes;
                        if (b.number == 4)
                            ref["uid"] = b.bytes;
                    });
                    spec["boundObjectRef"] = ref;
                }
            });
        }
    });
    if (!ok)
        return malformed();
    object["metadata"] = metadata;
    object["spec"] = spec;
    return object;
}

oncall::Result<json> decode_certificate_signing_request(const std::string& body) {
    std::string raw;
    auto envelope = decode_protobuf_envelope(body, raw);
    if (!envelope)
        return envelope.error();
    json object = envelope.value();
    json metadata = json::object();
    json conditions = json::array();
    bool ok = for_each_field(raw, [&](const Field& f) {
        if (f.number == 1 && f.wire_type == 2) {
            for_each_field(f.bytes, [&](const Field& m) {
                if (m.number == 1 && m.wire_type == 2 && !m.bytes.empty())
                    metadata["name"] = m.bytes;
                if (m.number == 5 && m.wire_type == 2 && !m.bytes.empty())
                    metadata["uid"] = m.bytes;
                if (m.number == 6 && m.wire_type == 2 && !m.bytes.empty())
                    metadata["resourceVersion"] = m.bytes;
            });
        } else if (f.number == 3 && f.wire_type == 2) {
            for_each_field(f.bytes, [&](const Field& st) {
                if (st.number != 1 || st.wire_type != 2)
                    return;
                json c = json::object();
                for_each_field(st.bytes, [&](const Field& cf) {
                    if (cf.wire_type != 2)
                        return;
                    if (cf.number == 1)
                        c["type"] = cf.bytes;
                    if (cf.number == 6)
                        c["status"] = cf.bytes;
                    if (cf.number == 2)
                        c["reason"] = cf.bytes;
                    if (cf.number == 3)
                        c["message"] = cf.bytes;
                });
                conditions.push_back(c);
            });
        }
    });
    if (!ok)
        return malformed();
    object["metadata"] = metadata;
    object["status"] = {{"conditions", conditions}};
    return object;
}

} // namespace sandbox
