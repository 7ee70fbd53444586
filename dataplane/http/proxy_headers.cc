#include "dataplane/http/proxy_headers.h"

#include <array>
#include <charconv>
#include <cstddef>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace proxynode {
namespace {

// Debian's Abseil has its own string_view type (not std's), so the API's views cross over.
absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

void Put(std::string& out, absl::string_view text) { out.append(text.data(), text.size()); }

void PutNumber(std::string& out, uint64_t value, int base) {
  char digits[20];  // enough for any uint64_t in base 10 or 16
  char* end = std::to_chars(digits, digits + sizeof(digits), value, base).ptr;
  out.append(digits, end);
}

// The most bytes a rewritten head adds to the received one, besides the client IP, the
// upstream address and the via name: the new fields' names, the Via version and a 20-digit
// Content-Length. Forwarded lines keep their length and combined fields only shrink.
constexpr size_t kAddedHeadBytes = 128;

struct Field {
  absl::string_view line;  // without its CRLF
  absl::string_view name;
  absl::string_view value;  // without surrounding whitespace
};

// Calls fn(field) for each field line of a head block: after the start line, up to the
// empty line.
template <typename Fn>
void ForEachField(absl::string_view head, Fn fn) {
  bool past_start_line = false;
  for (absl::string_view line : absl::StrSplit(head, "\r\n")) {
    if (!past_start_line) {
      past_start_line = true;
      continue;
    }
    if (line.empty()) {
      return;
    }
    const size_t colon = line.find(':');
    fn(Field{line, line.substr(0, colon), absl::StripAsciiWhitespace(line.substr(colon + 1))});
  }
}

absl::string_view StartLine(absl::string_view head) { return head.substr(0, head.find("\r\n")); }

// Whether a comma-separated list (RFC 9110 5.6.1) holds `token`, case-insensitively.
bool ListHas(absl::string_view list, absl::string_view token) {
  for (absl::string_view element : absl::StrSplit(list, ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(element), token)) {
      return true;
    }
  }
  return false;
}

// The options of a head's Connection fields, which name more hop-by-hop fields.
class ConnectionOptions {
 public:
  explicit ConnectionOptions(absl::string_view head) : head_(head) {
    ForEachField(head, [this](const Field& field) {
      if (absl::EqualsIgnoreCase(field.name, "Connection")) {
        if (count_ < values_.size()) {
          values_[count_] = field.value;
        }
        ++count_;
      }
    });
  }

  bool Names(absl::string_view field_name) const {
    if (count_ <= values_.size()) {
      for (size_t i = 0; i < count_; ++i) {
        if (ListHas(values_[i], field_name)) {
          return true;
        }
      }
      return false;
    }
    // More Connection fields than kept (an odd sender, so the slow path): read them again.
    bool named = false;
    ForEachField(head_, [&](const Field& field) {
      named = named || (absl::EqualsIgnoreCase(field.name, "Connection") &&
                        ListHas(field.value, field_name));
    });
    return named;
  }

 private:
  absl::string_view head_;
  std::array<absl::string_view, 8> values_;  // the first Connection values, no allocation
  size_t count_ = 0;                         // all Connection fields, kept or not
};

// RFC 9110 7.6.1, with the proxy authentication fields: they concern this hop only.
constexpr std::array<absl::string_view, 9> kHopByHopFields = {
    "Connection", "Keep-Alive",          "Proxy-Connection",  "TE", "Trailer", "Transfer-Encoding",
    "Upgrade",    "Proxy-Authorization", "Proxy-Authenticate"};

enum class Direction : uint8_t { kToUpstream, kToClient };

// Which received fields cross the proxy.
class FieldFilter {
 public:
  FieldFilter(absl::string_view head, Direction direction)
      : connection_options_(head), direction_(direction) {}

