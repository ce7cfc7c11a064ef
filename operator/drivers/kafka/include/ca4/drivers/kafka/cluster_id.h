// A new KRaft cluster id for `kafka.tools.StorageTool format -t <id>`: 16 random bytes as
// base64url without padding (22 characters), as `kafka-storage random-uuid` prints. Never starts
// with '-', as Kafka's Uuid.randomUuid(): StorageTool's argument parser would read such an id as
// an option ("argument --cluster-id/-t: expected one argument"), which failed 1 format in 64.
// Used by ca4ctl's local target and by the test fixtures.
#pragma once

#include <string>

namespace ca4::drivers::kafka {

std::string newClusterId();

}  // namespace ca4::drivers::kafka
