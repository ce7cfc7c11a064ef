#include "ca4/drivers/kafka/cluster_id.h"

#include <openssl/rand.h>

namespace ca4::drivers::kafka {

std::string newClusterId() {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (;;) {
    unsigned char b[16];
    RAND_bytes(b, sizeof b);
    std::string out;
    int bits = 0, acc = 0;
    for (unsigned char c : b) {
      acc = ((acc << 8) | c) & 0xFFFF;
      bits += 8;
      while (bits >= 6) {
        out += a[(acc >> (bits - 6)) & 63];
        bits -= 6;
      }
    }
    if (bits > 0) out += a[(acc << (6 - bits)) & 63];
    if (out.front() != '-') return out;
  }
}

}  // namespace ca4::drivers::kafka
