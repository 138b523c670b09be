/// @file
/// DerivedCache: values derived from a tensor's storage (oneDNN-reordered weights, a device copy of a
/// host parameter), made once and kept while that storage lives. Tensors over wrapped memory have no
/// storage token: their value is made at every call.
#pragma once

#include <list>
#include <memory>
#include <mutex>

#include "relprop/tensor.hpp"

namespace relprop {

template <class Value>
class DerivedCache {
public:
    /// The value cached for `t`'s storage that `matches(value)` accepts, else `make()` (stored).
    template <class Matches, class Make>
    Value get(const Tensor& t, Matches matches, Make make) {
        const std::weak_ptr<const float> token = t.storage_token();
        if (token.expired()) return make();  // wrapped memory: not cached
        std::lock_guard<std::mutex> lock(m_mutex);
        m_entries.remove_if([](const Entry& e) { return e.token.expired(); });  // freed tensors
        for (const Entry& e : m_entries)
            if (e.data == t.data() && !e.token.owner_before(token) && !token.owner_before(e.token) && matches(e.value))
                return e.value;
        m_entries.push_back({token, t.data(), make()});
        return m_entries.back().value;
    }
    void clear() {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_entries.clear();
    }

private:
    struct Entry {
        std::weak_ptr<const float> token;
        const float* data;
        Value value;
    };
    std::mutex m_mutex;
    std::list<Entry> m_entries;
};

}  // namespace relprop
