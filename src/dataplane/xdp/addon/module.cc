// N-API entry point of the xdp data plane's kernel interface. Everything here is a thin, synchronous wrapper
// around libbpf: policy (what to program, when, diffing) lives in TypeScript.
#include <bpf/libbpf.h>
#include <cstdarg>
#include <cstdio>

#include "common.h"

namespace plb {

static std::string gLog;

static int capturePrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  int n = vsnprintf(line, sizeof(line), fmt, args);
  if (n > 0) {
    gLog.append(line);
    // keep the tail: the reason for a failure is printed last
    if (gLog.size() > 16384) gLog.erase(0, gLog.size() - 16384);
  }
  return 0;
}

void resetLibbpfLog() { gLog.clear(); }
std::string libbpfLog() { return gLog; }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  libbpf_set_print(capturePrint);
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
  initObject(env, exports);
  initAttach(env, exports);
  initMaps(env, exports);
  return exports;
}

}  // namespace plb

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return plb::Init(env, exports); }

NODE_API_MODULE(plb_bpf, InitModule)
