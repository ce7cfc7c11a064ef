// RAII holders for libssh handles. Handles that belong to a live session (channels, SFTP) are
// freed under the session's mutex (a recursive one: they may also die while it is held), since a
// libssh session and everything hanging off it must be used by one thread at a time.
#pragma once

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include <memory>
#include <mutex>

namespace ca4::drivers::ssh::detail {

struct SessionFree {
  void operator()(ssh_session s) const {
    ssh_disconnect(
        s);  // sends SSH_MSG_DISCONNECT if connected; an SSH_OPTIONS_FD socket stays open
    ssh_free(s);
  }
};
using SessionPtr = std::unique_ptr<ssh_session_struct, SessionFree>;

struct EventFree {
  void operator()(ssh_event e) const { ssh_event_free(e); }  // hands the session's poll back
};
using EventPtr = std::unique_ptr<ssh_event_struct, EventFree>;

struct KeyFree {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyFree>;

// Frees a session-bound handle with `mu` held.
template <typename T, auto FreeFn>
struct LockedFree {
  std::recursive_mutex* mu = nullptr;
  void operator()(T* p) const {
    std::lock_guard<std::recursive_mutex> lock(*mu);
    FreeFn(p);
  }
};
inline void freeChannel(ssh_channel c) { ssh_channel_free(c); }  // sends CHANNEL_CLOSE if open
inline void freeSftp(sftp_session s) { sftp_free(s); }
inline void closeSftpFile(sftp_file f) { sftp_close(f); }

using ChannelPtr = std::unique_ptr<ssh_channel_struct, LockedFree<ssh_channel_struct, freeChannel>>;
using SftpPtr = std::unique_ptr<sftp_session_struct, LockedFree<sftp_session_struct, freeSftp>>;
using SftpFilePtr = std::unique_ptr<sftp_file_struct, LockedFree<sftp_file_struct, closeSftpFile>>;

}  // namespace ca4::drivers::ssh::detail