  bool Forwards(absl::string_view name) const {
    for (absl::string_view hop_by_hop : kHopByHopFields) {
      if (absl::EqualsIgnoreCase(name, hop_by_hop)) {
        return false;
      }
    }
    // The proxy frames the body itself.
    if (absl::EqualsIgnoreCase(name, "Content-Length")) {
      return false;
    }
    // The node answers 100-continue itself, so the upstream must not answer it again.
    if (direction_ == Direction::kToUpstream && absl::EqualsIgnoreCase(name, "Expect")) {
      return false;
    }
    return !connection_options_.Names(name);
  }

 private:
  ConnectionOptions connection_options_;
  Direction direction_;
};

// Appends "<name>: " and the values of every forwarded `name` field, in order, each followed
// by ", ": the caller then appends this hop's own element and the CRLF.
void StartListField(std::string& out, absl::string_view head, const FieldFilter& filter,
                    absl::string_view name) {
  Put(out, name);
  Put(out, ": ");
  if (!filter.Forwards(name)) {
    return;
  }
  ForEachField(head, [&](const Field& field) {
    if (!field.value.empty() && absl::EqualsIgnoreCase(field.name, name)) {
      Put(out, field.value);
      Put(out, ", ");
    }
  });
}

// Via gets "<received-protocol> <via_name>"; `received_version` is "HTTP/1.0" or "HTTP/1.1".
void AppendVia(std::string& out, absl::string_view head, const FieldFilter& filter,
               absl::string_view received_version, absl::string_view via_name) {
  StartListField(out, head, filter, "Via");
  Put(out, received_version == "HTTP/1.0" ? "1.0 " : "1.1 ");
  Put(out, via_name);
  Put(out, "\r\n");
}

void AppendFraming(std::string& out, BodyFraming framing, uint64_t content_length) {
  switch (framing) {
    case BodyFraming::kContentLength:
      Put(out, "Content-Length: ");
      PutNumber(out, content_length, 10);
      Put(out, "\r\n");
      break;
    case BodyFraming::kChunked:
      Put(out, "Transfer-Encoding: chunked\r\n");
      break;
    case BodyFraming::kNone:
    case BodyFraming::kUntilClose:
      break;
  }
}

}  // namespace

void AppendUpstreamRequestHead(std::string& out, const ProxiedRequest& request) {
  const absl::string_view head = ToAbsl(request.client_head);
  out.reserve(out.size() + head.size() + request.client_ip.size() +
              request.upstream_address.size() + request.authority.size() + request.via_name.size() +
              kAddedHeadBytes);

  // "METHOD target HTTP/1.x": the version changes, and the target when given (origin-form
  // for an absolute-form one: an origin server need not take absolute-form).
  const absl::string_view request_line = StartLine(head);
  const size_t version_start = request_line.rfind(' ') + 1;
  if (request.target.empty()) {
    Put(out, request_line.substr(0, version_start));
  } else {
    Put(out, request_line.substr(0, request_line.find(' ') + 1));
    Put(out, ToAbsl(request.target));
    Put(out, " ");
  }
  Put(out, "HTTP/1.1\r\n");
  const bool replaces_host = !request.authority.empty();

  const FieldFilter filter(head, Direction::kToUpstream);
  bool has_host = false;
  bool has_proto = false;
  ForEachField(head, [&](const Field& field) {
    // X-Forwarded-For and Via come later, combined with this hop's entry.
    if (!filter.Forwards(field.name) || absl::EqualsIgnoreCase(field.name, "X-Forwarded-For") ||
        absl::EqualsIgnoreCase(field.name, "Via")) {
      return;
    }
    if (absl::EqualsIgnoreCase(field.name, "Host")) {
      if (replaces_host) {
        return;  // a new Host comes from the target's authority
      }
      has_host = true;
    }
    has_proto = has_proto || absl::EqualsIgnoreCase(field.name, "X-Forwarded-Proto");
    Put(out, field.line);
    Put(out, "\r\n");
  });

  StartListField(out, head, filter, "X-Forwarded-For");
  Put(out, ToAbsl(request.client_ip));
  Put(out, "\r\n");
  if (!has_proto) {
    Put(out, "X-Forwarded-Proto: http\r\n");
  }
  AppendVia(out, head, filter, request_line.substr(version_start), ToAbsl(request.via_name));
  if (!has_host) {
    Put(out, "Host: ");
    Put(out, ToAbsl(replaces_host ? request.authority : request.upstream_address));
    Put(out, "\r\n");
  }
  AppendFraming(out, request.framing, request.content_length);
  Put(out, "\r\n");
}

