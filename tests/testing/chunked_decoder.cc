#include "tests/testing/chunked_decoder.h"

#include <algorithm>
#include <charconv>

namespace proxynode::testing {

bool ChunkedDecoder::TakeLine(std::string_view* input) {
  size_t lf = input->find('\n');
  line_.append(input->substr(0, lf));
  input->remove_prefix(lf == std::string_view::npos ? input->size() : lf + 1);
  if (line_.size() > 4096) {
    state_ = State::kError;
    error_ = "chunk size or trailer line over 4 KiB";
    return false;
  }
  if (lf == std::string_view::npos) return false;
  if (line_.empty() || line_.back() != '\r') {
    state_ = State::kError;
    error_ = "line not ended by CRLF: " + line_;
    return false;
  }
  line_.pop_back();
  return true;
}

ChunkedDecoder::State ChunkedDecoder::Feed(std::string_view* input, std::string* out) {
  while (state_ == State::kMore && !input->empty()) {
    switch (step_) {
      case Step::kSizeLine: {
        if (!TakeLine(input)) break;
        std::string_view digits = line_;
        digits = digits.substr(0, digits.find(';'));  // extensions are ignored
        // Blanks around the size are tolerated (those before an extension, say).
        digits.remove_prefix(std::min(digits.find_first_not_of(" \t"), digits.size()));
        digits.remove_suffix(digits.size() - (digits.find_last_not_of(" \t") + 1));
        auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), left_in_chunk_, 16);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
          state_ = State::kError;
          error_ = "bad chunk size line: " + line_;
          break;
        }
        line_.clear();
        step_ = left_in_chunk_ == 0 ? Step::kTrailer : Step::kData;
        break;
      }
      case Step::kData: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(left_in_chunk_, input->size()));
        out->append(input->substr(0, take));
        input->remove_prefix(take);
        left_in_chunk_ -= take;
        if (left_in_chunk_ == 0) step_ = Step::kDataEnd;
        break;
      }
      case Step::kDataEnd:
        if (!TakeLine(input)) break;
        if (!line_.empty()) {
          state_ = State::kError;
          error_ = "chunk data longer than its size";
          break;
        }
        step_ = Step::kSizeLine;
        break;
      case Step::kTrailer:
        if (!TakeLine(input)) break;
        if (line_.empty()) state_ = State::kDone;  // trailer fields before it are skipped
        line_.clear();
        break;
    }
  }
  return state_;
}

std::optional<std::string> DecodeChunked(std::string_view body) {
  ChunkedDecoder decoder;
  std::string out;
  if (decoder.Feed(&body, &out) != ChunkedDecoder::State::kDone || !body.empty()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace proxynode::testing
