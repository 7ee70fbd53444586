#pragma once

// A list of HTTP/2 header fields (names and values) kept in one string, for what a proxied
// call carries across: request fields, a response head, trailers. Cleared, it keeps its
// capacity, so a pooled owner stops allocating once warm.
//
// A pure unit; thread contract: its owner's.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace proxynode {

class FieldList {
 public:
  void Clear() {
    text_.clear();
    spans_.clear();
  }
  void Add(std::string_view name, std::string_view value) {
    spans_.push_back(Span{static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(name.size()),
                          static_cast<uint32_t>(value.size())});
    text_.append(name).append(value);
  }
  size_t size() const { return spans_.size(); }
  bool empty() const { return spans_.empty(); }
  // Bytes of names and values together.
  size_t bytes() const { return text_.size(); }
  std::string_view name(size_t i) const {
    return std::string_view(text_).substr(spans_[i].offset, spans_[i].name_size);
  }
  std::string_view value(size_t i) const {
    return std::string_view(text_).substr(spans_[i].offset + spans_[i].name_size,
                                          spans_[i].value_size);
  }
  // The value of the first field called `name`, empty when there is none.
  std::string_view Find(std::string_view field_name) const {
    for (size_t i = 0; i < spans_.size(); ++i) {
      if (name(i) == field_name) {
        return value(i);
      }
    }
    return {};
  }

 private:
  struct Span {
    uint32_t offset;
    uint32_t name_size;
    uint32_t value_size;
  };
  std::string text_;
  std::vector<Span> spans_;
};

}  // namespace proxynode
