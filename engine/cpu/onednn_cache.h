// PrimitiveCache: oneDNN primitives created once per shape/geometry key and reused.
#pragma once

#include <initializer_list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace relprop {

// "12,3,224,..." from the integers that determine a primitive.
inline std::string cache_key(std::initializer_list<long long> parts) {
    std::string key;
    for (long long p : parts) key += std::to_string(p) + ',';
    return key;
}

template <class Entry>
class PrimitiveCache {
public:
    template <class Make>
    const Entry& get(const std::string& key, Make&& make) {
        std::lock_guard<std::mutex> lock(m_mutex);
        auto it = m_entries.find(key);
        if (it == m_entries.end()) it = m_entries.emplace(key, make()).first;
        return it->second;  // unordered_map never moves its elements
    }

private:
    std::mutex m_mutex;
    std::unordered_map<std::string, Entry> m_entries;
};

}  // namespace relprop
