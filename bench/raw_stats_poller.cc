// raw_stats_poller: calls GetStats N times a second over one HTTP/2 connection, speaking the
// gRPC wire protocol by hand (pre-encoded HPACK headers, no gRPC library), and checks every
// answer parses as a Stats message with the node's workers in it.
//
//   raw_stats_poller 127.0.0.1:9090 100 10
//
// Why: the benchmark runs the poller, the load generator and the node on the same two cores.
// The gRPC C++ client spends about as much CPU per call as the node answering it, so with it
// the measured throughput drop is twice the node's cost. This client costs a few syscalls a
// call, so the drop it measures is the node's control plane.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "proxynode/v1/control.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

enum FrameType : uint8_t {
  kData = 0,
  kHeaders = 1,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
};
constexpr uint8_t kEndStream = 0x1;
constexpr uint8_t kAck = 0x1;
constexpr uint8_t kEndHeaders = 0x4;

void AppendFrame(std::string& out, FrameType type, uint8_t flags, uint32_t stream,
                 const std::string& payload) {
  const auto length = static_cast<uint32_t>(payload.size());
  const unsigned char header[9] = {static_cast<unsigned char>(length >> 16),
                                   static_cast<unsigned char>(length >> 8),
                                   static_cast<unsigned char>(length),
                                   type,
                                   flags,
                                   static_cast<unsigned char>(stream >> 24),
                                   static_cast<unsigned char>(stream >> 16),
                                   static_cast<unsigned char>(stream >> 8),
                                   static_cast<unsigned char>(stream)};
  out.append(reinterpret_cast<const char*>(header), sizeof(header));
  out.append(payload);
}

// An HPACK string literal, not Huffman-coded (lengths here stay under 127).
void AppendHpackString(std::string& out, const std::string& text) {
  out.push_back(static_cast<char>(text.size()));
  out.append(text);
}

// The request headers of every call: static-table entries and literals never indexed, so the
// same bytes are valid for every stream.
std::string RequestHeaderBlock(const std::string& authority) {
  std::string block;
  block.push_back(static_cast<char>(0x83));  // :method: POST
  block.push_back(static_cast<char>(0x86));  // :scheme: http
  block.push_back(0x04);                     // :path, literal value
  AppendHpackString(block, "/proxynode.v1.ControlService/GetStats");
  block.push_back(0x01);  // :authority, literal value
  AppendHpackString(block, authority);
  block.push_back(0x0F);  // content-type (static index 31 = 15 + 16), literal value
  block.push_back(0x10);
  AppendHpackString(block, "application/grpc");
  block.push_back(0x00);  // te: trailers, literal name and value
  AppendHpackString(block, "te");
  AppendHpackString(block, "trailers");
  return block;
}

bool WriteAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = write(fd, data.data() + sent, data.size() - sent);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}

  // Reads frames until the trailers (HEADERS with END_STREAM) of `stream`; the DATA of that
  // stream lands in `message`. Answers SETTINGS and PING as HTTP/2 requires.
  bool ReadResponse(uint32_t stream, std::string* message) {
    while (true) {
      uint8_t type = 0;
      uint8_t flags = 0;
      uint32_t frame_stream = 0;
      std::string payload;
      if (!ReadFrame(&type, &flags, &frame_stream, &payload)) return false;
      if (type == kSettings && (flags & kAck) == 0) {
        std::string ack;
        AppendFrame(ack, kSettings, kAck, 0, "");
        if (!WriteAll(fd_, ack)) return false;
      } else if (type == kPing && (flags & kAck) == 0) {
        std::string pong;
        AppendFrame(pong, kPing, kAck, 0, payload);
        if (!WriteAll(fd_, pong)) return false;
      } else if (type == kGoAway || (type == kRstStream && frame_stream == stream)) {
        std::fprintf(stderr, "raw_stats_poller: the node ended the %s\n",
                     type == kGoAway ? "connection (GOAWAY)" : "call (RST_STREAM)");
        return false;
      } else if (type == kData && frame_stream == stream) {
        message->append(payload);
      } else if (type == kHeaders && frame_stream == stream && (flags & kEndStream) != 0) {
        return true;
      }
    }
  }

 private:
  bool Fill(size_t wanted) {
    while (buffer_.size() - consumed_ < wanted) {
      char chunk[65536];
      ssize_t n = read(fd_, chunk, sizeof(chunk));
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
    return true;
  }

  bool ReadFrame(uint8_t* type, uint8_t* flags, uint32_t* stream, std::string* payload) {
    if (!Fill(9)) return false;
    const auto* h = reinterpret_cast<const unsigned char*>(buffer_.data() + consumed_);
    const size_t length = (size_t{h[0]} << 16) | (size_t{h[1]} << 8) | h[2];
    *type = h[3];
    *flags = h[4];
    *stream = ((uint32_t{h[5]} & 0x7F) << 24) | (uint32_t{h[6]} << 16) | (uint32_t{h[7]} << 8) |
              uint32_t{h[8]};
    if (!Fill(9 + length)) return false;
    payload->assign(buffer_, consumed_ + 9, length);
    consumed_ += 9 + length;
    if (consumed_ == buffer_.size()) {
      buffer_.clear();
      consumed_ = 0;
    }
    return true;
  }

  int fd_;
  std::string buffer_;
  size_t consumed_ = 0;
};

