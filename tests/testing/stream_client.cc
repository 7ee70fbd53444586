#include "tests/testing/stream_client.h"

#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "tests/testing/chunked_decoder.h"

namespace proxynode::testing {
namespace {

using abuse::RawSocket;

// The value of field `name` in `head` (names compared case-insensitively).
std::optional<std::string> Field(const std::string& head, std::string_view name) {
  for (size_t eol = head.find("\r\n"); eol != std::string::npos;) {
    size_t start = eol + 2;
    eol = head.find("\r\n", start);
    std::string_view line = std::string_view(head).substr(
        start, eol == std::string::npos ? std::string::npos : eol - start);
    if (line.size() > name.size() && line[name.size()] == ':' &&
        std::equal(name.begin(), name.end(), line.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      std::string_view value = line.substr(name.size() + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return std::string(value);
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> ContentLength(const std::string& head) {
  std::optional<std::string> value = Field(head, "Content-Length");
  if (!value) return std::nullopt;
  return std::stoull(*value);
}

bool HasChunkedEncoding(const std::string& head) {
  std::optional<std::string> value = Field(head, "Transfer-Encoding");
  return value && value->find("chunked") != std::string::npos;
}

}  // namespace

bool StreamedResponse::HasField(std::string_view line) const {
  return abuse::HasFieldLine(head + "\r\n\r\n", line);
}

::testing::AssertionResult StreamClient::Connect(uint16_t port) {
  if (!socket_.StartConnect(port)) {
    return ::testing::AssertionFailure() << "connect: " << std::strerror(errno);
  }
  pollfd pfd{socket_.fd(), POLLOUT, 0};
  if (poll(&pfd, 1, 5000) != 1 || socket_.ConnectError() != 0) {
    return ::testing::AssertionFailure() << "connect failed";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult StreamClient::Send(std::string_view bytes,
                                              std::chrono::milliseconds timeout) {
  if (!socket_.SendAll(bytes, timeout)) {
    return ::testing::AssertionFailure() << "send: " << std::strerror(errno);
  }
  sent_ += bytes.size();
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult StreamClient::SendPatternBody(uint64_t size, bool chunked,
                                                         std::chrono::milliseconds timeout) {
  std::string block(64 * 1024, '\0');
  for (uint64_t offset = 0; offset < size;) {
    size_t piece = static_cast<size_t>(std::min<uint64_t>(block.size(), size - offset));
    FillPattern(offset, block.data(), piece);
    std::string framed;
    if (chunked) {
      char hex[32];
      std::snprintf(hex, sizeof(hex), "%zx\r\n", piece);
      framed = hex;
    }
    framed.append(block.data(), piece);
    if (chunked) framed += "\r\n";
    if (::testing::AssertionResult sent = Send(framed, timeout); !sent) return sent;
    offset += piece;
  }
  return chunked ? Send("0\r\n\r\n", timeout) : ::testing::AssertionSuccess();
}

std::optional<StreamedResponse> StreamClient::ReadResponse(std::chrono::milliseconds timeout,
                                                           uint64_t pause_after,
                                                           std::chrono::milliseconds pause) {
  const auto deadline = abuse::Clock::now() + timeout;
  StreamedResponse response;
  size_t head_end;
  while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) return std::nullopt;
  }
  response.head = in_.substr(0, head_end);
  in_.erase(0, head_end + 4);
  response.status = abuse::StatusOf(response.head);
  std::optional<uint64_t> length = ContentLength(response.head);
  response.has_length = length.has_value();
  response.chunked = HasChunkedEncoding(response.head);
  bool paused = false;
  auto consume = [&](std::string_view bytes) {
    response.body.Add(bytes);
    if (!paused && response.body.size() >= pause_after) {
      paused = true;
      std::this_thread::sleep_for(pause);
    }
  };
  if (response.chunked) {
    ChunkedDecoder decoder;
    std::string decoded;
    while (true) {
      std::string_view view = in_;
      ChunkedDecoder::State state = decoder.Feed(&view, &decoded);
      in_.erase(0, in_.size() - view.size());
      consume(decoded);
      decoded.clear();
      if (state == ChunkedDecoder::State::kDone) return response;
      if (state == ChunkedDecoder::State::kError) {
        error_ = "bad chunked body: " + decoder.error();
        return std::nullopt;
      }
      if (!Fill(deadline)) return std::nullopt;
    }
  }
  for (uint64_t left = length.value_or(UINT64_MAX); left > 0;) {
    if (in_.empty() && !Fill(deadline)) {
      if (!length && eof_) return response;  // close-delimited: the end is the end
      return std::nullopt;
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(left, in_.size()));
    consume(std::string_view(in_).substr(0, take));
    in_.erase(0, take);
    left -= take;
  }
  return response;
}

bool StreamClient::Fill(abuse::Clock::time_point deadline) {
  while (true) {
    const size_t before = in_.size();
    RawSocket::Read result = socket_.Drain(&in_);
    if (in_.size() > before) return true;
    if (result == RawSocket::Read::kEof) {
      eof_ = true;
      error_ = "connection closed (" + std::to_string(in_.size()) + " bytes unread)";
      return false;
    }
    if (result == RawSocket::Read::kError) {
      error_ = std::string("recv: ") + std::strerror(errno);
      return false;
    }
    pollfd pfd{socket_.fd(), POLLIN, 0};
    if (poll(&pfd, 1, abuse::MillisUntil(deadline)) <= 0) {
      error_ = "timed out waiting for the response";
      return false;
    }
  }
}

}  // namespace proxynode::testing
