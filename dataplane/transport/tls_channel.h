#pragma once

// TLS over one client connection's socket (transport/socket_transport.h): the handshake, then
// records in and out, with OpenSSL doing its I/O through the socket transport (a BIO over
// ReadSome/WriteSome), so the transport's edge-triggered readiness stays true of the socket
// whichever of them read it last. Above it, a connection moves plain bytes exactly as
// without TLS: Read and Write have SocketTransport's contract.
//
// Readable: the socket may have input, or OpenSSL may hold records no edge will announce
// again: after the handshake (the first request can come with its last message) and when
// the last read stopped at its limit. A read that ends wanting the socket clears that. Not
// "OpenSSL has buffered bytes": a partial record is buffered too, and waits on the socket.
//
// Memory: an SSL object, whose record buffers OpenSSL gives back while the connection is
// idle (SSL_MODE_RELEASE_BUFFERS).
//
// Thread contract: the owning loop's thread only; its SSL moves with an idle connection to
// another worker (Release, Adopt) once established.

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string_view>

#include "dataplane/core/buffer.h"
#include "dataplane/core/buffer_pool.h"
#include "dataplane/transport/socket_transport.h"

namespace proxynode {

class TlsChannel {
 public:
  enum class Handshake : uint8_t { kDone, kWantIo, kFailed };
  enum class Role : uint8_t { kServer, kClient };

  // Takes `ssl` (from TlsServerContext::NewSession, or TlsClientContext's for a connection
  // to an upstream) for the connection on `socket`.
  TlsChannel(SSL* ssl, SocketTransport& socket, Role role = Role::kServer);
  // Takes an established `ssl` that Release() gave up (a connection moving between workers).
  static std::unique_ptr<TlsChannel> Adopt(SSL* ssl, SocketTransport& socket);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // Gives up the SSL (established) for another worker's connection to Adopt; this channel
  // then frees nothing.
  SSL* Release();

  // Drives the handshake as far as the socket allows.
  Handshake Advance();
  bool established() const { return established_; }
  // Why the handshake failed (OpenSSL's reason, or the certificate check's: "certificate has
  // expired", "unable to get local issuer certificate"...); a static string.
  const char* failure() const { return failure_; }

  ReadResult Read(Buffer& in, BufferPool& pool, size_t limit);
  WriteResult Write(Buffer& out, size_t limit = SIZE_MAX);
  bool readable() const { return !input_ended_ && (socket_->readable() || more_buffered_); }
  // The peer's close_notify or EOF was read: nothing more will come.
  bool input_ended() const { return input_ended_ || socket_->input_ended(); }
  bool peer_hung_up() const { return input_ended_ || socket_->peer_hung_up(); }
  // Sends close_notify (once), as much as the socket takes now.
  void SendCloseNotify();

  // "h2" or "http/1.1" (empty: the client offered no ALPN), and "TLSv1.3" and the like.
  std::string_view alpn() const;
  std::string_view version() const { return SSL_get_version(ssl_); }
  bool resumed() const { return SSL_session_reused(ssl_) == 1; }

 private:
  TlsChannel(SSL* ssl, SocketTransport* socket);  // Adopt's: the BIO is set already

  SSL* ssl_;
  SocketTransport* socket_;
  bool established_ = false;
  bool more_buffered_ = false;
  bool input_ended_ = false;
  bool close_notify_sent_ = false;
  const char* failure_ = "";
};

}  // namespace proxynode
