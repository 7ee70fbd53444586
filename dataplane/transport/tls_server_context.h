#pragma once

// The data plane's TLS server side (OpenSSL 3, Debian's libssl-dev): a certificate chain and
// key loaded from PEM files, ALPN (h2 first, then http/1.1), TLS 1.2 and 1.3, session
// resumption (tickets and the server cache), no renegotiation. The files are read again when
// they change (ReloadIfChanged: a Kubernetes Secret update swaps a symlink, so the path's
// target is what is compared); connections made after a reload use the new certificate,
// those open keep theirs. A reload that fails (a half-written file, a key that does not
// match) keeps the last good certificate and says why.
//
// Thread contract: NewSession from any worker thread; ReloadIfChanged from one thread (the
// node's main loop).

#include <openssl/ssl.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"

namespace proxynode {

class TlsServerContext {
 public:
  static absl::StatusOr<std::unique_ptr<TlsServerContext>> Create(std::string cert_file,
                                                                  std::string key_file);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // A new server-side SSL for one connection, under the current certificate; null when
  // OpenSSL is out of memory.
  SSL* NewSession();
  // Reloads when either file changed since the last load: true when it did, false when
  // nothing changed, an error naming the file when the new one cannot be used (the old
  // certificate stays).
  absl::StatusOr<bool> ReloadIfChanged();
  uint64_t reloads() const { return reloads_; }

 private:
  // What identifies a file's content without reading it: its target's inode, size and
  // modification time.
  struct FileIdentity {
    uint64_t inode = 0;
    int64_t size = -1;
    timespec modified{};
    bool operator==(const FileIdentity& other) const {
      return inode == other.inode && size == other.size &&
             modified.tv_sec == other.modified.tv_sec && modified.tv_nsec == other.modified.tv_nsec;
    }
  };
  static FileIdentity Identify(const std::string& path);
  static absl::StatusOr<SSL_CTX*> Load(const std::string& cert_file, const std::string& key_file);

  TlsServerContext(std::string cert_file, std::string key_file, SSL_CTX* context);

  const std::string cert_file_;
  const std::string key_file_;
  FileIdentity cert_identity_;
  FileIdentity key_identity_;
  uint64_t reloads_ = 0;
  // A std::mutex, not absl::Mutex: ThreadSanitizer sees through libstdc++'s but not through
  // Debian's uninstrumented Abseil.
  std::mutex mutex_;
  SSL_CTX* context_;  // guarded by mutex_
};

}  // namespace proxynode
