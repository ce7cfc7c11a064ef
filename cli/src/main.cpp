#include <cstdio>

#include "ca4/cli/app.h"
#include "ca4/drivers/mongo/probe.h"

int main(int argc, char** argv) {
  ca4::drivers::mongo::quietMongocLogs();  // FerretDB v1's endSessions warnings are noise here
  return ca4::cli::run(argc, argv, stdout, stderr);
}