int Connect(const std::string& address) {
  const size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1)));
  if (colon == std::string::npos ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "raw_stats_poller: %s: want IPv4:PORT\n", address.c_str());
    return -1;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::perror("raw_stats_poller: connect");
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: raw_stats_poller IPv4:PORT CALLS_PER_SECOND SECONDS\n");
    return 2;
  }
  const std::string address = argv[1];
  const int per_second = std::atoi(argv[2]);
  const int seconds = std::atoi(argv[3]);
  if (per_second <= 0 || seconds <= 0) {
    std::fprintf(stderr, "raw_stats_poller: rate and seconds must be positive\n");
    return 2;
  }
  int fd = Connect(address);
  if (fd < 0) return 1;

  // Preface; streams may receive 2^31-1 bytes, and so may the connection: no WINDOW_UPDATE
  // is ever needed within a benchmark run.
  std::string start = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  AppendFrame(start, kSettings, 0, 0, std::string("\x00\x04\x7f\xff\xff\xff", 6));
  const uint32_t increment = 0x7FFFFFFF - 65535;
  AppendFrame(start, static_cast<FrameType>(8), 0, 0,
              std::string{static_cast<char>(increment >> 24), static_cast<char>(increment >> 16),
                          static_cast<char>(increment >> 8), static_cast<char>(increment)});
  if (!WriteAll(fd, start)) return 1;

  const std::string header_block = RequestHeaderBlock(address);
  const std::string empty_message(5, '\0');  // uncompressed, length 0: GetStatsRequest{}
  Connection connection(fd);
  std::vector<double> ms;
  const auto period = std::chrono::nanoseconds(1'000'000'000 / per_second);
  Clock::time_point next = Clock::now();
  const Clock::time_point end = next + std::chrono::seconds(seconds);
  uint32_t stream = 1;
  while (Clock::now() < end) {
    std::string request;
    AppendFrame(request, kHeaders, kEndHeaders, stream, header_block);
    AppendFrame(request, kData, kEndStream, stream, empty_message);
    const Clock::time_point sent = Clock::now();
    std::string message;
    if (!WriteAll(fd, request) || !connection.ReadResponse(stream, &message)) {
      std::fprintf(stderr, "raw_stats_poller: call %u failed\n", (stream + 1) / 2);
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
    proxynode::v1::Stats stats;
    if (message.size() < 5 || !stats.ParseFromString(message.substr(5)) ||
        stats.per_worker_size() == 0) {
      std::fprintf(stderr, "raw_stats_poller: call %u: not a Stats message (%zu bytes)\n",
                   (stream + 1) / 2, message.size());
      return 1;
    }
    stream += 2;
    next += period;
    std::this_thread::sleep_until(next);
  }
  close(fd);
  std::sort(ms.begin(), ms.end());
  std::printf("GetStats (raw HTTP/2): n=%zu p50=%.3f ms p99=%.3f ms max=%.3f ms\n", ms.size(),
              ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], ms.back());
  return 0;
}