void AppendClientResponseHead(std::string& out, const ProxiedResponse& response) {
  const absl::string_view head = ToAbsl(response.upstream_head);
  out.reserve(out.size() + head.size() + response.date_field.size() + response.via_name.size() +
              response.fault_rule.size() + kAddedHeadBytes);

  // "HTTP/1.x <code> <reason>": only the version changes. The SP before the reason stays
  // even when the upstream sent neither.
  const absl::string_view status_line = StartLine(head);
  const absl::string_view received_version = status_line.substr(0, 8);
  Put(out, "HTTP/1.1");
  Put(out, status_line.substr(8));
  if (status_line.size() == absl::string_view("HTTP/1.1 200").size()) {
    Put(out, " ");
  }
  Put(out, "\r\n");

  const FieldFilter filter(head, Direction::kToClient);
  bool has_date = false;
  ForEachField(head, [&](const Field& field) {
    // Via comes later, combined with this hop's entry.
    if (!filter.Forwards(field.name) || absl::EqualsIgnoreCase(field.name, "Via")) {
      return;
    }
    has_date = has_date || absl::EqualsIgnoreCase(field.name, "Date");
    Put(out, field.line);
    Put(out, "\r\n");
  });

  AppendVia(out, head, filter, received_version, ToAbsl(response.via_name));
  if (!has_date) {
    Put(out, ToAbsl(response.date_field));
  }
  if (!response.fault_rule.empty()) {
    Put(out, "x-proxynode-fault: ");
    Put(out, ToAbsl(response.fault_rule));
    Put(out, "\r\n");
  }
  AppendFraming(out, response.framing, response.content_length);
  if (response.connection == ClientConnection::kClose ||
      response.framing == BodyFraming::kUntilClose) {
    Put(out, "Connection: close\r\n");
  } else if (response.connection == ClientConnection::kKeepAlive) {
    Put(out, "Connection: keep-alive\r\n");
  }
  Put(out, "\r\n");
}

void AppendChunk(std::string& out, std::string_view data) {
  if (data.empty()) {
    return;  // a zero-size chunk would end the body
  }
  out.reserve(out.size() + data.size() + 20);  // hex size (16 at most) and two CRLFs
  PutNumber(out, data.size(), 16);
  Put(out, "\r\n");
  Put(out, ToAbsl(data));
  Put(out, "\r\n");
}

void AppendLastChunk(std::string& out) { Put(out, "0\r\n\r\n"); }

ClientReframing ReframeForClient(const UpstreamResponseHead& head, const ClientSide& client) {
  ClientReframing reframing;
  if (client.head_only) {
    // The length the body would have: kept, with no body after it.
    reframing.framing = head.has_content_length ? BodyFraming::kContentLength : BodyFraming::kNone;
  } else if (head.framing == BodyFraming::kContentLength) {
    reframing.framing = BodyFraming::kContentLength;
  } else if (head.framing == BodyFraming::kChunked || head.framing == BodyFraming::kUntilClose) {
    reframing.framing = client.http10 ? BodyFraming::kUntilClose : BodyFraming::kChunked;
  }
  reframing.close_after = client.close || reframing.framing == BodyFraming::kUntilClose;
  reframing.connection = reframing.close_after ? ClientConnection::kClose
                         : client.http10       ? ClientConnection::kKeepAlive
                                               : ClientConnection::kDefault;
  return reframing;
}

}  // namespace proxynode
