#include "dataplane/transport/tls_channel.h"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <algorithm>
#include <utility>

namespace proxynode {
namespace {

// The largest plaintext of one record: a write never asks for more, so that a retry after
// WANT_WRITE passes at least what the first try did.
constexpr size_t kRecordPlaintext = 16 * 1024;

SocketTransport& SocketOf(BIO* bio) { return *static_cast<SocketTransport*>(BIO_get_data(bio)); }

int BioRead(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ReadResult result = SocketOf(bio).ReadSome(data, static_cast<size_t>(size));
  if (result.bytes > 0) {
    return static_cast<int>(result.bytes);
  }
  switch (result.status) {
    case IoStatus::kWouldBlock:
    case IoStatus::kOk:
      BIO_set_retry_read(bio);
      return -1;
    case IoStatus::kEof:
      return 0;
    case IoStatus::kError:
      return -1;
  }
  return -1;
}

int BioWrite(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  const WriteResult result =
      SocketOf(bio).WriteSome(std::string_view(data, static_cast<size_t>(size)));
  if (result.bytes > 0) {
    return static_cast<int>(result.bytes);
  }
  if (result.status == IoStatus::kWouldBlock) {
    BIO_set_retry_write(bio);
  }
  return -1;
}

long BioControl(BIO* /*bio*/, int command, long /*number*/, void* /*pointer*/) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;  // every write went to the socket already
}

// The BIO method, made once and shared (read-only after) by every worker.
BIO_METHOD* SocketTransportBio() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "proxynode");
    BIO_meth_set_read(made, BioRead);
    BIO_meth_set_write(made, BioWrite);
    BIO_meth_set_ctrl(made, BioControl);
    return made;
  }();
  return method;
}

}  // namespace

TlsChannel::TlsChannel(SSL* ssl, SocketTransport& socket, Role role) : ssl_(ssl), socket_(&socket) {
  BIO* bio = BIO_new(SocketTransportBio());
  BIO_set_data(bio, socket_);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);  // the SSL owns the BIO (one reference for both directions)
  if (role == Role::kServer) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
}

std::unique_ptr<TlsChannel> TlsChannel::Adopt(SSL* ssl, SocketTransport& socket) {
  auto channel = std::unique_ptr<TlsChannel>(new TlsChannel(ssl, &socket));
  BIO_set_data(SSL_get_rbio(ssl), &socket);
  channel->established_ = true;
  channel->more_buffered_ = true;  // whatever OpenSSL held when it moved
  return channel;
}

TlsChannel::TlsChannel(SSL* ssl, SocketTransport* socket) : ssl_(ssl), socket_(socket) {}

TlsChannel::~TlsChannel() { SSL_free(ssl_); }

SSL* TlsChannel::Release() { return std::exchange(ssl_, nullptr); }

TlsChannel::Handshake TlsChannel::Advance() {
  if (established_) {
    return Handshake::kDone;
  }
  const int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    established_ = true;
    // The client's first request may have come with its last handshake message, read ahead
    // into OpenSSL's buffer: the socket has no edge left for it.
    more_buffered_ = true;
    return Handshake::kDone;
  }
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return Handshake::kWantIo;
    default: {
      const unsigned long code = ERR_peek_error();
      const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
      failure_ = reason != nullptr ? reason : "the peer closed or reset during the handshake";
      // A client's check of the server's certificate says best what was wrong with it.
      const long verify = SSL_get_verify_result(ssl_);
      if (!SSL_is_server(ssl_) && verify != X509_V_OK) {
        failure_ = X509_verify_cert_error_string(verify);
      }
      ERR_clear_error();
      return Handshake::kFailed;
    }
  }
}

ReadResult TlsChannel::Read(Buffer& in, BufferPool& pool, size_t limit) {
  ReadResult result;
  more_buffered_ = false;
  if (input_ended_) {
    result.status = IoStatus::kEof;
    return result;
  }
  while (true) {
    if (in.size() >= limit) {
      more_buffered_ = true;  // stopped short: OpenSSL may hold more than any edge will say
      return result;
    }
    size_t available = 0;
    char* space = in.PrepareWrite(pool, std::min(limit - in.size(), kRecordPlaintext), &available);
    size_t got = 0;
    const int outcome = SSL_read_ex(ssl_, space, std::min(available, limit - in.size()), &got);
    if (outcome == 1) {
      in.Commit(got);
      result.bytes += got;
      continue;
    }
    switch (SSL_get_error(ssl_, 0)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        result.status = IoStatus::kWouldBlock;
        break;
      case SSL_ERROR_ZERO_RETURN:
        input_ended_ = true;
        result.status = IoStatus::kEof;  // close_notify, or a plain EOF (ignored as such)
        break;
      default:
        ERR_clear_error();
        input_ended_ = true;
        result.status = socket_->input_ended() ? IoStatus::kEof : IoStatus::kError;
        break;
    }
    in.ReleaseIfEmpty(pool);
    return result;
  }
}

WriteResult TlsChannel::Write(Buffer& out, size_t limit) {
  WriteResult result;
  while (!out.empty() && result.bytes < limit) {
    const std::string_view data = out.readable();
    const size_t chunk = std::min({data.size(), kRecordPlaintext, limit - result.bytes});
    size_t written = 0;
    if (SSL_write_ex(ssl_, data.data(), chunk, &written) == 1) {
      out.Consume(written);
      result.bytes += written;
      continue;
    }
    switch (SSL_get_error(ssl_, 0)) {
      case SSL_ERROR_WANT_WRITE:
      case SSL_ERROR_WANT_READ:
        result.status = IoStatus::kWouldBlock;
        return result;
      default:
        ERR_clear_error();
        result.status = IoStatus::kError;
        return result;
    }
  }
  return result;
}

void TlsChannel::SendCloseNotify() {
  if (close_notify_sent_ || !established_) {
    return;
  }
  close_notify_sent_ = true;
  SSL_shutdown(ssl_);  // one call: sends ours, does not wait for the peer's
  ERR_clear_error();
}

std::string_view TlsChannel::alpn() const {
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &protocol, &length);
  return protocol == nullptr ? std::string_view()
                             : std::string_view(reinterpret_cast<const char*>(protocol), length);
}

}  // namespace proxynode
