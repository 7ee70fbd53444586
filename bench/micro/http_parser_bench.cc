// Google Benchmark micro-benchmarks for HttpRequestParser (dataplane/http/http_parser.h).
//
// Every case drives one parser the way Connection::ProcessInput (dataplane/server/connection.cc)
// does: set_limits() when a message starts, Parse() with all unconsumed bytes, drop
// `consumed` bytes after each call, Parse() on an empty buffer only inside a body, Reset()
// after kMessageComplete. The parser is reused across iterations like a keep-alive
// connection's, so `target` keeps its capacity and nothing is allocated per request.
//
// Counters: bytes_per_second (request bytes parsed) and items_per_second (requests).
// Run with bench/micro.sh, or build-micro/bench/micro/http_parser_bench --help.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/http/http_parser.h"

namespace proxynode {
namespace {

// What wrk-like load generators send: request line, Host and two more fields (wrk 4.1 itself
// sends Host alone; ab and hey add User-Agent and Accept).
constexpr std::string_view kWrkRequest =
    "GET / HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "User-Agent: wrk/4.1.0\r\n"
    "Accept: */*\r\n"
    "\r\n";

// A navigation from a current desktop browser: 14 fields, cookies included (920 bytes).
constexpr std::string_view kBrowserRequest =
    "GET /catalog/items/42?view=full&sort=price HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: max-age=0\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Referer: https://shop.example.com/catalog/items?page=3\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
    "Cookie: session=8f14e45fceea167a5a36dedd4bea2543; csrftoken=c9f0f895fb98ab9159f51fd0297e236d; "
    "_ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; theme=dark; "
    "cart=eyJpdGVtcyI6WzQyLDQzLDQ0XSwidG90YWwiOjEyOS45OX0; "
    "consent=analytics%3Dtrue%26ads%3Dfalse\r\n"
    "\r\n";

// Carries the state Connection::ProcessInput keeps beside the parser.
class ConnectionDriver {
 public:
  // Parses as much of the unconsumed bytes in `*input` as possible, dropping what the parser
  // consumed from its front. Returns the number of messages completed, or -1 on a parse error.
  int Process(std::string_view* input) {
    int completed = 0;
    while (true) {
      if (!body_in_progress_) {
        if (input->empty()) {
          break;
        }
        if (!head_in_progress_) {
          head_in_progress_ = true;
          parser_.set_limits(limits_);  // as the connection does when a message starts
        }
      }
      ParseResult result = parser_.Parse(*input);
      benchmark::DoNotOptimize(result);
      input->remove_prefix(result.consumed);
      if (result.event == ParseEvent::kNeedMore) {
        break;
      }
      switch (result.event) {
        case ParseEvent::kHeadComplete: {
          head_in_progress_ = false;
          body_in_progress_ = true;
          const RequestHead& head = parser_.head();
          const char* target = head.target.data();
          uint64_t content_length = head.content_length;
          bool keep_alive = head.keep_alive;
          benchmark::DoNotOptimize(target);
          benchmark::DoNotOptimize(content_length);
          benchmark::DoNotOptimize(keep_alive);
          break;
        }
        case ParseEvent::kBodyData:
          benchmark::DoNotOptimize(result.body);
          break;
        case ParseEvent::kMessageComplete:
          body_in_progress_ = false;
          parser_.Reset();
          ++completed;
          break;
        case ParseEvent::kError:
          return -1;
        case ParseEvent::kNeedMore:
          break;
      }
    }
    return completed;
  }

 private:
  ParserLimits limits_;
  HttpRequestParser parser_;
  bool head_in_progress_ = false;
  bool body_in_progress_ = false;
};

void ReportCounts(benchmark::State& state, size_t bytes_per_iteration, int requests_per_iteration) {
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes_per_iteration));
  state.SetItemsProcessed(state.iterations() * requests_per_iteration);
}

