// vsnapd: the composition root (STYLE rule 4). It decides which providers the daemon serves and
// hands them to daemon_main; everything else about the daemon's life lives in server/daemon.cpp.

#include "server/daemon.hpp"

int main(int argc, char** argv) {
  vsnapd::server::daemon_hooks hooks;
  return vsnapd::server::daemon_main(argc, argv, hooks);
}