// `buffer` arrives in one read; it holds `requests` whole messages.
void ParseWhole(benchmark::State& state, std::string_view buffer, int requests) {
  ConnectionDriver driver;
  for (auto _ : state) {
    std::string_view input = buffer;
    const int completed = driver.Process(&input);
    if (completed != requests || !input.empty()) {
      state.SkipWithError("the buffer did not parse into the expected requests");
      break;
    }
  }
  ReportCounts(state, buffer.size(), requests);
}

// `request` arrives one byte per read: each call sees every byte not consumed yet, as the
// connection's input buffer holds them (worst case for the incremental head scan).
void ParseByteByByte(benchmark::State& state, std::string_view request) {
  ConnectionDriver driver;
  for (auto _ : state) {
    size_t consumed = 0;
    int completed = 0;
    for (size_t end = 1; end <= request.size(); ++end) {
      std::string_view input = request.substr(consumed, end - consumed);
      const int n = driver.Process(&input);
      if (n < 0) {
        break;
      }
      completed += n;
      consumed = end - input.size();
    }
    if (completed != 1 || consumed != request.size()) {
      state.SkipWithError("the request did not parse byte by byte");
      break;
    }
  }
  ReportCounts(state, request.size(), 1);
}

std::string PostRequest(size_t body_bytes) {
  std::string request =
      "POST /upload HTTP/1.1\r\n"
      "Host: 127.0.0.1:8080\r\n"
      "User-Agent: wrk/4.1.0\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Content-Length: " +
      std::to_string(body_bytes) + "\r\n\r\n";
  request.append(body_bytes, 'x');
  return request;
}

std::string ChunkedRequest(int chunks, size_t chunk_bytes) {
  std::string request =
      "POST /upload HTTP/1.1\r\n"
      "Host: 127.0.0.1:8080\r\n"
      "User-Agent: wrk/4.1.0\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  constexpr char kHex[] = "0123456789abcdef";
  std::string size_line;
  for (size_t n = chunk_bytes; n != 0; n /= 16) {
    size_line.insert(size_line.begin(), kHex[n % 16]);
  }
  for (int i = 0; i < chunks; ++i) {
    request += size_line + "\r\n";
    request.append(chunk_bytes, 'x');
    request += "\r\n";
  }
  request += "0\r\n\r\n";
  return request;
}

std::string Repeat(std::string_view request, int times) {
  std::string buffer;
  for (int i = 0; i < times; ++i) {
    buffer.append(request);
  }
  return buffer;
}

void BM_ParseWrkRequest(benchmark::State& state) { ParseWhole(state, kWrkRequest, 1); }
BENCHMARK(BM_ParseWrkRequest);

void BM_ParseWrkRequestByteByByte(benchmark::State& state) { ParseByteByByte(state, kWrkRequest); }
BENCHMARK(BM_ParseWrkRequestByteByByte);

void BM_ParseBrowserRequest(benchmark::State& state) { ParseWhole(state, kBrowserRequest, 1); }
BENCHMARK(BM_ParseBrowserRequest);

void BM_ParseBrowserRequestByteByByte(benchmark::State& state) {
  ParseByteByByte(state, kBrowserRequest);
}
BENCHMARK(BM_ParseBrowserRequestByteByByte);

void BM_ParsePostContentLength1KiB(benchmark::State& state) {
  const std::string request = PostRequest(1024);
  ParseWhole(state, request, 1);
}
BENCHMARK(BM_ParsePostContentLength1KiB);

void BM_ParsePostChunked16x64(benchmark::State& state) {
  const std::string request = ChunkedRequest(16, 64);
  ParseWhole(state, request, 1);
}
BENCHMARK(BM_ParsePostChunked16x64);

void BM_ParsePipelined16(benchmark::State& state) {
  const std::string buffer = Repeat(kWrkRequest, 16);
  ParseWhole(state, buffer, 16);
}
BENCHMARK(BM_ParsePipelined16);

}  // namespace
}  // namespace proxynode
